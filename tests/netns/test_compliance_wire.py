# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compliance playbook's wire stage against real traffic, and reports that only change with the fleet.

Inventory: ``dir`` (group ``directors``, the probe host) and ``rs1``, ``rs2``
(group ``realservers``), namespaces of ``segment.build``. The unmanaged
leaking host ``rog`` and the client are in no inventory. The playbook runs
with ``lvs_compliance_hosts=realservers``, ``lvs_compliance_probe_from=directors``
and ``lvs_compliance_probe_interface=eth0``; the probed VIPs come from the
real servers' facts (IPv4 and IPv6).
"""

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

import lab as _lab
import segment
from lab import ns_sysctl
from segment import LEAK, PROTECT, VIP, VIP6
from test_compliance_playbook import ansible_playbook, namespace_interpreter

pytestmark = pytest.mark.usefixtures("lvs_python")

WIRE_ARGS = ("-e", "lvs_compliance_hosts=realservers", "-e", "lvs_compliance_probe_from=directors",
             "-e", "lvs_compliance_probe_interface=eth0")
REPORTS = ("compliance.json", "compliance.xml", "compliance.md")


@pytest.fixture(scope="module")
def fleet(netns_lab, lvs_python):
    lb = _lab.Lab()
    try:
        seg = segment.build(lb)
        work = _lab.run_tmpdir() / "wire"
        work.mkdir(exist_ok=True)
        python = dict((role, namespace_interpreter(work, role, seg.ns[role], lvs_python)) for role in ("dir", "rs1", "rs2"))
        inv = work / "inventory.ini"
        inv.write_text("[directors]\ndir ansible_connection=local ansible_python_interpreter=%s\n"
                       "[realservers]\nrs1 ansible_connection=local ansible_python_interpreter=%s\n"
                       "rs2 ansible_connection=local ansible_python_interpreter=%s\n"
                       % (python["dir"], python["rs1"], python["rs2"]))
        yield {"seg": seg, "work": work, "inventory": str(inv)}
    finally:
        errors = lb.cleanup()
        assert not errors, errors


def leaking(seg):
    """The unmanaged host holds the VIPs; rs2 lost its ARP protection."""
    _set_vip(seg, "rog", "lo", VIP, True)
    _set_vip(seg, "rog", "eth0", VIP6, True)
    ns_sysctl(seg.ns["rs2"], LEAK)


def compliant(seg):
    _set_vip(seg, "rog", "lo", VIP, False)
    _set_vip(seg, "rog", "eth0", VIP6, False)
    ns_sysctl(seg.ns["rs2"], PROTECT)


def _set_vip(seg, role, dev, vip, present):
    plen = "/128" if ":" in vip else "/32"
    argv = ["ip", "-n", seg.ns[role], "addr", "replace" if present else "del", vip + plen, "dev", dev]
    _lab._run(argv + (["nodad"] if present and ":" in vip else []), check=present, timeout=10)


def play(fleet, lvs_python, name, *extra, cache=None):
    out = fleet["work"] / ("report-" + name)
    env = _lab._module_env(_lab.collections_dir())
    if cache:
        env["ANSIBLE_CACHE_PLUGIN"] = "jsonfile"
        env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(cache)
    argv = [ansible_playbook(lvs_python), "lvs.realserver.compliance", "-i", fleet["inventory"],
            "-e", "lvs_compliance_report_dir=%s" % out, *WIRE_ARGS, *extra]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(fleet["work"]), timeout=300, check=False)
    return p.returncode, p.stdout + p.stderr, out


def load(out):
    return (json.loads((out / "compliance.json").read_text()), ET.parse(str(out / "compliance.xml")).getroot(),
            (out / "compliance.md").read_text())


def report_task_status(output):
    """'ok' or 'changed': the status line of the report-writing task."""
    match = re.search(r"TASK \[Write the JSON, JUnit XML and Markdown reports\][^\n]*\n(ok|changed): ", output)
    assert match, output[-3000:]
    return match.group(1)


def test_wire_stage_names_the_unmanaged_and_the_managed_leaking_hosts(fleet, lvs_python):
    seg = fleet["seg"]
    leaking(seg)
    rc, output, out = play(fleet, lvs_python, "leaking")
    assert rc == 2, output[-4000:]
    report, junit, markdown = load(out)
    print(markdown)
    wire = report["wire"]
    assert wire["director_macs"] == [seg.mac["dir"]]
    assert [(p["host"], p["status"], p["interface"]) for p in wire["probes"]] == [("dir", "ok", "eth0")]
    assert [(v["code"], v["vip"], v["mac"], v["host"]) for v in wire["violations"]] == sorted([
        ("vip_answered_by", VIP, seg.mac["rog"], "unknown"),
        ("vip_answered_by", VIP, seg.mac["rs2"], "rs2"),
    ], key=lambda v: v[2]) + [("vip_answered_by", VIP6, seg.mac["rog"], "unknown")]
    answered = dict((v["vip"], [(a["mac"], a["host"], a["director"], a["how"]) for a in v["answered_by"]])
                    for v in wire["vips"])
    assert answered[VIP6] == sorted([(seg.mac["dir"], "dir", True, ["local"]),
                                     (seg.mac["rog"], "unknown", False, ["reply"])])
    assert (seg.mac["rs1"], "rs1", False, ["reply"]) not in answered[VIP]       # the protected one stays silent
    assert report["summary"]["vip_answered_by"] == 3 and report["summary"]["failing"] == ["rs2"]
    # JUnit: the wire suite fails both VIPs
    suite = [s for s in junit.iter("testsuite") if s.get("name") == "lvs.realserver.compliance.wire"][0]
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    failure = [tc for tc in suite.iter("testcase") if tc.get("name") == "vip " + VIP][0].find("failure")
    assert "%s (rs2)" % seg.mac["rs2"] in failure.get("message") and "%s (unknown)" % seg.mac["rog"] in failure.get("message")
    # Markdown and the exit message
    assert "| %s | %s | **vip_answered_by** |" % (VIP6, ", ".join(
        "%s (%s: %s)" % (mac, host + (", director" if director else ""), "+".join(how))
        for mac, host, director, how in answered[VIP6])) in markdown
    assert "Wire: vip_answered_by %s" % VIP in output
    assert "vip_answered_by %s %s (rs2)" % (VIP, seg.mac["rs2"]) in output


def test_compliant_fleet_only_the_director_answers_and_reruns_change_nothing(fleet, lvs_python):
    seg = fleet["seg"]
    compliant(seg)
    rc, output, out = play(fleet, lvs_python, "steady")
    assert rc == 0, output[-4000:]
    report = load(out)[0]
    print(load(out)[2])
    wire = report["wire"]
    assert wire["violations"] == [] and report["summary"]["fleet_failing"] == []
    assert [(v["vip"], [(a["mac"], a["host"], a["how"]) for a in v["answered_by"]]) for v in wire["vips"]] == [
        (VIP, [(seg.mac["dir"], "dir", ["local"])]), (VIP6, [(seg.mac["dir"], "dir", ["local"])])]
    stamp = json.loads((out / "compliance.checked.json").read_text())
    before = dict((name, ((out / name).read_bytes(), (out / name).stat().st_mtime_ns)) for name in REPORTS)

    # the same fleet again: no report rewritten, the task is not changed, only the stamp moves
    rc, output, out = play(fleet, lvs_python, "steady")
    assert rc == 0, output[-4000:]
    assert report_task_status(output) == "ok"
    assert dict((name, ((out / name).read_bytes(), (out / name).stat().st_mtime_ns)) for name in REPORTS) == before
    again = json.loads((out / "compliance.checked.json").read_text())
    assert again["checked_at"] >= stamp["checked_at"] and again["reports_changed_at"] == stamp["reports_changed_at"]
    assert again["collected_at"]["rs1"] != "" and set(again["collected_at"]) == {"rs1", "rs2"}

    # negative control: the fleet changes (the unmanaged host comes back), the reports change
    _set_vip(seg, "rog", "lo", VIP, True)
    try:
        rc, output, out = play(fleet, lvs_python, "steady")
    finally:
        _set_vip(seg, "rog", "lo", VIP, False)
    assert rc == 2 and report_task_status(output) == "changed"
    assert [v["mac"] for v in load(out)[0]["wire"]["violations"]] == [seg.mac["rog"]]


def test_the_wire_section_is_rebuilt_from_the_fact_cache_without_probing(fleet, lvs_python):
    seg = fleet["seg"]
    leaking(seg)
    cache = fleet["work"] / "factcache"
    rc, output, out = play(fleet, lvs_python, "fill", cache=cache)
    assert rc == 2, output[-4000:]
    gathered = load(out)[0]
    compliant(seg)          # the wire changed since, but from the cache no host is asked
    rc, output, out = play(fleet, lvs_python, "cached", "-e", "lvs_compliance_from_cache=true", cache=cache)
    assert rc == 2, output[-4000:]
    cached = load(out)[0]
    assert re.search(r"TASK \[Probe the VIPs with lvs.realserver.arp_probe\][^\n]*\nskipping: \[dir\]", output), output
    assert cached["wire"] == gathered["wire"]
    assert [v["host"] for v in cached["wire"]["violations"]] == [v["host"] for v in gathered["wire"]["violations"]]
    assert {"rs2", "unknown"} == set(v["host"] for v in cached["wire"]["violations"])
