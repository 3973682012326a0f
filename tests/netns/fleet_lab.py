# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleets of namespace hosts for the compliance playbook, and its reports compared check time aside.

Shared by test_fleet_slices.py (sliced runs into Redis) and
test_execution_environment.py (the playbook inside the execution environment).

    add_host(lab, hub, index) -> (name, {"ns", "state"})   state STATES[index % 4]
    namespace_fleet(count, label) -> context: (hosts, work dir); namespaces removed at exit
    write_wrapper(path, ns, python) -> path                  interpreter entering the host
    write_inventory(path, hosts, interpreter)                 interpreter(name, host) -> path
    load_reports(report_dir) -> {"json", "junit", "markdown"} times left out
    records(report_json) -> {host: record}
"""

import contextlib
import json
import re
import shlex

import lab as _lab
from lab import ns_argv, ns_exec, ns_sysctl

VIP = "198.51.100.100"
PROTECT = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2}
DROPIN = "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n"
# The state of host i is STATES[i % 4].
STATES = ("good", "volatile", "leaky", "halfway")
EXPECTED = {"good": "compliant", "volatile": "compliant", "leaky": "exposed", "halfway": "non_compliant"}
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
TIME_KEY = re.compile(r"(^|_)(timestamp|time|generated_at|checked_at)(_|$)|_at$")
REPORT_NAMES = ("compliance.json", "compliance.xml", "compliance.md")


def add_host(lb, hub, index):
    """Host ``h<index>`` on the hub, in state STATES[index % 4]; returns (name, {ns, state})."""
    name, state = "h%02d" % index, STATES[index % len(STATES)]
    ns = lb.add_netns(name)
    lb.veth(ns, "eth0", hub, "e%d" % index, "v%d" % index)
    commands = [["ip", "addr", "add", "198.51.100.%d/24" % (21 + index), "dev", "eth0"]]
    if state != "halfway":
        scope = "host" if state == "good" else "global"
        commands.append(["ip", "addr", "add", VIP + "/32", "dev", "lo", "scope", scope])
    for argv in commands:
        ns_exec(ns, argv, isolate_sysctl_dirs=False)
    settings = {"good": PROTECT, "volatile": PROTECT, "leaky": {},
                "halfway": dict(PROTECT, **{"net.ipv4.conf.eth0.arp_ignore": 4})}[state]
    if settings:
        ns_sysctl(ns, settings)
    if state == "good":
        _lab.private_path(ns, "/etc/sysctl.d/99-zz-lvs-realserver.conf").write_text(DROPIN)
    return name, {"ns": ns, "state": state}


@contextlib.contextmanager
def namespace_fleet(count, label):
    """``count`` hosts behind one hub namespace and a work dir; the namespaces are removed by name at exit."""
    lb = _lab.Lab()
    try:
        hub = lb.add_netns("hub")
        hosts = dict(add_host(lb, hub, index) for index in range(count))
        work = _lab.run_tmpdir() / label
        work.mkdir(exist_ok=True)
        yield hosts, work
    finally:
        errors = lb.cleanup()
        assert not errors, errors


def write_wrapper(path, ns, python):
    """An executable that runs ``python`` inside host ``ns`` (private sysctl.d tree included)."""
    path.write_text("#!/bin/sh\nexec %s \"$@\"\n" % shlex.join(ns_argv(ns, [python])))
    path.chmod(0o755)
    return path


def write_inventory(path, hosts, interpreter):
    """An INI inventory: every host local, with the Python ``interpreter(name, host)`` gives."""
    lines = ["[realservers]"]
    for name, host in sorted(hosts.items()):
        lines.append("%s ansible_connection=local ansible_python_interpreter=%s" % (name, interpreter(name, host)))
    path.write_text("\n".join(lines) + "\n")
    return path


def without_times(value):
    """``value`` with every check-time/timestamp field left out and every ISO time string masked."""
    if isinstance(value, dict):
        return dict((k, without_times(v)) for k, v in value.items() if not TIME_KEY.search(k))
    if isinstance(value, list):
        return [without_times(v) for v in value]
    if isinstance(value, str):
        return ISO_TIME.sub("<time>", value)
    return value


def load_reports(out):
    """The three report files, check times and timestamps left out."""
    texts = dict((name, (out / name).read_text()) for name in REPORT_NAMES)
    return {
        "json": without_times(json.loads(texts["compliance.json"])),
        "junit": ISO_TIME.sub("<time>", re.sub(r'\s(time|timestamp)="[^"]*"', "", texts["compliance.xml"])),
        "markdown": ISO_TIME.sub("<time>", texts["compliance.md"]),
    }


def records(report_json):
    return dict((r["host"], r) for r in report_json["hosts"])
