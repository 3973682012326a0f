# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The boot model: the value ``net.ipv4.conf.<interface>.<key>`` has after the next boot.

The one place that answers it. ``arp_sysctl state=absent`` restores it
(``restore_value``), ``arp_facts`` reports it (``boot_prediction``, ``boot``),
compares the running values with it (``drift``) and judges it (``at_boot``,
``order_warnings``); the metrics controller judges it too (``boot_conf``).
Pure functions over the resolver's answer (``_sysctl_d.resolve``: which file
and line decide a key); no I/O.

What happens at boot, and where it was checked:

* ``all`` and ``default`` start with the kernel's compile-time values
  (``devinet.c``: ``ipv4_devconf``/``ipv4_devconf_dflt``; 0 for every ARP key
  and ``rp_filter``). ``systemd-sysctl.service`` (``DefaultDependencies=no``,
  ``After=systemd-modules-load.service``, ``Before=sysinit.target``) writes
  what the sysctl.d files give them, explicit keys or globs such as
  ``net.ipv4.conf.*.rp_filter``. So: the file's value, else the kernel default.
* A device copies ``default`` when its IPv4 part is created
  (``inetdev_init``: ``memcpy(&in_dev->cnf, devconf_dflt, ...)``, values and
  the "written" bitmap).
* Every added network device but ``lo`` gets udev's per-interface pass
  (``99-systemd.rules``: ``ACTION=="add", SUBSYSTEM=="net", KERNEL!="lo",
  RUN+="systemd-sysctl --prefix=/net/ipv4/conf/$name ..."``). ``--prefix``
  keeps the explicit keys under the prefix and the globs, and filters a glob's
  expansions by the prefix after globbing (``sysctl.c``: "We can't filter out
  globs at this point"; ``apply_all``: ``if (!test_prefix(key)) continue``),
  so an explicit key and every glob matching the interface are written, with
  the same winner as the full run (explicit beats glob, last one wins).
  ``lo`` is not covered by udev but exists when the full run globs ``/proc``.
* Hence, for an interface key that no file decides, the order matters:

  - ``late``: the interface appears after ``systemd-sysctl`` ran (a hot-plugged
    NIC, a VLAN, ``tunl0`` from a later ``modprobe ipip``): it copies
    ``default``'s boot value;
  - ``early``: the interface exists before, with its IPv4 settings already
    fixed: it keeps the kernel's compile-time value, because nothing had
    written ``default`` when it copied it (the bitmap was empty). ``lo``
    always: PID 1 gives it 127.0.0.1 and brings it up before any unit, and
    both mark every key as set (``ipv4_devconf_setall``). A NIC too, when the
    initramfs gave it an address (``ip=``, remote unlock, network root), even
    one removed later.

  A NIC that exists early *without* ever having had an address is the one
  subtlety: ``systemd-sysctl``'s write to ``default`` is pushed to every
  device that has not fixed that key (``devinet_conf_proc`` ->
  ``devinet_copy_dflt_conf``), so it ends with ``default``'s value too, the
  same as ``late``. That is why the value to expect, and the one
  ``arp_sysctl`` restores, is ``late`` (see ``Prediction.expected``).
* A winning line whose value is not an integer fails to be written, so the
  key keeps what it would have had without it (explicit keys still shield
  it from globs, as the resolver already models).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

if __name__.startswith("ansible_collections."):
    from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
    from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
else:  # installed on a real server beside the metrics controller (lvs.realserver.boot_unit metrics=true)
    import _arp_rules as rules  # noqa: E402 pylint: disable=import-error
    import _sysctl_d as sysctl_d  # noqa: E402 pylint: disable=import-error

# The keys ``arp_facts`` reports file and line for (``boot``), compares (``drift``) and checks for hazards.
BOOT_KEYS = ("arp_ignore", "arp_announce", "rp_filter")
# The keys ``arp_facts`` predicts (``boot_prediction``): every ARP key plus rp_filter.
PREDICTION_KEYS = ("arp_ignore", "arp_announce", "arp_filter", "rp_filter", "arp_notify")
LOOPBACK = "lo"

FILE = "file"
DEFAULT = "default"
KERNEL_DEFAULT = "kernel_default"

Source = namedtuple("Source", "value basis file line")
"""Where one boot value comes from: ``basis`` is ``file``, ``default`` or ``kernel_default``."""


class Prediction(namedtuple("Prediction", "interface key early late")):
    """The boot value of ``net.ipv4.conf.<interface>.<key>``.

    ``early`` and ``late`` are ``Source`` tuples: the interface exists before
    ``systemd-sysctl`` runs (with its IPv4 settings fixed), or appears after.
    """

    __slots__ = ()

    @property
    def order_dependent(self):
        """True when the value depends on the interface appearing before or after systemd-sysctl."""
        return self.early.value != self.late.value

    @property
    def value(self):
        """The boot value when it does not depend on the order, else None."""
        return None if self.order_dependent else self.late.value

    @property
    def expected(self):
        """The ``Source`` to expect, and restore, for an interface that exists now: ``late``.

        A NIC that is created after systemd-sysctl, or that exists before it
        without an IPv4 address (the usual case: networking starts after
        ``network-pre.target``), both end with ``late``'s value; only one given
        an address by the initramfs keeps ``early``'s. For ``all``,
        ``default`` and ``lo`` both are the same.
        """
        return self.late

    def possible_values(self):
        """Every value the key can have after the next boot."""
        return sorted(set([self.early.value, self.late.value]))

    def drifts(self, live):
        """True when the running value ``live`` is none of the possible boot values (unknown: never)."""
        return live is not None and live not in self.possible_values()


def kernel_default(key):
    """The kernel's compile-time value of ``key`` (devinet.c); 0 for every key modelled."""
    return rules.KEY_RULES[key][2]


def file_source(resolution, interface, key):
    """The ``Source`` of the line that decides ``interface``'s ``key`` at boot, or None.

    None also when the winning line's value is not an integer: systemd-sysctl
    cannot write it, so the key keeps what it would have had without it.
    """
    winner = resolution.winner(sysctl_d.conf_key(interface, key))
    if winner is None:
        return None
    value = sysctl_d.int_value(winner.value)
    if value is None:
        return None
    return Source(value, FILE, winner.path, winner.line)


def predict(resolution, interface, key):
    """The ``Prediction`` for ``interface``'s ``key``; ``resolution`` is ``_sysctl_d.resolve(...)``."""
    kernel = Source(kernel_default(key), KERNEL_DEFAULT, None, None)
    own = file_source(resolution, interface, key)
    if own is not None:
        return Prediction(interface, key, own, own)
    if interface in sysctl_d.SPECIAL or interface == LOOPBACK:
        return Prediction(interface, key, kernel, kernel)
    inherited = file_source(resolution, "default", key)
    if inherited is None:
        inherited = kernel
    late = Source(inherited.value, DEFAULT, inherited.file, inherited.line)
    return Prediction(interface, key, kernel, late)


def predictions(resolution, interfaces, keys=PREDICTION_KEYS):
    """``[Prediction]`` for every interface (in the order given) and key."""
    return [predict(resolution, interface, key) for interface in interfaces for key in keys]


class BootModel(object):
    """Every ``Prediction`` of a host (``predictions``, in order), looked up by interface and key."""

    __slots__ = ("predictions", "_table")

    def __init__(self, found):
        self.predictions = list(found)
        self._table = {}
        for prediction in self.predictions:
            self._table.setdefault(prediction.interface, {})[prediction.key] = prediction

    def prediction(self, interface, key):
        """The ``Prediction`` of ``interface``'s ``key``, or None when it was not predicted."""
        return self._table.get(interface, {}).get(key)

    def expected(self, interface, key):
        """The ``Source`` to expect for ``interface``'s ``key`` (``Prediction.expected``); it must be predicted."""
        return self._table[interface][key].expected


def by_interface(found):
    """The ``BootModel`` of a list of predictions."""
    return BootModel(found)


def restore_value(resolution, interface, key):
    """The value ``arp_sysctl state=absent`` writes back for a running interface: the expected boot value."""
    return predict(resolution, interface, key).expected.value


def prediction_names(arp_facing, present, mode):
    """Interfaces ``boot_prediction`` covers: all, default, lo, the ARP-facing ones, tunl0 when present or in TUN mode."""
    names = list(sysctl_d.SPECIAL) + [LOOPBACK]
    names.extend(n for n in arp_facing if n not in names)
    if rules.TUN_DEVICE not in names and (rules.TUN_DEVICE in present or mode == "tun"):
        names.append(rules.TUN_DEVICE)
    return names


def as_fact(prediction):
    """The ``boot_prediction`` entry of arp_facts: ``basis``, ``file`` and ``line`` describe the expected source."""
    source = prediction.expected
    return {
        "interface": prediction.interface,
        "key": prediction.key,
        "early": prediction.early.value,
        "late": prediction.late.value,
        "value": prediction.value,
        "order_dependent": prediction.order_dependent,
        "basis": source.basis,
        "file": source.file,
        "line": source.line,
    }


def boot_conf(conf, model, early=False):
    """The ``/proc`` picture after a reboot: live values with the predicted keys replaced.

    By their expected value, or with ``early``, by the value they keep when
    the interface is set up before systemd-sysctl runs. ``model``: a ``BootModel``.
    """
    result = dict((name, dict(values)) for name, values in conf.items())
    for prediction in model.predictions:
        if prediction.interface not in result and prediction.interface not in sysctl_d.SPECIAL:
            continue  # an interface that does not exist now (tunl0 before ipip) stays absent
        source = prediction.early if early else prediction.expected
        result.setdefault(prediction.interface, {})[prediction.key] = source.value
    return result


def next_boot(candidates, conf, report, interfaces, mode):
    """``(resolution, model, conf_after)`` of the next boot: what systemd-sysctl applies from ``candidates``
    (``ConfigFile``), the ``BootModel`` of every interface ``report`` (``_arp_rules.evaluate``) judged, and the
    ``/proc`` picture once it ran (``boot_conf``)."""
    resolution = sysctl_d.resolve(sysctl_d.boot_files(list(candidates)))
    model = by_interface(predictions(resolution, prediction_names(
        report["arp_facing"], [iface.name for iface in interfaces], mode)))
    return resolution, model, boot_conf(conf, model)


def boot_names(arp_facing, mode):
    """Interfaces whose keys the ``boot`` report covers: all, default, every ARP-facing one, tunl0 in TUN mode."""
    names = list(sysctl_d.SPECIAL) + [n for n in arp_facing if n not in sysctl_d.SPECIAL]
    if mode == "tun" and rules.TUN_DEVICE not in names:
        names.append(rules.TUN_DEVICE)
    return names


def boot_report(resolution, names, keys=BOOT_KEYS):
    """``{dotted name: {value, file, line}}`` of ``names`` x ``keys`` (``_sysctl_d.boot_report``)."""
    return sysctl_d.boot_report(resolution, [sysctl_d.conf_key(name, key) for name in names for key in keys])


def drift(conf, model, names):
    """Keys whose running value is none of the values they can get at the next boot (in ``names`` order).

    An order-dependent key (``Prediction.order_dependent``) drifts only when
    the running value is neither its ``early`` nor its ``late`` value;
    ``boot``, ``basis``, ``file`` and ``line`` describe the expected (``late``) value.
    """
    found = []
    for name in names:
        for key in BOOT_KEYS:
            live = conf.get(name, {}).get(key)
            prediction = model.prediction(name, key)
            if not prediction.drifts(live):
                continue
            source = prediction.expected
            found.append({
                "name": sysctl_d.conf_name(name, key),
                "interface": name,
                "key": key,
                "live": live,
                "boot": source.value,
                "basis": source.basis,
                "file": source.file,
                "line": source.line,
            })
    return found


def at_boot(after_boot, interfaces, mode, expected_vips, judge):
    """The evaluator's verdict over the boot values ``after_boot`` (``boot_conf``), same interfaces and VIPs as now."""
    report = rules.evaluate(after_boot, interfaces, mode, expected_vips, judge)
    return dict((k, report[k]) for k in ("compliant", "state", "violations", "future_interfaces"))


def order_warnings(conf, interfaces, mode, expected_vips, judge, model, verdict):
    """Violations the boot values would have only if interfaces already had an address when systemd-sysctl ran.

    ``verdict`` is the ``at_boot`` report (expected values). One warning per
    violation that the early picture adds, naming the order-dependent keys.
    """
    early = rules.evaluate(boot_conf(conf, model, early=True), interfaces, mode, expected_vips, judge)
    seen = set((v["code"], v["interface"], v["key"]) for v in verdict["violations"])
    found = []
    for v in early["violations"]:
        if (v["code"], v["interface"], v["key"]) in seen:
            continue
        prediction = model.prediction(v["interface"], v["key"])
        if prediction is None or not prediction.order_dependent:
            continue
        found.append(
            "at_boot: %s %s is %s only by inheriting net.ipv4.conf.default.%s; if %s has an IPv4 address before "
            "systemd-sysctl runs (set up by the initramfs) it keeps %s and %s (%s); set net.ipv4.conf.all.%s or "
            "net.ipv4.conf.%s.%s in sysctl.d" % (
                v["interface"], v["key"], prediction.late.value, v["key"], v["interface"], prediction.early.value,
                v["code"], v["message"], v["key"], sysctl_d.dotted_key(v["interface"]), v["key"]))
    return found
