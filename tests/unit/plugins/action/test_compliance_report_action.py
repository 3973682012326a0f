# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The compliance_report action: options, hostvars, atomic writes, check and diff mode."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from unittest.mock import MagicMock

import pytest

from ansible_collections.lvs.realserver.plugins.action import compliance_report as action

T = "2026-11-26T13:30:00Z"
NAMES = ("compliance.json", "compliance.xml", "compliance.md")
STAMP = "compliance.checked.json"


def lvs_facts(state="compliant", message="leaks"):
    violations = [] if state == "compliant" else [{
        "code": "arp_ignore_leak", "severity": "error", "interface": "eth0", "key": "arp_ignore",
        "expected": "1 or 2", "actual": 0, "message": message, "fix": "set net.ipv4.conf.all.arp_ignore = 1"}]
    return {"state": state, "mode": "dr", "collected_at": T, "arp_facing": ["eth0"],
            "vips": [{"local": "198.51.100.100"}], "violations": violations,
            "at_boot": {"compliant": not violations, "state": state, "violations": violations},
            "hazards": [], "drift": []}


def gathered(state="compliant", message="leaks"):
    return {"changed": False, "ansible_facts": {"lvs_realserver": lvs_facts(state, message)}}


def task_vars(**hosts):
    """hostvars of the given hosts ({name: vars}); the play's hosts are all of them."""
    return {"hostvars": hosts, "ansible_play_hosts_all": list(hosts)}


def fleet_vars(message="leaks"):
    return task_vars(
        good={"__lvs_compliance_gather": gathered()},
        bad={"__lvs_compliance_gather": gathered("non_compliant", message)},
        down={"__lvs_compliance_gather": {"unreachable": True, "msg": "Connection refused"}},
    )


@pytest.fixture
def umask():
    """A strict umask, so that the modes written are the action's own."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def run(args, variables, check_mode=False, diff=False, now=lambda: T, stage_file=None):
    """The action run on ``args`` and ``variables``, its clock ``now`` (and ``stage_file``, if given) passed in."""
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = "lvs.realserver.compliance_report"
    plugin = action.ActionModule(task=task, connection=MagicMock(), play_context=MagicMock(), loader=MagicMock(),
                                 templar=MagicMock(), shared_loader_obj=MagicMock())
    plugin.now = now
    if stage_file is not None:
        plugin.stage_file = stage_file
    return plugin.run(task_vars=variables)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def snapshot(directory):
    """{name: (bytes, mtime_ns)} of the reports in directory (the stamp is rewritten by every run)."""
    return dict((p.name, (p.read_bytes(), p.stat().st_mtime_ns)) for p in sorted(directory.iterdir())
                if p.name != STAMP)


def test_writes_the_three_reports_and_returns_the_verdicts(tmp_path, umask):
    out = tmp_path / "a" / "reports"
    result = run({"dir": str(out)}, fleet_vars())
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert sorted(os.listdir(str(out))) == sorted(NAMES + (STAMP,))  # no temporary file left behind
    assert mode_of(out) == 0o755 and mode_of(out.parent) == 0o755
    assert all(mode_of(out / name) == 0o644 for name in NAMES)
    assert result["paths"] == {"json": str(out / "compliance.json"), "junit": str(out / "compliance.xml"),
                               "markdown": str(out / "compliance.md")}
    assert sorted(result["changed_files"]) == sorted(str(out / n) for n in NAMES)
    assert result["failing"] == ["bad", "down"] == result["summary"]["failing"]
    assert result["policy"] == {"fail": True, "fail_on_unreachable": True, "fail_on_boot": False}
    assert (result["checked_at"], result["dir"], result["stamp"]) == (T, str(out), str(out / STAMP))
    assert json.loads((out / STAMP).read_text()) == {
        "checked_at": T, "reports_changed_at": T, "collected_at": {"bad": T, "good": T}}

    data = json.loads((out / "compliance.json").read_text())
    assert "generated_at" not in data and data["summary"] == result["summary"]
    statuses = dict((h["host"], h["status"]) for h in data["hosts"])
    assert statuses == {"bad": "non_compliant", "down": "unreachable", "good": "compliant"}
    assert ET.parse(str(out / "compliance.xml")).getroot().get("failures") == "1"
    markdown = (out / "compliance.md").read_text()
    assert result["markdown_lines"] == markdown.splitlines()
    assert "| down | **UNREACHABLE** | | | | Connection refused | | | |" in result["markdown_lines"]


def test_an_unchanged_report_is_left_alone(tmp_path):
    run({"dir": str(tmp_path)}, fleet_vars())
    for name in NAMES:
        os.utime(str(tmp_path / name), ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(tmp_path)
    result = run({"dir": str(tmp_path)}, fleet_vars())
    assert (result["changed"], result["changed_files"]) == (False, [])
    assert snapshot(tmp_path) == before


def test_an_unchanged_fleet_later_rewrites_nothing_but_the_stamp(tmp_path):
    """Issue 17 item 4: a later check of the same fleet (new collected_at, new clock) changes no report."""
    run({"dir": str(tmp_path)}, fleet_vars())
    for name in NAMES:
        os.utime(str(tmp_path / name), ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(tmp_path)
    later = "2026-12-03T10:00:00Z"
    variables = fleet_vars()
    for host in variables["hostvars"].values():
        facts = host["__lvs_compliance_gather"].get("ansible_facts", {}).get("lvs_realserver")
        if facts:
            facts["collected_at"] = later
    result = run({"dir": str(tmp_path)}, variables, now=lambda: later)
    assert (result["changed"], result["changed_files"], result["checked_at"]) == (False, [], later)
    assert snapshot(tmp_path) == before
    assert json.loads((tmp_path / STAMP).read_text()) == {
        "checked_at": later, "reports_changed_at": T, "collected_at": {"bad": later, "good": later}}


def test_a_new_verdict_rewrites_only_what_differs(tmp_path):
    """Negative control for the test above: the same run with one host changed does write."""
    run({"dir": str(tmp_path)}, fleet_vars())
    for name in NAMES:
        os.utime(str(tmp_path / name), ns=(1_000_000_000, 1_000_000_000))
    result = run({"dir": str(tmp_path), "hosts": ["good"]}, fleet_vars())
    assert result["changed"] is True
    assert all(p.stat().st_mtime_ns != 1_000_000_000 for p in tmp_path.iterdir())
    assert json.loads((tmp_path / "compliance.json").read_text())["summary"]["hosts"] == 1


def test_a_wrong_mode_alone_is_fixed(tmp_path):
    run({"dir": str(tmp_path)}, fleet_vars())
    os.chmod(str(tmp_path / "compliance.md"), 0o600)
    result = run({"dir": str(tmp_path)}, fleet_vars())
    assert result["changed_files"] == [str(tmp_path / "compliance.md")]
    assert mode_of(tmp_path / "compliance.md") == 0o644


def test_check_mode_writes_nothing_and_says_what_would_change(tmp_path):
    out = tmp_path / "reports"
    result = run({"dir": str(out)}, fleet_vars(), check_mode=True)
    assert result["changed"] is True
    assert sorted(result["changed_files"]) == sorted(str(out / n) for n in NAMES)
    assert not out.exists()
    assert result["failing"] == ["bad", "down"]


def test_check_mode_on_an_up_to_date_directory_changes_nothing(tmp_path):
    run({"dir": str(tmp_path)}, fleet_vars())
    result = run({"dir": str(tmp_path)}, fleet_vars(), check_mode=True)
    assert result["changed"] is False


def test_diff_mode_shows_before_and_after(tmp_path):
    run({"dir": str(tmp_path)}, fleet_vars())
    result = run({"dir": str(tmp_path), "hosts": ["good", "bad"]}, fleet_vars(), diff=True)
    diffs = dict((d["after_header"], d) for d in result["diff"])
    assert set(diffs) == set(result["changed_files"])
    md = diffs[str(tmp_path / "compliance.md")]
    assert "**UNREACHABLE**" in md["before"] and "**UNREACHABLE**" not in md["after"]
    assert "diff" not in run({"dir": str(tmp_path)}, fleet_vars())


@pytest.mark.parametrize("args, words", [
    ({}, ["dir"]),
    ({"dir": "DIR", "fail": "maybe"}, ["fail", "maybe"]),
    ({"dir": "DIR", "fail_on_boot": "sometimes"}, ["fail_on_boot", "sometimes"]),
    ({"dir": "DIR", "from_cache": [1]}, ["from_cache"]),
    ({"dir": "DIR", "colour": "red"}, ["colour"]),
    ({"dir": "DIR", "gather_var": "not a name"}, ["gather_var", "'not a name'"]),
    ({"dir": "DIR", "hosts": ["good", "ghost"]}, ["hosts", "'ghost'"]),
    ({"dir": "DIR", "probe_hosts": ["ghost"]}, ["probe_hosts", "'ghost'"]),
    ({"dir": "DIR", "probe_var": "a-b"}, ["probe_var", "'a-b'"]),
    ({"dir": "DIR", "director_macs": ["52:54:00:00:00:01", "52:54:00:zz:00:02"]},
     ["director_macs", "'52:54:00:zz:00:02'", "is not a MAC address"]),
    ({"dir": ""}, ["dir"]),
    ({"dir": "FILE"}, ["dir", "not a directory"]),
])
def test_bad_options_fail_naming_option_and_value_and_write_nothing(tmp_path, args, words):
    out = tmp_path / "reports"
    afile = tmp_path / "a-file"
    afile.write_text("x")
    args = dict((k, {"DIR": str(out), "FILE": str(afile)}.get(v, v) if isinstance(v, str) else v)
                for k, v in args.items())
    result = run(args, fleet_vars())
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"], result["msg"]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_failed_write_replaces_no_report(tmp_path):
    """Every file is staged before the first is replaced: a failure while staging leaves the old reports."""
    run({"dir": str(tmp_path)}, fleet_vars())
    before = snapshot(tmp_path)
    real_stage = action.stage
    calls = []

    def failing_stage(directory, name, data):
        calls.append(name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_stage(directory, name, data)

    result = run({"dir": str(tmp_path), "hosts": ["good"]}, fleet_vars(), stage_file=failing_stage)
    assert result["failed"] is True and "No space left on device" in result["msg"] and str(tmp_path) in result["msg"]
    assert snapshot(tmp_path) == before  # the first staged file was removed, nothing was replaced


def test_xml_special_characters_in_a_violation_keep_the_junit_well_formed(tmp_path):
    planted = 'value <0> & "1" \'2\' ]]> \x07'
    run({"dir": str(tmp_path)}, fleet_vars(message=planted))
    root = ET.parse(str(tmp_path / "compliance.xml")).getroot()
    failure = next(tc for tc in root.iter("testcase") if tc.get("name") == "bad").find("failure")
    assert 'value <0> & "1" \'2\' ]]> \ufffd' in failure.text


def test_from_cache_reads_ansible_facts(tmp_path):
    variables = task_vars(
        good={"ansible_facts": {"lvs_realserver": lvs_facts()}, "__lvs_compliance_gather": {"skipped": True}},
        empty={"ansible_facts": {}, "__lvs_compliance_gather": {"skipped": True}},
    )
    result = run({"dir": str(tmp_path), "from_cache": True}, variables)
    hosts = json.loads((tmp_path / "compliance.json").read_text())["hosts"]
    assert [(h["host"], h["status"], h["source"]) for h in hosts] == [("empty", "no_data", "cache"),
                                                                      ("good", "compliant", "cache")]
    assert result["summary"]["error"] == 1


def test_a_host_without_the_registered_result_is_an_error(tmp_path):
    variables = task_vars(good={"__lvs_compliance_gather": gathered()}, other={})
    result = run({"dir": str(tmp_path)}, variables)
    hosts = dict((h["host"], h) for h in json.loads((tmp_path / "compliance.json").read_text())["hosts"])
    assert hosts["other"]["status"] == "error"
    assert "__lvs_compliance_gather" in hosts["other"]["msg"]
    assert result["failing"] == ["other"]


def test_gather_var_and_policy_switches(tmp_path):
    variables = task_vars(good={"mine": gathered()}, down={"mine": {"unreachable": True, "msg": "timeout"}})
    result = run({"dir": str(tmp_path), "gather_var": "mine", "fail": "no", "fail_on_unreachable": False,
                  "fail_on_boot": "yes"}, variables)
    assert result["failing"] == []
    assert result["policy"] == {"fail": False, "fail_on_unreachable": False, "fail_on_boot": True}
    assert json.loads((tmp_path / "compliance.json").read_text())["policy"] == result["policy"]


@pytest.mark.parametrize("value", [True, False, "yes"])
def test_fail_is_deprecated_with_a_warning_whenever_it_is_given(tmp_path, value):
    result = run({"dir": str(tmp_path), "fail": value}, fleet_vars())
    assert [(d["version"], d["collection_name"]) for d in result["deprecations"]] == [("2.0.0", "lvs.realserver")]
    message = result["deprecations"][0]["msg"]
    assert "option fail is deprecated" in message and "ansible.builtin.fail" in message and "failing" in message
    # it still does nothing to the task: failing hosts do not fail it, and the value is only recorded
    assert not result.get("failed") and result["failing"] == ["bad", "down"]
    assert result["policy"]["fail"] is (value in (True, "yes"))


def test_no_deprecation_warning_without_fail(tmp_path):
    result = run({"dir": str(tmp_path)}, fleet_vars())
    assert "deprecations" not in result
    assert result["policy"]["fail"] is True  # the default is still recorded until the option is removed


def test_a_relative_dir_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    result = run({"dir": "reports"}, fleet_vars())
    assert result["dir"] == str(tmp_path / "reports")
    assert (tmp_path / "reports" / "compliance.md").is_file()


def test_the_action_needs_no_connection():
    assert action.ActionModule._requires_connection is False
    assert action.ActionModule.TRANSFERS_FILES is False
    # the edges the tests replace on the instance are the real ones by default
    assert (action.ActionModule.now, action.ActionModule.stage_file) == (action.utc_now, action.stage)


DIRECTOR = "52:54:00:00:00:01"
LEAKER = "52:54:00:00:00:21"


def probe(*responders):
    return {"changed": False, "interface": "eth0", "interface_mac": DIRECTOR, "probes": [
        {"vip": "198.51.100.100", "family": "ipv4", "source": "198.51.100.2", "local": False, "requests": 1,
         "responders": [{"mac": m, "count": 1, "first_seen": 0.001, "last_seen": 0.001} for m in responders],
         "unsolicited": []}]}


def wire_vars(*responders, cached=False):
    variables = fleet_vars()
    variables["hostvars"]["good"]["ansible_facts"] = {"eth0": {"macaddress": LEAKER}}
    director = {"ansible_facts": {"eth0": {"macaddress": DIRECTOR}}}
    if cached:
        director["ansible_facts"]["lvs_realserver_probe"] = probe(*responders)
    else:
        director["__lvs_compliance_probe"] = probe(*responders)
    variables["hostvars"]["director"] = director        # in the inventory, not a checked host
    return variables


def test_wire_stage_maps_macs_to_inventory_hosts(tmp_path):
    result = run({"dir": str(tmp_path), "probe_hosts": ["director"]}, wire_vars(DIRECTOR, LEAKER, "02:00:00:00:00:07"))
    assert result["fleet_failing"] == ["vip_answered_by 198.51.100.100 02:00:00:00:00:07 (unknown)",
                                       "vip_answered_by 198.51.100.100 %s (good)" % LEAKER]
    assert result["summary"]["vip_answered_by"] == 2
    wire = json.loads((tmp_path / "compliance.json").read_text())["wire"]
    assert [(a["mac"], a["host"], a["director"]) for a in wire["vips"][0]["answered_by"]] == [
        ("02:00:00:00:00:07", "unknown", False), (DIRECTOR, "director", True), (LEAKER, "good", False)]
    # the same answers with the leaker named as a director (a keepalived pair) are no violation
    result = run({"dir": str(tmp_path), "probe_hosts": ["director"], "director_macs": [DIRECTOR, LEAKER.upper()]},
                 wire_vars(DIRECTOR, LEAKER))
    assert result["fleet_failing"] == [] and result["summary"]["vip_answered_by"] == 0


def test_wire_stage_only_director_answers(tmp_path):
    """Negative control: the director alone."""
    result = run({"dir": str(tmp_path), "probe_hosts": ["director"]}, wire_vars(DIRECTOR))
    assert result["fleet_failing"] == [] and result["summary"]["vips_probed"] == 1


def test_wire_stage_from_the_cache_and_without_a_probe_result(tmp_path):
    result = run({"dir": str(tmp_path), "probe_hosts": ["director"], "from_cache": True},
                 wire_vars(LEAKER, cached=True))
    assert result["fleet_failing"] == ["vip_answered_by 198.51.100.100 %s (good)" % LEAKER]
    result = run({"dir": str(tmp_path), "probe_hosts": ["director"]}, wire_vars(LEAKER, cached=True))
    assert result["fleet_failing"] == ["probe_failed director: no result registered as __lvs_compliance_probe "
                                       "for this host"]


def test_without_probe_hosts_there_is_no_wire_section(tmp_path):
    result = run({"dir": str(tmp_path)}, wire_vars(LEAKER))
    assert result["fleet_failing"] == [] and "vip_answered_by" not in result["summary"]
    assert "wire" not in json.loads((tmp_path / "compliance.json").read_text())


def test_accept_runtime_skipped_reports_file_only_hosts_compliant_at_boot(tmp_path):
    ci = gathered("non_compliant")
    at_boot = {"compliant": True, "state": "compliant", "violations": []}
    ci["ansible_facts"]["lvs_realserver"].update(runtime="skipped", at_boot=at_boot)
    variables = task_vars(ci={"__lvs_compliance_gather": ci}, good={"__lvs_compliance_gather": gathered()})
    plain = run({"dir": str(tmp_path / "a")}, variables)
    assert plain["failing"] == ["ci"]  # negative control: by default a violation
    accepted = run({"dir": str(tmp_path / "b"), "accept_runtime_skipped": True}, variables)
    assert accepted["failing"] == [] and accepted["summary"]["runtime_skipped"] == 1
    assert "| ci | runtime: skipped |" in (tmp_path / "b" / "compliance.md").read_text()
