# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``ansible-playbook lvs.realserver.compliance`` against a fleet of namespace hosts.

Hosts (each a network namespace with its own /proc/sys/net and private
sysctl.d tree, reached with ``ansible_connection=local`` and an interpreter
wrapper that enters the namespace):

* ``good``: protected at runtime and in sysctl.d, VIP scope host -> compliant;
* ``volatile``: protected at runtime only -> compliant now, exposed after a reboot;
* ``leaky``: no protection, VIP on lo -> exposed;
* ``halfway``: all.arp_ignore=1 but eth0.arp_ignore=4, no VIP -> non_compliant;
* ``down``: ssh to 127.0.0.1 port 1 -> unreachable (nothing leaves the machine).

The report files, the printed table and the exit status are asserted for the
default run, ``lvs_compliance_fail=false``, ``--limit``, the boot and
unreachable switches, and a run from a jsonfile fact cache in which no host is
contacted (their interpreters are replaced by ``/bin/false``). A ``-vvv`` run
shows that arp_facts is the only module executed and that the report play
opens no connection and runs no command.
"""

import json
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from real_tier import unavailable

import lab as _lab
from lab import ns_argv, ns_exec, ns_sysctl

pytestmark = pytest.mark.usefixtures("lvs_python")

VIP = "198.51.100.100"
PROTECT = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2}
DROPIN = "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n"
HOSTS = ("good", "volatile", "leaky", "halfway")


def ansible_playbook(lvs_python):
    candidate = Path(lvs_python).parent / "ansible-playbook"
    if not candidate.exists():
        unavailable("no ansible-playbook next to %s" % lvs_python)
    return str(candidate)


@pytest.fixture(scope="module")
def fleet(netns_lab, lvs_python):
    """Four namespace hosts on one switch-like client namespace, plus the inventory pieces."""
    lb = _lab.Lab()
    try:
        hub = lb.add_netns("hub")
        hosts = {}
        for index, role in enumerate(HOSTS):
            ns = lb.add_netns("h%d" % index)
            lb.veth(ns, "eth0", hub, "e%d" % index, "v%d" % index)
            ns_exec(ns, ["ip", "addr", "add", "198.51.100.%d/24" % (21 + index), "dev", "eth0"],
                    isolate_sysctl_dirs=False)
            hosts[role] = ns
        for role in ("good", "volatile", "leaky"):
            scope = "host" if role == "good" else "global"
            ns_exec(hosts[role], ["ip", "addr", "add", "%s/32" % VIP, "dev", "lo", "scope", scope],
                    isolate_sysctl_dirs=False)
        ns_sysctl(hosts["good"], PROTECT)
        _lab.private_path(hosts["good"], "/etc/sysctl.d/99-zz-lvs-realserver.conf").write_text(DROPIN)
        ns_sysctl(hosts["volatile"], PROTECT)
        ns_sysctl(hosts["halfway"], dict(PROTECT, **{"net.ipv4.conf.eth0.arp_ignore": 4}))

        work = _lab.run_tmpdir() / "compliance"
        work.mkdir(exist_ok=True)
        wrappers = dict((role, namespace_interpreter(work, role, ns, lvs_python)) for role, ns in hosts.items())
        yield {"hosts": hosts, "wrappers": wrappers, "work": work}
    finally:
        errors = lb.cleanup()
        assert not errors, errors


def namespace_interpreter(work, name, ns, lvs_python):
    """Path of a wrapper that runs ``lvs_python`` inside namespace ``ns`` (an inventory host's interpreter)."""
    wrapper = work / ("python-" + name)
    # Already inside (gather_facts' parallel async_wrapper re-runs the interpreter from
    # within the namespace, where /run/netns is not visible): run python directly.
    wrapper.write_text(
        "#!/bin/sh\n"
        "if [ \"${LVST_COMPLIANCE_NS:-}\" = %s ]; then exec %s \"$@\"; fi\n"
        "LVST_COMPLIANCE_NS=%s; export LVST_COMPLIANCE_NS\n"
        "exec %s \"$@\"\n" % (ns, shlex.quote(lvs_python), ns, shlex.join(ns_argv(ns, [lvs_python]))))
    wrapper.chmod(0o755)
    return str(wrapper)


def inventory(fleet, path, interpreters=None):
    lines = ["[realservers]"]
    for role in HOSTS:
        python = (interpreters or fleet["wrappers"])[role]
        lines.append("%s ansible_connection=local ansible_python_interpreter=%s" % (role, python))
    lines.append(
        "down ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody "
        "ansible_ssh_common_args='-o ConnectTimeout=1 -o BatchMode=yes -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null'")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def play(fleet, lvs_python, name, *extra, inventory_file=None, cache=False, env_extra=None):
    """Run the playbook; return (rc, stdout, report dir)."""
    out = fleet["work"] / ("report-" + name)
    env = _lab._module_env(_lab.collections_dir())
    env.update(env_extra or {})
    env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    env["ANSIBLE_CACHE_PLUGIN"] = "jsonfile"
    env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(fleet["work"] / "factcache")
    argv = [ansible_playbook(lvs_python), "lvs.realserver.compliance",
            "-i", inventory_file or inventory(fleet, fleet["work"] / "inventory.ini"),
            "-e", "lvs_compliance_report_dir=%s" % out, *extra]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(fleet["work"]), timeout=300, check=False)
    return p.returncode, p.stdout + p.stderr, out


def load(out):
    report = json.loads((out / "compliance.json").read_text())
    junit = ET.parse(str(out / "compliance.xml")).getroot()
    markdown = (out / "compliance.md").read_text()
    return report, junit, markdown


def statuses(report):
    return dict((h["host"], h["status"]) for h in report["hosts"])


def junit_cases(junit):
    cases = {}
    for tc in junit.iter("testcase"):
        children = [c.tag for c in tc if c.tag != "system-out"]
        cases[tc.get("name")] = (children[0] if children else "pass", tc)
    return cases


def test_default_run_reports_every_host_and_fails(fleet, lvs_python):
    rc, output, out = play(fleet, lvs_python, "default")
    assert rc == 2, output
    report, junit, markdown = load(out)
    assert statuses(report) == {"good": "compliant", "volatile": "compliant", "leaky": "exposed",
                                "halfway": "non_compliant", "down": "unreachable"}
    summary = report["summary"]
    assert (summary["hosts"], summary["compliant"], summary["exposed"], summary["non_compliant"],
            summary["unreachable"], summary["non_compliant_at_boot"]) == (5, 2, 1, 1, 1, 3)
    assert summary["failing"] == ["down", "halfway", "leaky"]
    hosts = dict((h["host"], h) for h in report["hosts"])
    assert hosts["leaky"]["facts"]["violations"][0]["code"] == "vip_exposed"
    assert "arp_ignore_leak" in [v["code"] for v in hosts["halfway"]["facts"]["violations"]]
    assert hosts["good"]["facts"]["at_boot"]["compliant"] is True
    # the playbook asks arp_facts for the verdict only: no per-key tables (lvs_compliance_detail=full has them)
    assert hosts["good"]["facts"]["detail"] == "verdict"
    assert not {"interfaces", "boot", "boot_prediction", "conf_all"} & set(hosts["good"]["facts"])
    assert hosts["volatile"]["facts"]["drift"][0]["basis"] == "kernel_default"
    assert hosts["volatile"]["facts"]["at_boot"]["state"] == "exposed"
    assert "Connection refused" in hosts["down"]["msg"] or "connect" in hosts["down"]["msg"].lower()

    cases = junit_cases(junit)
    assert set(cases) == {"good", "volatile", "leaky", "halfway", "down"}
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("5", "2", "1")
    assert cases["good"][0] == "pass" and cases["volatile"][0] == "pass"
    assert cases["down"][0] == "error"
    failure = cases["leaky"][1].find("failure")
    assert failure.get("type") == "exposed"
    assert "vip_exposed" in failure.get("message") and "arp_ignore_leak" in failure.text
    assert cases["halfway"][1].find("failure").get("type") == "non_compliant"

    assert "| leaky | **EXPOSED** |" in markdown
    assert "| down | **UNREACHABLE** |" in markdown
    assert "| good | compliant | dr |" in markdown
    assert "| good | compliant | dr |" in output  # the table is printed too
    assert "3 of 5 host(s) failed the LVS real-server compliance check: down, halfway, leaky" in output
    # without the wire stage its setup play targets no host: not even a skipped task per host
    mac_play = output[output.index("PLAY [Gather the network facts that map MACs to hosts]"):output.index("PLAY [Probe")]
    assert "skipping: no hosts matched" in mac_play and "TASK [" not in mac_play, mac_play


def test_switched_off_failure_exits_zero_with_the_same_report(fleet, lvs_python):
    rc, output, out = play(fleet, lvs_python, "nofail", "-e", "lvs_compliance_fail=false",
                           "-e", "lvs_compliance_detail=full")
    assert rc == 0, output
    report = load(out)[0]
    assert statuses(report) == {"good": "compliant", "volatile": "compliant", "leaky": "exposed",
                                "halfway": "non_compliant", "down": "unreachable"}
    assert "DEPRECATION" not in output  # the playbook passes no deprecated option (compliance_report's fail)
    assert report["summary"]["failing"] == ["down", "halfway", "leaky"]
    # lvs_compliance_detail=full: the per-key tables are in the report too
    good = dict((h["host"], h) for h in report["hosts"])["good"]["facts"]
    assert good["detail"] == "full"
    assert good["boot"]["net.ipv4.conf.all.arp_ignore"]["file"] == "/etc/sysctl.d/99-zz-lvs-realserver.conf"
    assert good["interfaces"]["eth0"]["arp_ignore"]["effective"] == 1


def test_the_direct_gather_and_the_module_write_the_same_reports(fleet, lvs_python):
    """arp_facts' action runs its direct way where the connection pipelines, the module where it does not: on the
    same real hosts both give the same reports, byte for byte (they hold no time)."""
    runs = {}
    for way, pipelining in (("direct", "True"), ("module", "False")):
        rc, output, out = play(fleet, lvs_python, way, "-vvv", "-e", "lvs_compliance_fail=false",
                               env_extra={"ANSIBLE_PIPELINING": pipelining})
        assert rc == 0, output
        runs[way] = (output, out)
    module_file = "plugins/modules/arp_facts.py"
    assert module_file not in runs["direct"][0]  # no module payload built: the direct way ran on every host
    assert module_file in runs["module"][0]
    for name in ("compliance.json", "compliance.xml", "compliance.md"):
        assert (runs["direct"][1] / name).read_text() == (runs["module"][1] / name).read_text(), name
    report = load(runs["direct"][1])[0]
    assert statuses(report) == {"good": "compliant", "volatile": "compliant", "leaky": "exposed",
                                "halfway": "non_compliant", "down": "unreachable"}


def test_all_compliant_exits_zero(fleet, lvs_python):
    rc, output, out = play(fleet, lvs_python, "limit", "--limit", "good,volatile")
    assert rc == 0, output
    report, junit = load(out)[:2]
    assert statuses(report) == {"good": "compliant", "volatile": "compliant"}
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("2", "0", "0")


def test_boot_switch_fails_a_host_that_would_leak_after_a_reboot(fleet, lvs_python):
    rc, output, out = play(fleet, lvs_python, "boot", "--limit", "good,volatile",
                           "-e", "lvs_compliance_fail_on_boot=true")
    assert rc == 2, output
    report, junit, markdown = load(out)
    assert report["summary"]["failing"] == ["volatile"]
    failure = junit_cases(junit)["volatile"][1].find("failure")
    assert failure.get("type") == "non_compliant_at_boot" and "arp_ignore_leak" in failure.get("message")
    assert "after a reboot: `arp_ignore_leak`" in markdown


def test_unreachable_switch(fleet, lvs_python):
    rc, output, out = play(fleet, lvs_python, "unreach", "--limit", "good,down",
                           "-e", "lvs_compliance_fail_on_unreachable=false")
    assert rc == 0, output
    report, junit = load(out)[:2]
    assert statuses(report) == {"good": "compliant", "down": "unreachable"}
    assert junit_cases(junit)["down"][0] == "skipped"
    rc, output, _unused = play(fleet, lvs_python, "unreach2", "--limit", "good,down")
    assert rc == 2, output


def test_report_from_the_fact_cache_contacts_no_host(fleet, lvs_python):
    rc, output, _unused = play(fleet, lvs_python, "fill-cache")  # fills the jsonfile cache
    assert rc == 2, output
    broken = dict((role, "/bin/false") for role in HOSTS)
    inv = inventory(fleet, fleet["work"] / "inventory-broken.ini", interpreters=broken)
    rc, output, out = play(fleet, lvs_python, "cache", "-e", "lvs_compliance_from_cache=true", inventory_file=inv)
    assert rc == 2, output
    # the gather play targets no host: no worker per host just to skip arp_facts
    gather_play = output[output.index("PLAY [Gather the LVS real-server ARP facts]"):output.index("PLAY [Report")]
    assert "skipping: no hosts matched" in gather_play and "TASK [" not in gather_play, gather_play
    report, junit, markdown = load(out)
    assert statuses(report) == {"good": "compliant", "volatile": "compliant", "leaky": "exposed",
                                "halfway": "non_compliant", "down": "no_data"}
    assert set(h["source"] for h in report["hosts"]) == {"cache"}
    assert "| good | compliant (cached) |" in markdown
    assert junit_cases(junit)["down"][0] == "error"
    # with the cache but the broken interpreters, a normal run sees every host fail
    rc, output, out = play(fleet, lvs_python, "broken", inventory_file=inv)
    assert rc == 2
    assert set(statuses(load(out)[0]).values()) == {"error", "unreachable"}


REPORT_TASKS = ["Write the JSON, JUnit XML and Markdown reports", "Show the compliance table",
                "Fail when a host is not compliant"]


def test_the_report_play_runs_no_module_and_opens_no_connection(fleet, lvs_python):
    rc, output, out = play(fleet, lvs_python, "verbose", "-vvv")
    assert rc == 2, output[-3000:]
    assert load(out)[0]["summary"]["failing"] == ["down", "halfway", "leaky"]
    # -vvv names every module it builds: arp_facts, once per reachable host, and nothing else
    modules = re.findall(r"^Using module file (\S+)$", output, re.M)
    assert sorted(m.rsplit("/", 1)[-1] for m in modules) == ["arp_facts.py"] * len(HOSTS), modules
    report_play = output[output.index("PLAY [Report LVS real-server compliance]"):]
    assert re.findall(r"^TASK \[(.+?)\]", report_play, re.M) == REPORT_TASKS
    for trace in ("ESTABLISH", "EXEC ", "PUT ", "Using module file"):
        assert trace not in report_play, trace


GATHER_PLAY = """\
- name: Gather with setup and arp_facts side by side
  hosts: good,leaky
  gather_facts: true
  tasks:
    - name: Show what was gathered
      ansible.builtin.debug:
        msg: "VERDICT {{ inventory_hostname }} {{ ansible_facts['lvs_realserver']['state'] }} {{ ansible_facts['system'] }}"
"""


def test_arp_facts_runs_as_a_facts_module_next_to_setup(fleet, lvs_python):
    """The ansible.cfg line documented by the module: facts_modules = ansible.builtin.setup, lvs.realserver.arp_facts."""
    playbook = fleet["work"] / "gather.yml"
    playbook.write_text(GATHER_PLAY)
    env = _lab._module_env(_lab.collections_dir())
    env["ANSIBLE_FACTS_MODULES"] = "ansible.builtin.setup, lvs.realserver.arp_facts"
    env["ANSIBLE_GATHER_SUBSET"] = "min"
    argv = [ansible_playbook(lvs_python), str(playbook), "-i", inventory(fleet, fleet["work"] / "inventory.ini")]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(fleet["work"]), timeout=300, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "VERDICT good compliant Linux" in p.stdout
    assert "VERDICT leaky exposed Linux" in p.stdout
