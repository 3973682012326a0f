# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.realserver.verdict: the role's verify kit asserts converge's verdict through it, not a Jinja copy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.realserver.plugins.filter import verdict as verdict_filter

LEAK = {"code": "arp_ignore_leak", "severity": "error", "interface": "eth0", "key": "arp_ignore", "actual": 0,
        "expected": "1 or 2", "message": "the kernel answers ARP for every local address", "fix": "set arp_ignore = 1"}
COMPLIANT = {"compliant": True, "state": "compliant", "violations": [], "runtime": "applied", "runtime_reasons": [],
             "at_boot": {"compliant": True, "state": "compliant", "violations": []}}
VERIFY = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "realserver", "tasks", "verify.yml")


def test_the_filter_is_registered_under_its_name():
    assert verdict_filter.FilterModule().filters() == {"verdict": verdict_filter.verdict}


def test_a_compliant_host_gets_the_success_line_with_duplicates_counted_once():
    judged = verdict_filter.verdict(COMPLIANT, ["192.0.2.10", "192.0.2.10/32", "2001:db8::10"], "lo")
    assert judged == dict(holds=True, state="compliant", violations=[], failure=[],
                          success="Compliant: 2 VIP(s) on lo, no ARP leak now or after the next boot.")


def test_a_leak_at_boot_fails_with_one_line_per_violation():
    facts = dict(COMPLIANT, at_boot={"compliant": False, "state": "exposed", "violations": [LEAK]})
    judged = verdict_filter.verdict(facts, ["192.0.2.10"])
    assert judged["holds"] is False and judged["state"] == "exposed"
    assert judged["failure"] == [
        "Not compliant: state now compliant, after the next boot exposed; 1 violation(s):",
        "after the next boot: arp_ignore_leak (error) on eth0 arp_ignore=0, expected 1 or 2: the kernel answers ARP "
        "for every local address; fix: set arp_ignore = 1"]
    assert verdict_filter.verdict(facts, ["192.0.2.10"], on_conflict="warn")["holds"] is True


@pytest.mark.parametrize("facts, args, fragment", [
    ({"compliant": True}, (["192.0.2.10"],), "must be ansible_facts.lvs_realserver"),
    ("compliant", (["192.0.2.10"],), "must be ansible_facts.lvs_realserver"),
    (COMPLIANT, (["192.0.2.10"], "lo", "ignore"), "on_conflict must be fail or warn, got 'ignore'"),
], ids=["no-at-boot", "not-a-dict", "on-conflict"])
def test_bad_input_is_a_filter_error_naming_it(facts, args, fragment):
    with pytest.raises(AnsibleFilterError) as info:
        verdict_filter.verdict(facts, *args)
    assert fragment in str(info.value)


def test_the_verify_kit_asserts_the_filter_and_judges_nothing_itself():
    tasks = yaml.safe_load(open(VERIFY).read())
    (check,) = [t for t in tasks if "ansible.builtin.assert" in t]
    text = yaml.safe_dump(check)
    assert check["ansible.builtin.assert"]["that"] == ["__realserver_verdict['holds']"]
    assert "lvs.realserver.verdict(" in check["vars"]["__realserver_verdict"]
    for rejudged in ("['compliant']", "at_boot", "map('combine'", "violations"):
        assert rejudged not in text, rejudged


def test_the_documentation_names_the_options_of_the_function():
    doc = yaml.safe_load(open(os.path.splitext(verdict_filter.__file__)[0] + ".yml").read())["DOCUMENTATION"]
    assert set(doc["options"]) == {"_input", "vips", "device", "on_conflict"}
    # every description line is text (an unquoted "C(tasks_from: verify)" once made one a mapping)
    assert all(isinstance(line, str) for line in doc["description"]), doc["description"]
