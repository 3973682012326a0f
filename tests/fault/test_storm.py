# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A concurrency storm on one host: arp_sysctl (two different confs), loopback_vip and the installed
boot controller run in parallel, round after round. After every round the drop-in, the running
values and what each run reported must agree:

* the drop-in's values are the running values;
* they are the conf of one of the arp_sysctl runs of the round;
* every run saw a whole state before it changed anything (its reported ``before`` values are the
  start of the round or the other run's conf, never a mix);
* no run failed, and nothing left a traceback.

To make the runs overlap where it matters, one arp_sysctl run per round (alternating) is slowed
down by strace for 250 ms (both run under strace, so they start alike) right after it renames its drop-in into place (``delay_exit`` on
``rename``), the window between the file and the running values in which another run used to slip in.

``LVSH_STORM_ROUNDS`` sets the number of rounds (default 12).
"""

import os
import subprocess

from host import parse_result

ROUNDS = int(os.environ.get("LVSH_STORM_ROUNDS", "12"))
DROPIN = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
CLI = "/usr/libexec/lvs-realserver/lvs-realserver-vips"
VIP = "192.0.2.10"
KEYS = ("arp_ignore", "arp_announce", "rp_filter")
CONF_A = {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 1}}
CONF_B = {"all": {"arp_ignore": 2, "arp_announce": 2, "rp_filter": 0}}
# every round starts from this third state, so that both arp_sysctl runs change the file and the kernel
CONF_C = {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 2}}


def vector(conf):
    return tuple(conf["all"][k] for k in KEYS)


def file_vector(text):
    values = {}
    for line in (text or "").splitlines():
        if line.startswith("net.ipv4.conf.all."):
            key, value = line[len("net.ipv4.conf.all."):].split(" = ")
            values[key] = int(value)
    return tuple(values.get(k) for k in KEYS)


def kernel_vector(h):
    got = h.sysctl_get(["net.ipv4.conf.all.%s" % k for k in KEYS])
    return tuple(got["net.ipv4.conf.all.%s" % k] for k in KEYS)


def seen_before(result, conf):
    """The state the run found: its ``before`` values where it changed a key, its own value elsewhere."""
    before = dict(conf["all"])
    for change in result.get("runtime_changes", []):
        before[change["key"]] = change["before"]
    return tuple(before[k] for k in KEYS)


def test_mixed_module_runs_in_parallel_keep_file_kernel_and_results_in_agreement(make_host, figures):
    h = make_host("storm")
    first, p = h.module("arp_sysctl", {"conf": CONF_C})
    assert first and not first.get("failed"), p.stdout + p.stderr
    start_text = h.read(DROPIN)
    unit, p = h.module("boot_unit", {"addresses": [VIP]})
    assert unit and not unit.get("failed"), p.stdout + p.stderr

    consistent, problems = 0, []
    for round_no in range(ROUNDS):
        h.path(DROPIN).write_text(start_text)
        h.sysctl_set(dict(("net.ipv4.conf.all.%s" % k, v) for k, v in CONF_C["all"].items()))
        start = kernel_vector(h)
        slow, fast = (["strace", "-qq", "-o", "/dev/null", "-e", "trace=rename", "-e",
                       "inject=rename:delay_exit=%d" % delay] for delay in (250000, 1))
        procs = {
            "arp_a": h.popen_module("arp_sysctl", {"conf": CONF_A}, prefix=slow if round_no % 2 else fast),
            "arp_b": h.popen_module("arp_sysctl", {"conf": CONF_B}, prefix=fast if round_no % 2 else slow),
            "vip": h.popen_module("loopback_vip", {"addresses": [VIP],
                                                   "state": "present" if round_no % 2 else "absent"}),
            "controller": subprocess.Popen(
                h.argv(["/usr/bin/python3", "-I", "-S", "-B", CLI, "stop" if round_no % 2 else "start"]),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        }
        outputs = dict((name, proc.communicate(timeout=180)) for name, proc in procs.items())
        codes = dict((name, proc.returncode) for name, proc in procs.items())
        results = dict((name, parse_result(outputs[name][0])) for name in ("arp_a", "arp_b", "vip"))
        wrong = []
        for name in ("arp_a", "arp_b", "vip"):
            if not results[name] or results[name].get("failed"):
                wrong.append("%s failed: %s" % (name, (results[name] or {}).get("msg") or outputs[name][1][-300:]))
        if codes["controller"] != 0:
            wrong.append("controller exited %d: %s" % (codes["controller"], outputs["controller"][1][-300:]))
        if any("Traceback" in out[1] for out in outputs.values()):
            wrong.append("a traceback")
        in_file, in_kernel = file_vector(h.read(DROPIN)), kernel_vector(h)
        if in_file != in_kernel:
            wrong.append("drop-in %r but kernel %r" % (in_file, in_kernel))
        if in_file not in (vector(CONF_A), vector(CONF_B)):
            wrong.append("drop-in %r is neither run's conf" % (in_file,))
        for name, conf, other in (("arp_a", CONF_A, CONF_B), ("arp_b", CONF_B, CONF_A)):
            if results[name] and not results[name].get("failed"):
                seen = seen_before(results[name], conf)
                if seen not in (start, vector(other), vector(conf)):
                    wrong.append("%s found a mixed state %r (round start %r)" % (name, seen, start))
        if wrong:
            problems.append("round %d: %s" % (round_no, "; ".join(wrong)))
        else:
            consistent += 1
    figures["storm"] = dict(rounds=ROUNDS, consistent=consistent, problems=problems)
    assert consistent == ROUNDS, "\n".join(problems)
