# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance report's pure pieces: records, summary, JSON, JUnit XML and Markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import OrderedDict

import pytest

from ansible_collections.lvs.realserver.plugins.plugin_utils import _compliance_report as report

T = "2026-11-26T13:30:00Z"
VIP = "198.51.100.100"


def violation(code, interface="eth0", key="arp_ignore", expected="1 or 2", actual=0, message="leaks", fix="set it"):
    return {"code": code, "severity": "error", "interface": interface, "key": key, "expected": expected,
            "actual": actual, "message": message, "fix": fix}


def facts(state="compliant", violations=(), at_boot_violations=(), hazards=(), drift=(), vips=(VIP,)):
    return {
        "state": state,
        "compliant": state == "compliant",
        "mode": "dr",
        "collected_at": "2026-11-26T13:29:59Z",
        "arp_facing": ["eth0"],
        "vips": [{"local": v} for v in vips],
        "violations": list(violations),
        "at_boot": {"compliant": not at_boot_violations,
                    "state": "compliant" if not at_boot_violations else "exposed",
                    "violations": list(at_boot_violations)},
        "hazards": list(hazards),
        "drift": list(drift),
    }


def gathered(f):
    return {"changed": False, "ansible_facts": {"lvs_realserver": f}}


def record(host, f=None, **kwargs):
    return report.build_record(host, gathered(f if f is not None else facts(**kwargs)))


LEAK = violation("arp_ignore_leak")
EXPOSED = violation("vip_exposed", interface=None, key=None, expected="no ARP leak", actual=VIP,
                    message="VIP present while ARP would leak")


def fleet():
    """good, volatile (compliant now, exposed at boot), leaky (exposed), down (unreachable)."""
    return report.sort_records([
        record("volatile", at_boot_violations=[EXPOSED, LEAK]),
        record("leaky", state="exposed", violations=[EXPOSED, LEAK], at_boot_violations=[EXPOSED, LEAK]),
        report.build_record("down", {"unreachable": True, "msg": "Connection refused"}),
        record("good"),
    ])


# --------------------------------------------------------------------- records

def test_a_gathered_verdict_becomes_the_status():
    r = record("good")
    assert (r["host"], r["status"], r["msg"], r["source"]) == ("good", "compliant", "", "gathered")
    assert r["facts"]["mode"] == "dr"


def test_the_collection_time_leaves_the_record_for_the_stamp():
    """The facts' per-gather time would make every report differ; it goes to the stamp instead."""
    f = facts()
    r = report.build_record("good", gathered(f))
    assert "collected_at" not in r["facts"] and f["collected_at"] == "2026-11-26T13:29:59Z"
    assert report.check_times({"good": report.gathered_facts(gathered(f)), "down": {}}) == {
        "good": "2026-11-26T13:29:59Z"}


def test_reports_are_a_function_of_the_fleet_only():
    """Two gathers of the same fleet at different times give byte-identical reports."""
    def texts(when):
        records = report.sort_records([report.build_record(h, gathered(dict(facts(), collected_at=when)))
                                       for h in ("b", "a")])
        return report.render_reports(report.summarize(records), {"fail": True}, records)
    assert texts("2026-11-26T13:29:59Z") == texts("2026-12-03T09:00:00Z")
    # negative control: a changed verdict does change them
    changed = [record("a", state="non_compliant", violations=[LEAK]), record("b")]
    assert report.render_reports(report.summarize(changed), {"fail": True}, changed) != texts("x")


def test_stamp_carries_the_times():
    stamp = json.loads(report.render_stamp(T, "2026-11-01T00:00:00Z", {"a": T}))
    assert stamp == {"checked_at": T, "reports_changed_at": "2026-11-01T00:00:00Z", "collected_at": {"a": T}}


@pytest.mark.parametrize("result, status, msg", [
    ({"unreachable": True, "msg": "ssh: Connection refused"}, "unreachable", "ssh: Connection refused"),
    ({"unreachable": True}, "unreachable", "unreachable"),
    ({"failed": True, "msg": "MODULE FAILURE"}, "error", "MODULE FAILURE"),
    ({"changed": False}, "error", "unreachable"),
    (gathered({"state": "weird"}), "error", "unreachable"),
    (None, "error", "unreachable"),
])
def test_no_verdict_from_the_gather_result(result, status, msg):
    r = report.build_record("h", result)
    assert (r["status"], r["msg"], r["source"]) == (status, msg, "gathered")


def test_from_cache_reads_the_cached_facts_not_the_gather_result():
    skipped = {"skipped": True, "changed": False}
    r = report.build_record("h", skipped, facts(state="non_compliant", violations=[LEAK]), from_cache=True)
    assert (r["status"], r["msg"], r["source"]) == ("non_compliant", "", "cache")
    empty = report.build_record("h", skipped, None, from_cache=True)
    assert (empty["status"], empty["msg"], empty["facts"]) == ("no_data", report.NO_CACHED_FACTS, {})
    # a gathered verdict does not count in cache mode
    assert report.build_record("h", gathered(facts()), {}, from_cache=True)["status"] == "no_data"


def test_records_sort_by_host_ignoring_case():
    records = [report.build_record(h, None) for h in ("b", "A", "c", "B")]
    assert [r["host"] for r in report.sort_records(records)] == ["A", "B", "b", "c"]


def test_plain_turns_container_and_string_subclasses_into_plain_data():
    class Tagged(str):
        pass

    data = OrderedDict([("a", (1, Tagged("x"), True, None, 1.5)), (2, {"b": Tagged("y")})])
    out = report.plain(data)
    assert out == {"a": [1, "x", True, None, 1.5], "2": {"b": "y"}}
    assert [t.__name__ for t in (type(out), type(out["a"]), type(out["a"][1]), type(out["2"]["b"]))] == \
        ["dict", "list", "str", "str"]


# --------------------------------------------------------------------- summary

def test_summary_counts_and_failing_hosts_by_default():
    s = report.summarize(fleet())
    assert s == {"hosts": 4, "compliant": 2, "non_compliant": 0, "exposed": 1, "unreachable": 1, "error": 0, "runtime_skipped": 0,
                 "non_compliant_at_boot": 2, "failing": ["down", "leaky"]}


@pytest.mark.parametrize("fail_on_unreachable, fail_on_boot, failing", [
    (True, False, ["down", "leaky"]),
    (False, False, ["leaky"]),
    (True, True, ["down", "leaky", "volatile"]),
    (False, True, ["leaky", "volatile"]),
])
def test_summary_switches(fail_on_unreachable, fail_on_boot, failing):
    assert report.summarize(fleet(), fail_on_unreachable, fail_on_boot)["failing"] == failing


def test_error_and_no_data_count_as_error():
    records = [report.build_record("e", {"failed": True, "msg": "x"}),
               report.build_record("n", None, None, from_cache=True)]
    s = report.summarize(records)
    assert (s["error"], s["unreachable"], s["failing"]) == (2, 0, ["e", "n"])


def test_an_empty_run_fails_no_host():
    assert report.summarize([]) == {"hosts": 0, "compliant": 0, "non_compliant": 0, "exposed": 0, "unreachable": 0,
                                    "error": 0, "runtime_skipped": 0, "non_compliant_at_boot": 0, "failing": []}


# ------------------------------------------------------------------------ JSON

def test_json_report_structure_and_layout():
    records = fleet()
    summary = report.summarize(records)
    policy = {"fail": True, "fail_on_unreachable": True, "fail_on_boot": False}
    text = report.render_json(summary, policy, records)
    assert text.startswith('{\n  "hosts": [\n')
    assert text.endswith("}\n")
    data = json.loads(text)
    assert sorted(data) == ["hosts", "policy", "summary"]
    assert data["summary"] == summary and data["policy"] == policy
    assert [h["host"] for h in data["hosts"]] == ["down", "good", "leaky", "volatile"]
    assert sorted(data["hosts"][0]) == ["facts", "host", "msg", "source", "status"]


def test_json_is_ascii():
    records = [report.build_record("h", {"unreachable": True, "msg": "connexion refusée"})]
    text = report.render_json(report.summarize(records), {}, records)
    assert text.isascii() and json.loads(text)["hosts"][0]["msg"] == "connexion refusée"


# ----------------------------------------------------------------------- JUnit

def junit(records, **switches):
    return ET.fromstring(report.render_junit(report.summarize(records, **switches), records))


def cases(root):
    return dict((tc.get("name"), tc) for tc in root.iter("testcase"))


def test_junit_counts_and_test_cases():
    root = junit(fleet())
    suite = root.find("testsuite")
    for element in (root, suite):
        assert (element.get("name"), element.get("tests"), element.get("failures"), element.get("errors"),
                element.get("skipped"), element.get("timestamp")) == (report.SUITE, "4", "1", "1", "0", None)
    tc = cases(root)
    assert [c.tag for c in tc["good"]] == ["system-out"]
    assert [c.tag for c in tc["down"]] == ["error"]
    assert tc["down"].find("error").attrib == {"type": "unreachable", "message": "unreachable: Connection refused"}
    assert tc["down"].find("error").text == "Connection refused"
    failure = tc["leaky"].find("failure")
    assert failure.attrib == {"type": "exposed", "message": "vip_exposed, arp_ignore_leak"}
    assert failure.text.strip().splitlines() == [
        "[vip_exposed] - : expected no ARP leak, actual 198.51.100.100. VIP present while ARP would leak. Fix: set it",
        "[arp_ignore_leak] eth0 arp_ignore: expected 1 or 2, actual 0. leaks. Fix: set it",
    ]


def test_junit_skips_hosts_without_verdict_when_they_do_not_fail():
    root = junit(fleet(), fail_on_unreachable=False)
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("1", "0", "1")
    skipped = cases(root)["down"].find("skipped")
    assert skipped.get("message") == "unreachable: Connection refused"


def test_junit_boot_only_failure_lists_the_boot_violations():
    root = junit(fleet(), fail_on_boot=True)
    failure = cases(root)["volatile"].find("failure")
    assert failure.attrib == {"type": "non_compliant_at_boot", "message": "vip_exposed, arp_ignore_leak"}
    assert failure.text.strip().splitlines()[1] == "[at boot: arp_ignore_leak] eth0 arp_ignore: expected 1 or 2, actual 0. Fix: set it"
    # the at-boot violations that are violations now already are not repeated
    assert "at boot" not in cases(root)["leaky"].find("failure").text


def test_junit_system_out_carries_state_hazards_and_drift():
    hazards = [{"severity": "warning", "code": "nm_lo", "file": "/etc/NetworkManager/x.nmconnection", "line": 3,
                "message": "NetworkManager owns lo", "fix": "unmanage lo"},
               {"severity": "info", "code": "note", "file": None, "line": None, "message": "fyi", "fix": "none"}]
    drift = [{"name": "net.ipv4.conf.all.arp_ignore", "live": 1, "boot": 0, "basis": "kernel_default"}]
    root = junit([record("good", hazards=hazards, drift=drift)])
    assert cases(root)["good"].find("system-out").text.splitlines() == [
        "state=compliant mode=dr at_boot=compliant source=gathered",
        "hazard [warning] nm_lo /etc/NetworkManager/x.nmconnection:3: NetworkManager owns lo. Fix: unmanage lo",
        "hazard [info] note : fyi. Fix: none",
        "drift net.ipv4.conf.all.arp_ignore: live 1, boot 0 (kernel_default)",
    ]


PLANTED = 'a <b> & "c" \'d\' ]]> \x01\x1b end'


def test_junit_stays_well_formed_with_xml_special_characters():
    """Negative control: markup, quotes, a CDATA end and control characters in any text."""
    bad = violation("arp_ignore_leak", interface="e<0>", message=PLANTED, fix=PLANTED)
    records = [record('w&"<1>', state="non_compliant", violations=[bad]),
               report.build_record("x<2>", {"unreachable": True, "msg": PLANTED})]
    text = report.render_junit(report.summarize(records), records)
    root = ET.fromstring(text)  # raises on ill-formed XML
    tc = cases(root)
    failure = tc['w&"<1>'].find("failure")
    assert 'a <b> & "c" \'d\' ]]> \ufffd\ufffd end' in failure.text
    assert failure.text.count("e<0>") == 1
    assert tc["x<2>"].find("error").get("message") == "unreachable: " + PLANTED.replace("\x01", "\ufffd").replace("\x1b", "\ufffd")
    assert "\x01" not in text and "<b>" not in text


# -------------------------------------------------------------------- Markdown

def markdown(records, **switches):
    return report.render_markdown(report.summarize(records, **switches), records)


def test_markdown_summary_table_and_findings():
    lines = markdown(fleet()).splitlines()
    assert lines[:6] == [
        "# LVS real-server compliance",
        "",
        "4 host(s), 2 compliant, 0 non-compliant, 1 exposed, 1 unreachable, "
        "0 without data; 2 would not be compliant after a reboot.",
        "",
        "| Host | Status | Mode | ARP-facing | VIPs | Violations | At boot | Hazards | Drift |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    assert lines[6:10] == [
        "| down | **UNREACHABLE** | | | | Connection refused | | | |",
        "| good | compliant | dr | eth0 | 198.51.100.100 |  | compliant |  |  |",
        "| leaky | **EXPOSED** | dr | eth0 | 198.51.100.100 | vip_exposed, arp_ignore_leak(eth0) | exposed |  |  |",
        "| volatile | compliant | dr | eth0 | 198.51.100.100 |  | exposed |  |  |",
    ]
    assert lines[10:] == [
        "",
        "## Findings",
        "",
        "### leaky (exposed)",
        "- `vip_exposed`: VIP present while ARP would leak. Fix: set it",
        "- `arp_ignore_leak` on eth0: leaks. Fix: set it",
        "",
        "### volatile (compliant)",
        "- after a reboot: `vip_exposed`: VIP present while ARP would leak. Fix: set it",
        "- after a reboot: `arp_ignore_leak` on eth0: leaks. Fix: set it",
    ]


def test_markdown_without_findings_ends_with_the_table():
    text = markdown([record("good")])
    assert text.endswith("| good | compliant | dr | eth0 | 198.51.100.100 |  | compliant |  |  |\n")
    assert "Findings" not in text


def test_markdown_cells_escape_pipes_and_fold_newlines():
    hazard = {"severity": "error", "code": "a|b", "file": "/etc/x|y.conf", "line": 7, "message": "m", "fix": "f"}
    records = [record("w|1", violations=[violation("c|d", interface="e|0")], state="non_compliant", hazards=[hazard]),
               report.build_record("w|2", {"failed": True, "msg": "line 1 | x\nline 2"})]
    lines = markdown(records).splitlines()
    assert lines[6] == "| w\\|1 | non_compliant | dr | eth0 | 198.51.100.100 | c\\|d(e\\|0) | compliant | a\\|b |  |"
    assert lines[7] == "| w\\|2 | **ERROR** | | | | line 1 \\| x line 2 | | | |"
    # outside the table nothing is escaped
    assert "- hazard `a|b` (/etc/x|y.conf:7): m. Fix: f" in lines


def test_markdown_cached_status_and_info_hazards():
    info = {"severity": "info", "code": "note", "file": None, "line": None, "message": "fyi", "fix": "-"}
    records = [report.build_record("c", None, facts(hazards=[info]), from_cache=True),
               report.build_record("n", None, None, from_cache=True)]
    text = markdown(records)
    assert "| c | compliant (cached) | dr | eth0 | 198.51.100.100 |  | compliant |  |  |" in text
    assert "| n | **NO_DATA** | | | | no lvs_realserver facts in the fact cache | | | |" in text
    assert "Findings" not in text  # an info hazard is no finding


def test_markdown_shows_missing_text_as_nothing():
    bare = violation("arp_ignore_leak", message=None, fix=None)
    text = markdown([record("h", state="non_compliant", violations=[bare])])
    assert "- `arp_ignore_leak` on eth0: . Fix: \n" in text


def test_render_reports_returns_one_text_per_report_file():
    records = fleet()
    texts = report.render_reports(report.summarize(records), {}, records)
    assert set(texts) == set(report.REPORT_FILES)
    assert all(text.endswith("\n") for text in texts.values())


# ------------------------------------------------------------------------ wire

DIRECTOR = "52:54:00:00:00:01"
RS1 = "52:54:00:00:00:21"
ROGUE = "52:54:00:00:00:99"
VIP6 = "2001:db8:100::100"


def probe_result(*probes, mac=DIRECTOR):
    return {"changed": False, "interface": "eth0", "interface_mac": mac, "probes": list(probes)}


def probed(vip, responders=(), unsolicited=(), local=False):
    return {"vip": vip, "family": "ipv6" if ":" in vip else "ipv4", "source": "x", "local": local, "requests": 1,
            "responders": [{"mac": m, "count": 3, "first_seen": 0.001, "last_seen": 0.9} for m in responders],
            "unsolicited": [{"mac": m, "type": t, "count": 1, "first_seen": -0.2, "last_seen": -0.2}
                            for m, t in unsolicited]}


OWNERS = report.mac_owners({
    "rs1": {"eth0": {"device": "eth0", "macaddress": RS1.upper()}, "lo": {"device": "lo", "macaddress": "00:00:00:00:00:00"},
            "default_ipv4": {"macaddress": RS1}, "hostname": "rs1"},
    "dir": {"eth0": {"macaddress": DIRECTOR}},
    "nofacts": {},
})


def test_mac_owners_from_network_facts():
    assert OWNERS == {RS1: ["rs1"], DIRECTOR: ["dir"]}


def wire_of(*probes, director_macs=(), probe_host="dir"):
    return report.build_wire({probe_host: probe_result(*probes)}, list(director_macs), OWNERS)


def test_wire_names_managed_and_unknown_responders_and_sorts():
    wire = wire_of(probed(VIP6, [ROGUE]), probed(VIP, [ROGUE, RS1, DIRECTOR], [(RS1, "gratuitous_arp_request")]),
                   probed("198.51.100.9"))
    assert wire["director_macs"] == [DIRECTOR]            # the probe interface's own MAC by default
    assert [v["vip"] for v in wire["vips"]] == ["198.51.100.9", VIP, VIP6]
    assert wire["vips"][0] == {"vip": "198.51.100.9", "answered_by": [], "local_to": []}
    assert wire["vips"][1]["answered_by"] == [
        {"mac": DIRECTOR, "host": "dir", "director": True, "how": ["reply"]},
        {"mac": RS1, "host": "rs1", "director": False, "how": ["gratuitous_arp_request", "reply"]},
        {"mac": ROGUE, "host": "unknown", "director": False, "how": ["reply"]},
    ]
    assert [(v["code"], v["vip"], v["mac"], v["host"], v["hosts"]) for v in wire["violations"]] == [
        ("vip_answered_by", VIP, RS1, "rs1", ["rs1"]),
        ("vip_answered_by", VIP, ROGUE, "unknown", []),
        ("vip_answered_by", VIP6, ROGUE, "unknown", []),
    ]
    assert "apply lvs.realserver.realserver to rs1" in wire["violations"][0]["fix"]
    assert "switch forwarding table" in wire["violations"][1]["fix"]
    # no counts or times: they change while the fleet does not
    assert "count" not in json.dumps(wire) and "first_seen" not in json.dumps(wire)


def test_wire_compliant_fleet_has_no_violation():
    """Negative control: only the director answers."""
    wire = wire_of(probed(VIP, [DIRECTOR]), probed(VIP6, [DIRECTOR]))
    assert wire["violations"] == []
    summary = report.summarize([record("rs1")], wire=wire)
    assert (summary["vip_answered_by"], summary["probe_errors"], summary["fleet_failing"]) == (0, 0, [])


def test_wire_director_macs_for_a_keepalived_pair_and_local_vips():
    backup = "52:54:00:00:00:02"
    wire = report.build_wire({"dir": probe_result(probed(VIP, [backup], local=True))}, [DIRECTOR, backup], OWNERS)
    assert wire["violations"] == []
    assert wire["vips"][0]["local_to"] == ["dir"]
    assert [a["how"] for a in wire["vips"][0]["answered_by"]] == [["local"], ["reply"]]
    # the same answer without the backup in the director MACs is a violation
    wire = report.build_wire({"dir": probe_result(probed(VIP, [backup], local=True))}, [DIRECTOR], OWNERS)
    assert [v["mac"] for v in wire["violations"]] == [backup]


def test_wire_failed_probe_counts_when_unreachable_hosts_fail():
    wire = report.build_wire({"dir": {"failed": True, "msg": "no permission"}, "dir2": {"unreachable": True}}, [],
                             OWNERS)
    assert [(p["host"], p["status"], p["msg"]) for p in wire["probes"]] == [
        ("dir", "error", "no permission"), ("dir2", "unreachable", "unreachable")]
    assert report.summarize([], wire=wire)["fleet_failing"] == [
        "probe_failed dir: no permission", "probe_failed dir2: unreachable"]
    assert report.summarize([], fail_on_unreachable=False, wire=wire)["fleet_failing"] == []


def test_wire_in_the_three_reports():
    records = [record("rs1")]
    wire = wire_of(probed(VIP, [DIRECTOR, RS1]), probed(VIP6, [DIRECTOR, ROGUE]), probed("198.51.100.9"))
    summary = report.summarize(records, wire=wire)
    assert summary["fleet_failing"] == ["vip_answered_by %s %s (rs1)" % (VIP, RS1),
                                        "vip_answered_by %s %s (unknown)" % (VIP6, ROGUE)]
    texts = report.render_reports(summary, {}, records, wire)
    assert json.loads(texts["json"])["wire"] == wire
    root = ET.fromstring(texts["junit"])
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "0")
    suite = root.findall("testsuite")[1]
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (report.WIRE_SUITE, "3", "2")
    failure = cases(root)["vip %s" % VIP].find("failure")
    assert (failure.get("type"), failure.get("message")) == ("vip_answered_by", "%s (rs1)" % RS1)
    assert [c.tag for c in cases(root)["vip 198.51.100.9"]] == ["system-out"]
    lines = texts["markdown"].splitlines()
    assert lines[2].endswith("Wire: 3 VIP(s) probed, 2 answered by a MAC that is not a director's, 0 failed probe(s).")
    assert "| %s | %s (dir, director: reply), %s (rs1: reply) | **vip_answered_by** |" % (VIP, DIRECTOR, RS1) in lines
    assert "| 198.51.100.9 |  | no answer |" in lines
    assert "- `vip_answered_by` %s: %s (unknown) seen as reply. Fix: find the host with MAC %s (switch forwarding " \
           "table), and make it a safe real server or take %s off it" % (VIP6, ROGUE, ROGUE, VIP6) in lines


# ------------------------------------------------------------ runtime skipped

MISSING = violation("vip_missing", interface=None, key=None, expected="present", actual="absent",
                    message="an expected VIP is not configured")


def unprivileged(host, at_boot_violations=()):
    """A host whose runtime was skipped: nothing live (VIP missing now), judged by its boot view."""
    f = facts(state="non_compliant", violations=[MISSING, LEAK], at_boot_violations=at_boot_violations, vips=())
    f["runtime"] = "skipped"
    return record(host, f)


def test_runtime_skipped_hosts_compliant_at_boot_are_not_violations_when_accepted():
    records = report.accept_runtime_skipped(report.sort_records(
        [unprivileged("ci"), unprivileged("ci-bad", at_boot_violations=[LEAK]), record("good")]))
    assert [(r["host"], r["status"]) for r in records] == [
        ("ci", "runtime_skipped"), ("ci-bad", "non_compliant"), ("good", "compliant")]
    s = report.summarize(records)
    assert (s["runtime_skipped"], s["non_compliant"], s["compliant"], s["failing"]) == (1, 1, 1, ["ci-bad"])
    table = report.render_markdown(s, records)
    assert "| ci | runtime: skipped | dr |" in table
    assert "### ci (" not in table and "### ci-bad (non_compliant)" in table
    junit = report.render_junit(s, records)
    assert 'failures="1"' in junit


def test_runtime_skipped_hosts_stay_violations_unless_accepted():
    """Negative control: without the option the same host fails on its violations of now."""
    records = [unprivileged("ci")]
    assert report.summarize(records)["failing"] == ["ci"]
    assert report.accept_runtime_skipped([record("good")])[0]["status"] == "compliant"
