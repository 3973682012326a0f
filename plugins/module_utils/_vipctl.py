# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The boot-time VIP controller behind ``lvs-realserver-vips guard|start|stop [--data FILE]``.

lvs.realserver.boot_unit installs this file, with the evaluator, the ip
helpers and the /proc edge beside it, under /usr/libexec/lvs-realserver/, and
a systemd unit that runs ``guard`` (ExecStartPre), ``start`` and ``stop``.
The VIPs come from a data file written by the same module. ``guard`` asks the
same evaluator as arp_facts and loopback_vip and fails closed: no VIP is
better than a poisoned LAN. ``metrics --out FILE.prom`` (installed with
``metrics: true``, run by a timer) writes the same verdict for node_exporter's
textfile collector (``_metrics``).

Standard library only; the planning functions are pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import time

if __name__.startswith("ansible_collections."):
    from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
    from ansible_collections.lvs.realserver.plugins.module_utils import _iproute as iproute
    from ansible_collections.lvs.realserver.plugins.module_utils import _runtime as runtime
else:  # installed on a real server: the entry script imports its own files only, never a collection copy
    import _arp_rules as rules  # noqa: E402 pylint: disable=import-error
    import _iproute as iproute  # noqa: E402 pylint: disable=import-error
    import _runtime as runtime  # noqa: E402 pylint: disable=import-error

DATA_FILE = "/etc/lvs-realserver/vips.json"
SEARCH_PATH = "/usr/sbin:/sbin:/usr/bin:/bin"
EXIT_REFUSED = 3


def render_data(addresses, device, scope, label, mode):
    """The data file: deterministic JSON, one VIP list for start and stop."""
    data = {
        "addresses": [str(iproute.parse_vip(a)[0]) for a in addresses],
        "device": device,
        "scope": scope,
        "label": label,
        "mode": mode,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load_data(text):
    data = json.loads(text)
    for key in ("addresses", "device", "scope", "label", "mode"):
        if key not in data:
            raise ValueError("%s has no %r" % (DATA_FILE, key))
    return data


def vips(data):
    """``[(ipaddress, prefixlen)]`` of the data file."""
    return [iproute.parse_vip(a) for a in data["addresses"]]


def guard_problems(data, conf, interfaces):
    """Why adding the IPv4 VIPs now would leak ARP (one line each), or [] when it is safe."""
    ipv4 = [iproute.address(str(ip), bits, data["scope"], data["label"]) for ip, bits in vips(data) if ip.version == 4]
    if not ipv4:
        return []
    after = rules.with_vips(interfaces, data["device"], ipv4)
    report = rules.evaluate(conf, after, mode=data["mode"])
    return [
        "%s %s: effective %s, expected %s: %s (fix: %s)" % (
            v["interface"], v["key"], v["actual"], v["expected"], v["message"], v["fix"])
        for v in rules.guard_violations(report)
    ]


def start_argvs(data, ip_bin, interfaces, modprobe_bin=None):
    """Commands that bring the VIPs up (TUN: ipip loaded and tunl0 up first)."""
    argvs = []
    names = set(i.name for i in interfaces)
    if data["mode"] == "tun":
        if rules.TUN_DEVICE not in names and modprobe_bin:
            argvs.append([modprobe_bin, "ipip"])
        argvs.append([ip_bin, "link", "set", rules.TUN_DEVICE, "up"])
    for ip, _bits in vips(data):
        label = data["label"] if ip.version == 4 else None
        argvs.append(iproute.addr_replace_argv(ip_bin, ip, data["device"], data["scope"], label))
    return argvs


def stop_argvs(data, ip_bin, interfaces):
    """Commands that remove exactly the data file's VIPs that are present."""
    present = set(
        (a.local, a.prefixlen)
        for i in interfaces if i.name == data["device"]
        for a in i.addresses
    )
    return [
        iproute.addr_del_argv(ip_bin, str(ip), bits, data["device"])
        for ip, bits in vips(data)
        if (str(ip), bits) in present
    ]


def which(name):
    """The first executable ``name`` in ``SEARCH_PATH`` (boot has no login PATH), or None."""
    for directory in SEARCH_PATH.split(":"):
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


USAGE = "usage: lvs-realserver-vips guard|start|stop [--data FILE] | metrics --out FILE.prom [--data FILE]"


def parse_args(argv, data_file=DATA_FILE):
    """``(command, data_file, out)``, or None for a usage error."""
    argv = list(argv)
    if not argv or argv[0] not in ("guard", "start", "stop", "metrics"):
        return None
    command, options = argv[0], {"--data": data_file, "--out": None}
    rest = argv[1:]
    if len(rest) % 2:
        return None
    for flag, value in zip(rest[::2], rest[1::2]):
        if flag not in options or (flag == "--out" and command != "metrics"):
            return None
        options[flag] = value
    if command == "metrics" and not options["--out"]:
        return None
    return command, options["--data"], options["--out"]


def metrics_library():
    """``_metrics`` (installed only with metrics enabled), checked to come from the controller's own directory."""
    if __name__.startswith("ansible_collections."):
        from ansible_collections.lvs.realserver.plugins.module_utils import _metrics
        return _metrics
    import _metrics  # noqa: E402 pylint: disable=import-error
    here = os.path.dirname(os.path.realpath(__file__))
    for name in ("_metrics", "_boot_model", "_sysctl_d"):
        found = os.path.realpath(sys.modules[name].__file__)
        if os.path.dirname(found) != here:
            raise ImportError("%s was imported from %s, not %s" % (name, found, here))
    return _metrics


def write_metrics(data, conf, interfaces, out, log, now, library=None):
    """Evaluate and write ``out`` atomically; 0, or 2 when a foreign file is there or the write fails."""
    library = library or metrics_library()
    if library.foreign(out):
        log("refusing to overwrite %s: not written by lvs.realserver (no marker)" % out)
        return 2
    found = library.evaluate(data, conf, interfaces, library.sysctl_d.read_candidates())
    try:
        library.write_atomic(out, library.render(found, now()))
    except (IOError, OSError) as exc:
        log("cannot write %s: %s" % (out, exc))
        return 2
    return 0


def main(argv, log, run, capture, data_file=DATA_FILE, now=time.time):
    """Entry point; returns the exit status (0 ok, 2 usage/data error, 3 refused by the guard).

    The I/O is injected by the installed entry script (``ENTRY_SCRIPT``):
    ``log(message)``, ``run(argv)`` (raises on failure) and ``capture(argv) -> text``.
    ``metrics`` never refuses: it writes the verdict, compliant or not, to ``--out``.
    """
    parsed = parse_args(argv, data_file)
    if parsed is None:
        log(USAGE)
        return 2
    command, data_file, out = parsed
    try:
        with open(data_file) as handle:
            data = load_data(handle.read())
    except (IOError, OSError, ValueError) as exc:
        log("cannot read %s: %s" % (data_file, exc))
        return 2
    ip_bin = which("ip")
    if not ip_bin:
        log("ip (iproute2) not found in %s" % SEARCH_PATH)
        return 2
    interfaces = iproute.parse_addr_json(capture(iproute.addr_show_argv(ip_bin)))
    if command == "metrics":
        return write_metrics(data, runtime.read_conf(rules.READ_KEYS), interfaces, out, log, now)
    if command == "stop":
        argvs = stop_argvs(data, ip_bin, interfaces)
    else:
        problems = guard_problems(data, runtime.read_conf(rules.READ_KEYS), interfaces)
        for problem in problems:
            log("REFUSED: " + problem)
        if problems:
            log("refusing to add %s: ARP protection is not in effect" % ", ".join(data["addresses"]))
            return EXIT_REFUSED
        if command == "guard":
            log("guard ok: ARP protection in effect for %s" % ", ".join(data["addresses"]))
            return 0
        argvs = start_argvs(data, ip_bin, interfaces, which("modprobe"))
    for one in argvs:
        log("run: %s" % " ".join(one))
        run(one)
    return 0


# The executable installed as /usr/libexec/lvs-realserver/lvs-realserver-vips: the process edges only.
# The unit runs it with ``-I -S -B`` (no environment, no site-packages, no bytecode); its search path is the
# standard library and then its own directory, so a copy of the collection elsewhere can never shadow it.
ENTRY_SCRIPT = """#!%(python)s -ISB
# Managed by lvs.realserver.boot_unit. Do not edit: changes are overwritten.
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if p and os.path.isabs(p) and p != HERE and "-packages" not in p] + [HERE]
for _name in ("_vipctl", "_arp_rules", "_iproute", "_runtime"):
    sys.modules.pop(_name, None)
import _runtime  # noqa: E402
import _vipctl  # noqa: E402

for _name in ("_vipctl", "_arp_rules", "_iproute", "_runtime"):
    _file = os.path.realpath(sys.modules[_name].__file__)
    if os.path.dirname(_file) != HERE:
        sys.stderr.write("lvs-realserver-vips: %%s was imported from %%s, not %%s\\n" %% (_name, _file, HERE))
        sys.exit(2)


def log(message):
    sys.stderr.write("lvs-realserver-vips: %%s\\n" %% message)


def capture(argv):
    return subprocess.check_output(argv).decode("utf-8")


try:
    with _runtime.HostLock():
        status = _vipctl.main(sys.argv[1:], log, subprocess.check_call, capture)
except _runtime.LockTimeout as exc:
    log(str(exc))
    status = 2
sys.exit(status)
"""
