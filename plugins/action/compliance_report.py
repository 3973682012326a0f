# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action of ``lvs.realserver.compliance_report`` (documented in plugins/modules/compliance_report.py).

Runs in the controller's worker process: no connection, no module. It reads
the hosts' gather results from ``hostvars``, renders the reports with the
pure functions of ``plugin_utils/_compliance_report`` and writes the files
that differ, each through a temporary file and ``os.replace``. The reports
hold no time, so an unchanged fleet rewrites nothing; the time of the check
goes to the stamp file, which does not count as a change.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.lvs.realserver.plugins.plugin_utils import _compliance_report as report
from ansible_collections.lvs.realserver.plugins.plugin_utils import _options

ARGUMENT_SPEC = {
    "dir": {"type": "path", "required": True},
    "hosts": {"type": "list", "elements": "str"},
    "gather_var": {"type": "str", "default": "__lvs_compliance_gather"},
    "from_cache": {"type": "bool", "default": False},
    # deprecated: it never made the task fail (the action does not fail on verdicts, so that the table can be
    # shown first); the caller decides. Still recorded as policy.fail until it is removed.
    "fail": {"type": "bool", "default": True, "removed_in_version": "2.0.0", "removed_from_collection": "lvs.realserver"},
    "fail_on_unreachable": {"type": "bool", "default": True},
    "fail_on_boot": {"type": "bool", "default": False},
    "probe_hosts": {"type": "list", "elements": "str", "default": []},
    "probe_var": {"type": "str", "default": "__lvs_compliance_probe"},
    "director_macs": {"type": "list", "elements": "str", "default": []},
    "accept_runtime_skipped": {"type": "bool", "default": False},
}
# The cached fact under which the playbook keeps each probe host's arp_probe result (set_fact cacheable).
PROBE_FACT = "lvs_realserver_probe"

FAIL_DEPRECATION = {
    "msg": "compliance_report: the option fail is deprecated and does nothing: the action never fails because of the "
           "verdicts (so that the table can be shown first), whatever fail says. Follow the task with "
           "ansible.builtin.fail when its failing (or fleet_failing) return value is not empty, under your own "
           "condition (see the module's examples); the reports' policy.fail records the value until the option is "
           "removed.",
    "version": "2.0.0",
    "collection_name": "lvs.realserver",
}

FILE_MODE = 0o644
DIR_MODE = 0o755


class OptionError(Exception):
    """A bad option value: the task fails before anything is written."""


def deprecations(args):
    """The deprecation warnings the task's own arguments earn: ``fail`` when it is given at all."""
    return [dict(FAIL_DEPRECATION)] if "fail" in args else []


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(report.TIME_FORMAT)


def validate(args, hostvars):
    """The options, type-checked and with defaults; OptionError names the option and the value."""
    errors, options = _options.spec_errors(ARGUMENT_SPEC, args)
    if errors:
        raise OptionError("; ".join(errors))
    if not options["dir"]:
        raise OptionError("dir: must not be empty")
    if os.path.exists(options["dir"]) and not os.path.isdir(options["dir"]):
        raise OptionError("dir: %r exists and is not a directory" % options["dir"])
    for name in ("gather_var", "probe_var"):
        if not options[name].isidentifier():
            raise OptionError("%s: %r is not a variable name" % (name, options[name]))
    for name in ("hosts", "probe_hosts"):
        unknown = [h for h in options[name] or () if h not in hostvars]
        if unknown:
            raise OptionError("%s: not in the inventory: %s" % (name, ", ".join(repr(h) for h in unknown)))
    macs = []
    for text in options["director_macs"]:
        try:
            macs.append(report.normalize_mac(text))
        except ValueError as exc:
            raise OptionError("director_macs: %r %s" % (text, exc))
    options["director_macs"] = sorted(set(macs))
    return options


def host_inputs(hostvars, host, gather_var, from_cache):
    """(registered gather result, cached lvs_realserver facts) of one host, as plain data."""
    host_vars = hostvars[host]
    result = host_vars.get(gather_var)  # each lookup templates the variable: once is enough
    if from_cache:
        facts = host_vars.get("ansible_facts") or {}
        return report.plain(result or {}), report.plain(facts.get("lvs_realserver") or {})
    if result is None:
        return {"msg": "no result registered as %s for this host" % gather_var}, None
    return report.plain(result), None


def collect_records(hostvars, hosts, gather_var, from_cache):
    """(the report records of ``hosts`` sorted by name, {host: collected_at} for the stamp)."""
    records, facts = [], {}
    for host in hosts:
        result, cached = host_inputs(hostvars, host, gather_var, from_cache)
        records.append(report.build_record(host, result, cached, from_cache=from_cache))
        facts[host] = report.gathered_facts(result, cached, from_cache)
    return report.sort_records(records), report.check_times(facts)


def collect_wire(hostvars, options):
    """The wire section from the probe hosts' arp_probe results (or their cached copies), or None."""
    if not options["probe_hosts"]:
        return None
    results = {}
    for host in options["probe_hosts"]:
        host_vars = hostvars[host]
        if options["from_cache"]:
            facts = host_vars.get("ansible_facts") or {}
            results[host] = report.plain(facts.get(PROBE_FACT) or {"failed": True, "msg": report.NO_CACHED_FACTS})
        else:
            result = host_vars.get(options["probe_var"])
            results[host] = report.plain(result) if result is not None else {
                "failed": True, "msg": "no result registered as %s for this host" % options["probe_var"]}
    owners = report.mac_owners(dict((host, (hostvars[host].get("ansible_facts") or {})) for host in hostvars))
    return report.build_wire(results, options["director_macs"], owners)


def read_file(path):
    """(bytes, permission bits) of an existing regular file, else (None, None)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except FileNotFoundError:
        return None, None


def pending_changes(contents):
    """``contents`` (path -> bytes) reduced to [(path, old bytes or None, new bytes)] where content or mode differs."""
    changes = []
    for path, data in contents.items():
        before, mode = read_file(path)
        if before != data or mode != FILE_MODE:
            changes.append((path, before, data))
    return changes


def missing_dirs(path):
    """The directories to create for ``path``, outermost first."""
    missing = []
    while not os.path.isdir(path):
        missing.insert(0, path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def stage(directory, name, data):
    """A complete temporary copy of ``name`` in ``directory`` (mode 0644), ready for os.replace."""
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".%s." % name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, FILE_MODE)
    except BaseException:
        os.unlink(temp)
        raise
    return temp


def write_files(directory, changes, stage_file=stage):
    """Create ``directory`` (0755) if needed, then replace each changed file; all staged before any replace.

    ``stage_file(directory, name, data) -> temp path`` (default :func:`stage`) writes one file beside its target.
    """
    for path in missing_dirs(directory):
        os.mkdir(path, DIR_MODE)
        os.chmod(path, DIR_MODE)
    staged = []
    try:
        for path, _before, data in changes:
            staged.append((stage_file(directory, os.path.basename(path), data), path))
    except BaseException:
        for temp, _path in staged:
            os.unlink(temp)
        raise
    for temp, path in staged:
        os.replace(temp, path)


def previous_change(path):
    """``reports_changed_at`` of an existing stamp file, or None."""
    data = read_file(path)[0]
    try:
        return json.loads(data.decode("utf-8")).get("reports_changed_at") if data else None
    except (ValueError, AttributeError):
        return None


def file_diff(path, before, after):
    return {
        "before_header": path,
        "after_header": path,
        "before": "" if before is None else before.decode("utf-8", errors="replace"),
        "after": after.decode("utf-8"),
    }


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False
    # the edges a test replaces on its instance: the clock of ``checked_at`` and how one report file is staged
    now = staticmethod(utc_now)
    stage_file = staticmethod(stage)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars.get("hostvars") or {}
        try:
            options = validate(self._task.args, hostvars)
        except OptionError as exc:
            return dict(result, failed=True, msg="compliance_report: %s" % exc)

        hosts = options["hosts"]
        if hosts is None:
            hosts = list(task_vars.get("ansible_play_hosts_all") or ())
        records, collected_at = collect_records(hostvars, hosts, options["gather_var"], options["from_cache"])
        if options["accept_runtime_skipped"]:
            records = report.accept_runtime_skipped(records)
        wire = collect_wire(hostvars, options)
        summary = report.summarize(records, options["fail_on_unreachable"], options["fail_on_boot"], wire)
        policy = dict((k, options[k]) for k in ("fail", "fail_on_unreachable", "fail_on_boot"))
        checked_at = self.now()
        texts = report.render_reports(summary, policy, records, wire)

        directory = os.path.abspath(options["dir"])
        paths = dict((kind, os.path.join(directory, name)) for kind, name in report.REPORT_FILES.items())
        stamp_path = os.path.join(directory, report.STAMP_FILE)
        try:
            changes = pending_changes(dict((paths[kind], texts[kind].encode("utf-8")) for kind in paths))
            if not self._task.check_mode:
                changed_at = checked_at if changes else (previous_change(stamp_path) or checked_at)
                stamp = report.render_stamp(checked_at, changed_at, collected_at).encode("utf-8")
                # the stamp records when the check ran, not what it found: it never counts as a change
                write_files(directory, changes + [(stamp_path, None, stamp)], self.stage_file)
        except OSError as exc:
            return dict(result, failed=True, msg="compliance_report: cannot write the reports in %s (dir): %s"
                        % (directory, exc))

        result.update(
            changed=bool(changes),
            dir=directory,
            paths=paths,
            changed_files=[path for path, _before, _data in changes],
            stamp=stamp_path,
            checked_at=checked_at,
            summary=summary,
            failing=summary["failing"],
            fleet_failing=summary.get("fleet_failing", []),
            policy=policy,
            markdown_lines=texts["markdown"].splitlines(),
        )
        if self._task.diff and changes:
            result["diff"] = [file_diff(*change) for change in changes]
        if deprecations(self._task.args):
            result["deprecations"] = result.get("deprecations", []) + deprecations(self._task.args)
        return result
