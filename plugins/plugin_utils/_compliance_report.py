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

The reports are a function of the fleet's state only: no time in them
(``collected_at`` is moved out of the facts, see :func:`check_times`), every
list sorted, so that an unchanged fleet gives byte-identical reports. The
time of the check goes to a small separate stamp (:func:`render_stamp`).

The optional wire section (:func:`build_wire`) comes from
``lvs.realserver.arp_probe`` results: every MAC that answered for a VIP, the
inventory host it belongs to (through the hosts' gathered network facts), and
a fleet-level violation ``vip_answered_by`` for each MAC that is not a
director's.
"""

from __future__ import annotations

import ipaddress
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from ansible_collections.lvs.realserver.plugins.module_utils._arp_wire import normalize_mac

VERDICTS = ("compliant", "non_compliant", "exposed")
NO_VERDICT = ("unreachable", "error", "no_data")
BAD_NOW = ("non_compliant", "exposed")
# A host whose runtime was skipped (unprivileged container) and that is compliant at its next boot,
# when the report is asked to accept that (accept_runtime_skipped).
RUNTIME_SKIPPED = "runtime_skipped"

# Report kind -> file name inside the report directory.
REPORT_FILES = {"json": "compliance.json", "junit": "compliance.xml", "markdown": "compliance.md"}
# The time of the check, kept out of the reports so that they only change when the fleet does.
STAMP_FILE = "compliance.checked.json"
WIRE_SUITE = "lvs.realserver.compliance.wire"
WIRE_CODE = "vip_answered_by"
UNKNOWN = "unknown"
# Facts that change at every gather without the host changing.
VOLATILE_FACTS = ("collected_at",)
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


def gathered_facts(result, cached_facts=None, from_cache=False):
    """The host's ``lvs_realserver`` facts: from the registered ``arp_facts`` result, or the cached ones."""
    if from_cache:
        return _mapping(cached_facts)
    return _mapping(_mapping(_mapping(result).get("ansible_facts")).get("lvs_realserver"))


def build_record(host, result, cached_facts=None, from_cache=False):
    """The report record of one host.

    ``result`` is the host's registered ``arp_facts`` result; with
    ``from_cache`` the facts are ``cached_facts`` (the host's
    ``ansible_facts['lvs_realserver']``) instead.
    """
    result = _mapping(result)
    facts = gathered_facts(result, cached_facts, from_cache)
    volatile = [k for k in VOLATILE_FACTS if k in facts]
    if volatile:
        facts = dict((k, v) for k, v in facts.items() if k not in VOLATILE_FACTS)
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


def check_times(facts_by_host):
    """{host: collected_at} of the hosts' :func:`gathered_facts` (``{host: facts}``), for the stamp."""
    return dict((host, _text(facts["collected_at"])) for host, facts in sorted(facts_by_host.items())
                if isinstance(facts, Mapping) and facts.get("collected_at"))


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


def summarize(records, fail_on_unreachable=True, fail_on_boot=False, wire=None):
    """The ``summary`` of the reports; its ``failing`` hosts (and, with ``wire``, ``fleet_failing``) make the run fail."""
    failing = _hosts_with(records, BAD_NOW)
    if fail_on_unreachable:
        failing += _hosts_with(records, NO_VERDICT)
    at_boot = bad_at_boot(records)
    if fail_on_boot:
        failing += at_boot

    def count(*statuses):
        return len(_hosts_with(records, statuses))

    summary = {
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
    if wire is not None:
        summary.update(wire_summary(wire, fail_on_unreachable))
    return summary


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

def _dump(document):
    return json.dumps(document, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


def render_json(summary, policy, records, wire=None):
    """The JSON report: keys sorted, two-space indent, ASCII only; ``wire`` only when probed."""
    document = {"summary": summary, "policy": policy, "hosts": records}
    if wire is not None:
        document["wire"] = wire
    return _dump(document)


def render_stamp(checked_at, changed_at, collected_at):
    """The stamp file: when the check ran, when the reports last changed, when each host's facts were read."""
    return _dump({"checked_at": checked_at, "reports_changed_at": changed_at, "collected_at": collected_at})


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
    lines = ["state=%s mode=%s at_boot=%s source=%s" % (
        record["status"], _text(facts.get("mode")), _text(_at_boot(facts).get("state")), record["source"])]
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


def _counts(tests, failures, errors, skipped):
    return {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": str(skipped)}


def render_junit(summary, records, wire=None):
    """The JUnit XML report: one test case per host, failures and errors are the failing hosts; with ``wire`` a
    second suite with one test case per probed VIP and one per failed probe. No timestamp: see the stamp file."""
    failing = set(summary["failing"])
    no_verdict = _hosts_with(records, NO_VERDICT)
    errors = len([h for h in no_verdict if h in failing])
    counts = _counts(len(records), len(failing) - errors, errors, len(no_verdict) - errors)
    suites = ET.Element("testsuites", name=SUITE)
    suite = ET.SubElement(suites, "testsuite", name=SUITE, **counts)
    for record in records:
        suite.append(_testcase(record, record["host"] in failing))
    totals = [int(counts[k]) for k in ("tests", "failures", "errors", "skipped")]
    if wire is not None:
        wire_suite = _wire_suite(wire, summary)
        suites.append(wire_suite)
        totals = [a + int(wire_suite.get(k)) for a, k in zip(totals, ("tests", "failures", "errors", "skipped"))]
    suites.attrib.update(_counts(*totals))
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


def render_markdown(summary, records, wire=None):
    """The Markdown report: a summary line, one table row per host, the wire section when probed, then the
    Findings of the hosts (and the wire) that have any."""
    s = summary
    wire_line = ""
    if wire is not None:
        wire_line = " Wire: %d VIP(s) probed, %d answered by a MAC that is not a director's, %d failed probe(s)." % (
            len(wire["vips"]), s["vip_answered_by"], s["probe_errors"])
    lines = [
        "# LVS real-server compliance",
        "",
        "%d host(s), %d compliant, %d non-compliant, %d exposed, %d unreachable, %d without data; "
        "%d would not be compliant after a reboot.%s" % (
            s["hosts"], s["compliant"], s["non_compliant"], s["exposed"], s["unreachable"],
            s["error"], s["non_compliant_at_boot"], wire_line),
        "",
        "| Host | Status | Mode | ARP-facing | VIPs | Violations | At boot | Hazards | Drift |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(r) for r in records]
    if wire is not None:
        lines += _wire_markdown(wire)
    findings = [line for r in records for line in _findings(r)]
    if wire is not None:
        findings += _wire_findings(wire)
    if findings:
        lines += ["", "## Findings"] + findings
    return "\n".join(lines) + "\n"


def render_reports(summary, policy, records, wire=None):
    """Report kind (see REPORT_FILES) -> text; the same inputs always give the same bytes."""
    return {
        "json": render_json(summary, policy, records, wire),
        "junit": render_junit(summary, records, wire),
        "markdown": render_markdown(summary, records, wire),
    }


# ----------------------------------------------------------------------- wire

def _macs_in_facts(facts):
    """The MAC addresses in one host's gathered network facts (``ansible_facts`` of M(ansible.builtin.setup))."""
    macs = set()
    for value in _mapping(facts).values():
        if isinstance(value, Mapping) and "macaddress" in value:
            try:
                macs.add(normalize_mac(value["macaddress"]))
            except ValueError:
                continue
    macs.discard("00:00:00:00:00:00")
    return macs


def mac_owners(facts_by_host):
    """{MAC: [hosts]} from each host's gathered ``ansible_facts`` (``{host: facts}``), hosts sorted."""
    owners = {}
    for host, facts in facts_by_host.items():
        for mac in _macs_in_facts(facts):
            owners.setdefault(mac, []).append(host)
    return dict((mac, sorted(hosts, key=_host_order)) for mac, hosts in owners.items())


def _vip_order(vip):
    try:
        address = ipaddress.ip_address(vip)
        return (address.version, int(address), vip)
    except ValueError:
        return (9, 0, vip)


def _probe_entry(host, result):
    """The status of one probe host and its plain result (or None)."""
    result = _mapping(result)
    entry = {"host": host, "status": "ok", "msg": "", "interface": result.get("interface"),
             "interface_mac": result.get("interface_mac")}
    if result.get("unreachable"):
        entry.update(status="unreachable", msg=_text(result.get("msg", "unreachable")))
    elif result.get("failed") or not isinstance(result.get("probes"), list):
        entry.update(status="error", msg=_text(result.get("msg") or "no arp_probe result for this host"))
    return entry


def _owner(mac, owners):
    hosts = owners.get(mac) or []
    return (", ".join(hosts) if hosts else UNKNOWN), hosts


def build_wire(probe_results, director_macs, owners):
    """The wire section of the reports, from the ``arp_probe`` results of the probe hosts; pure and sorted.

    ``probe_results``: ``{probe host: registered result}``; ``director_macs``: the MACs allowed to answer (empty:
    the probe interfaces' own MACs); ``owners``: :func:`mac_owners`, to which each probe interface's MAC is added
    for its host. Counts and times of the answers are left
    out: they change from run to run while the fleet does not.
    """
    probes = [_probe_entry(h, probe_results[h]) for h in sorted(probe_results, key=_host_order)]
    allowed = set(director_macs) or set(p["interface_mac"] for p in probes if p["interface_mac"])
    owners = dict(owners)
    for entry in probes:      # a probe host is known by its probe interface even without network facts
        if entry["interface_mac"] and entry["interface_mac"] not in owners:
            owners[entry["interface_mac"]] = [entry["host"]]
    seen = {}        # vip -> mac -> set(how)
    local = {}       # vip -> [probe hosts that hold it]
    for entry in probes:
        if entry["status"] != "ok":
            continue
        for probe in _list(_mapping(probe_results[entry["host"]]).get("probes")):
            vip = _text(probe.get("vip"))
            macs = seen.setdefault(vip, {})
            if probe.get("local"):
                local.setdefault(vip, []).append(entry["host"])
                if entry["interface_mac"]:
                    macs.setdefault(entry["interface_mac"], set()).add("local")
            for row in _list(probe.get("responders")):
                macs.setdefault(_text(row.get("mac")), set()).add("reply")
            for row in _list(probe.get("unsolicited")):
                macs.setdefault(_text(row.get("mac")), set()).add(_text(row.get("type") or "unsolicited"))
    vips, violations = [], []
    for vip in sorted(seen, key=_vip_order):
        answered = []
        for mac in sorted(seen[vip]):
            host, hosts = _owner(mac, owners)
            how = sorted(seen[vip][mac])
            director = mac in allowed
            answered.append({"mac": mac, "host": host, "director": director, "how": how})
            if not director:
                violations.append({
                    "code": WIRE_CODE, "vip": vip, "mac": mac, "host": host, "hosts": hosts, "how": how,
                    "message": "%s is answered for by %s (%s), which is not a director's MAC (%s)" % (
                        vip, mac, host, ", ".join(sorted(allowed)) or "none known"),
                    "fix": ("apply lvs.realserver.realserver to %s, or add the MAC to the director MACs if it is one"
                            % host) if hosts else
                           ("find the host with MAC %s (switch forwarding table), and make it a safe real server "
                            "or take %s off it" % (mac, vip)),
                })
        vips.append({"vip": vip, "answered_by": answered, "local_to": sorted(local.get(vip, []), key=_host_order)})
    return {"probes": probes, "director_macs": sorted(allowed), "vips": vips, "violations": violations}


def _probe_failure(entry):
    return "probe_failed %s: %s" % (entry["host"], entry["msg"])


def _violation_id(v):
    return "%s %s %s (%s)" % (v["code"], v["vip"], v["mac"], v["host"])


def wire_summary(wire, fail_on_unreachable=True):
    """The wire counts of the summary; ``fleet_failing`` fails the run like ``failing`` does."""
    errors = [p for p in wire["probes"] if p["status"] != "ok"]
    fleet_failing = [_violation_id(v) for v in wire["violations"]]
    if fail_on_unreachable:
        fleet_failing += [_probe_failure(p) for p in errors]
    return {"vips_probed": len(wire["vips"]), "vip_answered_by": len(wire["violations"]),
            "probe_errors": len(errors), "fleet_failing": fleet_failing}


def _answered_text(entry):
    host = entry["host"] + (", director" if entry["director"] else "")
    return "%s (%s: %s)" % (entry["mac"], host, "+".join(entry["how"]))


def _wire_suite(wire, summary):
    failing = set(summary.get("fleet_failing", ()))
    suite = ET.Element("testsuite", name=WIRE_SUITE)
    failures = errors = skipped = 0
    for entry in wire["probes"]:
        if entry["status"] == "ok":
            continue
        case = ET.SubElement(suite, "testcase", classname=WIRE_SUITE, name=_xml("probe from %s" % entry["host"]))
        message = _xml("%s: %s" % (entry["status"], entry["msg"]))
        if _probe_failure(entry) in failing:
            errors += 1
            ET.SubElement(case, "error", type=entry["status"], message=message).text = _xml(entry["msg"])
        else:
            skipped += 1
            ET.SubElement(case, "skipped", message=message)
    for vip in wire["vips"]:
        case = ET.SubElement(suite, "testcase", classname=WIRE_SUITE, name=_xml("vip %s" % vip["vip"]))
        bad = [v for v in wire["violations"] if v["vip"] == vip["vip"]]
        if bad:
            failures += 1
            failure = ET.SubElement(case, "failure", type=WIRE_CODE,
                                    message=_xml(", ".join("%s (%s)" % (v["mac"], v["host"]) for v in bad)))
            failure.text = _xml("".join("\n[%s] %s. Fix: %s" % (v["code"], v["message"], v["fix"]) for v in bad) + "\n")
        ET.SubElement(case, "system-out").text = _xml(
            "".join("answered by %s\n" % _answered_text(a) for a in vip["answered_by"]) or "no answer\n")
    suite.attrib.update(_counts(len(suite), failures, errors, skipped))
    return suite


def _wire_markdown(wire):
    probes = ", ".join("%s (%s%s)" % (p["host"], _shown(p["interface"]),
                                      "" if p["status"] == "ok" else ": **%s** %s" % (p["status"].upper(), p["msg"]))
                       for p in wire["probes"])
    lines = ["", "## Wire", "",
             "Probed from %s; director MACs: %s." % (probes or "nowhere", _joined(wire["director_macs"]) or "none"),
             "", "| VIP | Answered by | Verdict |", "|---|---|---|"]
    for vip in wire["vips"]:
        bad = [a for a in vip["answered_by"] if not a["director"]]
        verdict = "**%s**" % WIRE_CODE if bad else ("ok" if vip["answered_by"] else "no answer")
        answered = _joined(_answered_text(a) for a in vip["answered_by"])
        lines.append("| %s | %s | %s |" % (_cell(vip["vip"]), _cell(answered), verdict))
    return lines


def _wire_findings(wire):
    if not wire["violations"]:
        return []
    lines = ["", "### wire (%s)" % WIRE_CODE]
    for v in wire["violations"]:
        lines.append("- `%s` %s: %s (%s) seen as %s. Fix: %s" % (
            v["code"], v["vip"], v["mac"], v["host"], "+".join(v["how"]), v["fix"]))
    return lines
