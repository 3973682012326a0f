# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The compliance verdict as Prometheus text exposition, for node_exporter's textfile collector.

``lvs-realserver-vips metrics --out DIR/lvs_realserver.prom`` (run by
``lvs-realserver-metrics.timer``, installed by lvs.realserver.boot_unit with
``metrics: true``) reads the running values, the addresses and the sysctl.d
files, asks the same evaluator as arp_facts and the boot guard (``_arp_rules``,
with the boot model of ``_boot_model`` for the next boot), and writes the file
atomically: a temporary file in the same directory, whose name does not end in
``.prom`` (the collector ignores it), renamed over the old one.

Standard library only (installed beside the boot controller); ``evaluate`` and
``render`` are pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import tempfile

if __name__.startswith("ansible_collections."):
    from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
    from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as boot_model
    # the sysctl.d reader of the boot controller's metrics command (``_vipctl.write_metrics``: library.sysctl_d)
    from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d  # noqa: F401 pylint: disable=unused-import
else:  # installed on a real server: the controller's own files only
    import _arp_rules as rules  # noqa: E402 pylint: disable=import-error
    import _boot_model as boot_model  # noqa: E402 pylint: disable=import-error
    import _sysctl_d as sysctl_d  # noqa: E402,F401 pylint: disable=import-error,unused-import

PROM_NAME = "lvs_realserver.prom"
# The first line of every file written: the marker lvs.realserver.boot_unit checks before it removes one
# (a comment in the exposition format). Equal to _boot_unit.MANAGED_HEADER (a unit test checks it).
HEADER = "# Managed by lvs.realserver.boot_unit. Do not edit: changes are overwritten."

# name -> help text; every series is a gauge
SERIES = (
    ("lvs_realserver_compliant",
     "1 when the real server neither answers nor announces ARP for its VIPs now and every expected VIP is present "
     "(the arp_facts verdict), else 0."),
    ("lvs_realserver_boot_compliant",
     "1 when the verdict holds with the values the sysctl.d files give at the next boot (arp_facts at_boot), else 0."),
    ("lvs_realserver_violation",
     "Violations of the verdict now, by code and interface (the number of violations with those labels)."),
    ("lvs_realserver_boot_violation",
     "Violations of the verdict after the next boot, by code and interface."),
    ("lvs_realserver_vip_present",
     "1 when the expected VIP is configured on this host, else 0."),
    ("lvs_realserver_check_timestamp_seconds",
     "Unix time of the check that wrote this file."),
)


def escape_label(value):
    """A label value as the text format needs it: backslash, double quote and newline escaped."""
    return ("%s" % (value,)).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs):
    if not pairs:
        return ""
    return "{%s}" % ",".join('%s="%s"' % (name, escape_label(value)) for name, value in pairs)


def _group(violations):
    """``[((code, interface), count)]`` in sorted order; a violation without an interface gets ''."""
    counts = {}
    for violation in violations:
        key = (violation["code"], violation.get("interface") or "")
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items())


def _address(text):
    return str(ipaddress.ip_interface("%s" % text).ip)


def sample(report, boot_report, expected_vips):
    """What the file shows, from an ``_arp_rules.evaluate`` report now and one for the next boot."""
    present = set(v["local"] for v in report["vips"])
    wanted = sorted(set(_address(a) for a in expected_vips), key=lambda a: (ipaddress.ip_address(a).version,
                                                                            ipaddress.ip_address(a)))
    return {
        "compliant": bool(report["compliant"]),
        "boot_compliant": bool(boot_report["compliant"]),
        "violations": _group(report["violations"]),
        "boot_violations": _group(boot_report["violations"]),
        "vips": [(a, a in present) for a in wanted],
    }


def evaluate(data, conf, interfaces, candidates):
    """The ``sample`` of a host: the verdict now and after the next boot, as arp_facts computes them.

    ``data``: the boot unit's data file (``_vipctl.load_data``: mode and
    addresses); ``conf``: ``_runtime.read_conf(rules.READ_KEYS)``;
    ``interfaces``: ``_iproute.parse_addr_json``; ``candidates``:
    ``_sysctl_d.read_candidates()``.
    """
    mode, expected = data["mode"], list(data["addresses"])
    report = rules.evaluate(conf, interfaces, mode, expected)
    after_boot = boot_model.next_boot(candidates, conf, report, interfaces, mode)[2]
    at_boot = rules.evaluate(after_boot, interfaces, mode, expected)
    return sample(report, at_boot, expected)


def render(found, timestamp):
    """The text exposition of a ``sample`` (HELP and TYPE for every series, sorted samples, final newline)."""
    values = {
        "lvs_realserver_compliant": [((), int(found["compliant"]))],
        "lvs_realserver_boot_compliant": [((), int(found["boot_compliant"]))],
        "lvs_realserver_violation": [
            ((("code", code), ("interface", interface)), count) for (code, interface), count in found["violations"]],
        "lvs_realserver_boot_violation": [
            ((("code", code), ("interface", interface)), count) for (code, interface), count in found["boot_violations"]],
        "lvs_realserver_vip_present": [((("vip", vip),), int(present)) for vip, present in found["vips"]],
        "lvs_realserver_check_timestamp_seconds": [((), int(timestamp))],
    }
    lines = [HEADER]
    for name, text in SERIES:
        lines.append("# HELP %s %s" % (name, text.replace("\\", "\\\\").replace("\n", "\\n")))
        lines.append("# TYPE %s gauge" % name)
        lines.extend("%s%s %d" % (name, _labels(labels), value) for labels, value in values[name])
    return "\n".join(lines) + "\n"


def foreign(path):
    """True when a file this collection did not write (no ``HEADER`` first) sits at ``path``."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").rstrip("\n")
    except (IOError, OSError):
        return False
    return first != HEADER


def write_atomic(path, text, mode=0o644, rename=os.rename):
    """Write ``text`` to ``path`` through a temporary file in the same directory, renamed over it.

    The temporary name (``.lvs_realserver.prom.XXXXXX.tmp``) does not end in
    ``.prom``, so the textfile collector never reads a half-written file. The
    directory is created (0755) when missing. ``rename``: ``os.rename`` (a test makes it fail).
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
