# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure pieces of the ``lvs.realserver.compliance_report`` action.

From each host's ``arp_facts`` result (or cached ``lvs_realserver`` facts) to
a record, from the records to the summary and the list of failing hosts, and
from those to the three report texts (JSON, JUnit XML, Markdown). No I/O: the
action reads ``hostvars`` and writes the files.

A record is ``{host, status, msg, source, facts}``; ``status`` is the host's
verdict (``compliant``, ``non_compliant``, ``exposed``) or why there is none
(``unreachable``, ``error``, ``no_data``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

VERDICTS = ("compliant", "non_compliant", "exposed")
NO_VERDICT = ("unreachable", "error", "no_data")
BAD_NOW = ("non_compliant", "exposed")
# A host whose runtime was skipped (unprivileged container) and that is compliant at its next boot,
# when the report is asked to accept that (accept_runtime_skipped).
RUNTIME_SKIPPED = "runtime_skipped"

# Report kind -> file name inside the report directory.
REPORT_FILES = {"json": "compliance.json", "junit": "compliance.xml", "markdown": "compliance.md"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SUITE = "lvs.realserver.compliance"
NO_CACHED_FACTS = "no lvs_realserver facts in the fact cache"

# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def plain(value):
    """A deep copy of ``value`` made of dict, list, str, int, float, bool and None only.

    Host variables arrive as ansible-core's own (tagged, lazily templated)
    containers and strings; the reports only ever see plain data.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _mapping(value):
    return value if isinstance(value, Mapping) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _at_boot(facts):
    return _mapping(facts.get("at_boot"))


def build_record(host, result, cached_facts=None, from_cache=False):
    """The report record of one host.

    ``result`` is the host's registered ``arp_facts`` result; with
    ``from_cache`` the facts are ``cached_facts`` (the host's
    ``ansible_facts['lvs_realserver']``) instead.
    """
    result = _mapping(result)
    if from_cache:
        facts = _mapping(cached_facts)
    else:
        facts = _mapping(_mapping(result.get("ansible_facts")).get("lvs_realserver"))
    if result.get("unreachable"):
        status = "unreachable"
    elif facts.get("state") in VERDICTS:
        status = facts["state"]
    else:
        status = "no_data" if from_cache else "error"
    if status in ("unreachable", "error"):
        msg = result.get("msg", "unreachable")
    elif status == "no_data":
        msg = NO_CACHED_FACTS
    else:
        msg = ""
    return {"host": host, "status": status, "msg": msg, "source": "cache" if from_cache else "gathered", "facts": facts}


def accept_runtime_skipped(records):
    """The records with ``status: runtime_skipped`` for the hosts whose runtime was skipped
    (``facts.runtime == 'skipped'``) and that are compliant at their next boot; the others as they are."""
    return [dict(r, status=RUNTIME_SKIPPED) if r["status"] in VERDICTS and r["facts"].get("runtime") == "skipped"
            and _at_boot(r["facts"]).get("compliant") else r for r in records]


def _host_order(host):
    return (host.lower(), host)


def sort_records(records):
    """Records by host name, case-insensitively (as the reports list them)."""
    return sorted(records, key=lambda r: _host_order(r["host"]))


def _hosts_with(records, statuses):
    return [r["host"] for r in records if r["status"] in statuses]


def bad_at_boot(records):
    """Hosts with a verdict that would not be compliant after a reboot."""
    return [r["host"] for r in records if r["status"] in VERDICTS and not _at_boot(r["facts"]).get("compliant")]


def summarize(records, fail_on_unreachable=True, fail_on_boot=False):
    """The ``summary`` of the reports; its ``failing`` hosts make the run fail."""
    failing = _hosts_with(records, BAD_NOW)
    if fail_on_unreachable:
        failing += _hosts_with(records, NO_VERDICT)
    at_boot = bad_at_boot(records)
    if fail_on_boot:
        failing += at_boot

    def count(*statuses):
        return len(_hosts_with(records, statuses))

    return {
        "hosts": len(records),
        "compliant": count("compliant"),
        "non_compliant": count("non_compliant"),
        "exposed": count("exposed"),
        "unreachable": count("unreachable"),
        "error": count("error", "no_data"),
        "runtime_skipped": count(RUNTIME_SKIPPED),
        "non_compliant_at_boot": len(at_boot),
        "failing": sorted(set(failing), key=_host_order),
    }


def _unique(values):
    return list(dict.fromkeys(values))


def _text(value):
    """``value`` as report text: None, numbers and lists the way Jinja's ``~`` shows them."""
    return value if isinstance(value, str) else str(value)


def _only_at_boot(facts):
    """The at-boot violations that are not already violations now (same code, same interface)."""
    now = set((v.get("code"), v.get("interface")) for v in _list(facts.get("violations")))
    return [v for v in _list(_at_boot(facts).get("violations")) if (v.get("code"), v.get("interface")) not in now]


def _raised_hazards(facts):
    return [h for h in _list(facts.get("hazards")) if h.get("severity") != "info"]


# ----------------------------------------------------------------------- JSON

def render_json(generated_at, summary, policy, records):
    """The JSON report: keys sorted, two-space indent, ASCII only."""
    document = {"generated_at": generated_at, "summary": summary, "policy": policy, "hosts": records}
    return json.dumps(document, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


# ---------------------------------------------------------------------- JUnit

def _xml(value):
    """Text XML can carry: characters it cannot represent at all become U+FFFD (escaping is ElementTree's job)."""
    return _NOT_XML.sub("\ufffd", _text(value))


def _failure_lines(facts):
    lines = []
    for v in _list(facts.get("violations")):
        lines.append("[%s] %s %s: expected %s, actual %s. %s. Fix: %s" % (
            _text(v.get("code")), _text(v.get("interface") or "-"), _text(v.get("key") or ""),
            _text(v.get("expected")), _text(v.get("actual")), _text(v.get("message")), _text(v.get("fix"))))
    for v in _only_at_boot(facts):
        lines.append("[at boot: %s] %s %s: expected %s, actual %s. Fix: %s" % (
            _text(v.get("code")), _text(v.get("interface") or "-"), _text(v.get("key") or ""),
            _text(v.get("expected")), _text(v.get("actual")), _text(v.get("fix"))))
    return lines


def _system_out_lines(record):
    facts = record["facts"]
    lines = ["state=%s mode=%s at_boot=%s source=%s collected_at=%s" % (
        record["status"], _text(facts.get("mode")), _text(_at_boot(facts).get("state")), record["source"],
        _text(facts.get("collected_at")))]
    for h in _list(facts.get("hazards")):
        where = _text(h.get("file") or "") + (":" + _text(h["line"]) if h.get("line") else "")
        lines.append("hazard [%s] %s %s: %s. Fix: %s" % (
            _text(h.get("severity")), _text(h.get("code")), where, _text(h.get("message")), _text(h.get("fix"))))
    for d in _list(facts.get("drift")):
        lines.append("drift %s: live %s, boot %s (%s)" % (
            _text(d.get("name")), _text(d.get("live")), _text(d.get("boot")), _text(d.get("basis"))))
    return lines


def _testcase(record, failing):
    case = ET.Element("testcase", classname=SUITE, name=_xml(record["host"]))
    status, msg = record["status"], record["msg"]
    if status in NO_VERDICT:
        message = _xml("%s: %s" % (status, _text(msg)))
        if failing:
            ET.SubElement(case, "error", type=status, message=message).text = _xml(msg)
        else:
            ET.SubElement(case, "skipped", message=message)
        return case
    facts = record["facts"]
    if failing:
        boot_only = status == "compliant"
        violations = _at_boot(facts).get("violations") if boot_only else facts.get("violations")
        failure = ET.SubElement(case, "failure", type="non_compliant_at_boot" if boot_only else status,
                                message=_xml(", ".join(_unique(_text(v.get("code")) for v in _list(violations)))))
        failure.text = _xml("".join("\n" + line for line in _failure_lines(facts)) + "\n")
    ET.SubElement(case, "system-out").text = _xml("".join(line + "\n" for line in _system_out_lines(record)))
    return case


def render_junit(generated_at, summary, records):
    """The JUnit XML report: one test case per host; failures and errors are the failing hosts."""
    failing = set(summary["failing"])
    no_verdict = _hosts_with(records, NO_VERDICT)
    errors = len([h for h in no_verdict if h in failing])
    counts = {
        "tests": str(len(records)),
        "failures": str(len(failing) - errors),
        "errors": str(errors),
        "skipped": str(len(no_verdict) - errors),
        "timestamp": generated_at,
    }
    suites = ET.Element("testsuites", name=SUITE, **counts)
    suite = ET.SubElement(suites, "testsuite", name=SUITE, **counts)
    for record in records:
        suite.append(_testcase(record, record["host"] in failing))
    ET.indent(suites, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# ------------------------------------------------------------------- Markdown

def _shown(value):
    """``value`` as Markdown text; None shows as nothing."""
    return "" if value is None else _text(value)


def _cell(value):
    """A Markdown table cell: ``|`` escaped, newlines folded."""
    return _shown(value).replace("|", "\\|").replace("\n", " ")


def _joined(values):
    return ", ".join(_text(v) for v in values)


def _row(record):
    if record["status"] in NO_VERDICT:
        return "| %s | **%s** | | | | %s | | | |" % (_cell(record["host"]), record["status"].upper(), _cell(record["msg"]))
    facts = record["facts"]
    status = {"exposed": "**EXPOSED**", RUNTIME_SKIPPED: "runtime: skipped"}.get(record["status"], record["status"])
    if record["source"] == "cache":
        status += " (cached)"
    violations = [_shown(v.get("code")) + ("(%s)" % _text(v["interface"]) if v.get("interface") else "")
                  for v in _list(facts.get("violations"))]
    cells = [
        record["host"],
        status,
        facts.get("mode"),
        _joined(_list(facts.get("arp_facing"))),
        _joined(v.get("local") for v in _list(facts.get("vips"))),
        _joined(violations),
        _at_boot(facts).get("state"),
        _joined(h.get("code") for h in _raised_hazards(facts)),
        _joined(d.get("name") for d in _list(facts.get("drift"))),
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _on(interface):
    return " on %s" % _text(interface) if interface else ""


def _findings(record):
    """The Findings lines of one host; none when it is compliant now and at boot and has no raised hazard."""
    facts = record["facts"]
    raised = _raised_hazards(facts)
    if record["status"] not in BAD_NOW and not raised and _at_boot(facts).get("compliant", True):
        return []
    lines = ["", "### %s (%s)" % (record["host"], record["status"])]
    for v in _list(facts.get("violations")):
        lines.append("- `%s`%s: %s. Fix: %s" % (
            _shown(v.get("code")), _on(v.get("interface")), _shown(v.get("message")), _shown(v.get("fix"))))
    for v in _only_at_boot(facts):
        lines.append("- after a reboot: `%s`%s: %s. Fix: %s" % (
            _shown(v.get("code")), _on(v.get("interface")), _shown(v.get("message")), _shown(v.get("fix"))))
    for h in raised:
        where = ""
        if h.get("file"):
            where = " (%s%s)" % (_text(h["file"]), ":" + _text(h["line"]) if h.get("line") else "")
        lines.append("- hazard `%s`%s: %s. Fix: %s" % (
            _shown(h.get("code")), where, _shown(h.get("message")), _shown(h.get("fix"))))
    return lines


def render_markdown(generated_at, summary, records):
    """The Markdown report: a summary line, one table row per host, then the Findings of the hosts that have any."""
    s = summary
    lines = [
        "# LVS real-server compliance",
        "",
        "Generated %s: %d host(s), %d compliant, %d non-compliant, %d exposed, %d unreachable, %d without data; "
        "%d would not be compliant after a reboot." % (
            generated_at, s["hosts"], s["compliant"], s["non_compliant"], s["exposed"], s["unreachable"],
            s["error"], s["non_compliant_at_boot"]),
        "",
        "| Host | Status | Mode | ARP-facing | VIPs | Violations | At boot | Hazards | Drift |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(r) for r in records]
    findings = [line for r in records for line in _findings(r)]
    if findings:
        lines += ["", "## Findings"] + findings
    return "\n".join(lines) + "\n"


def render_reports(generated_at, summary, policy, records):
    """Report kind (see REPORT_FILES) -> text."""
    return {
        "json": render_json(generated_at, summary, policy, records),
        "junit": render_junit(generated_at, summary, records),
        "markdown": render_markdown(generated_at, summary, records),
    }
