# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action of ``lvs.realserver.compliance_report`` (documented in plugins/modules/compliance_report.py).

Runs in the controller's worker process: no connection, no module. It reads
the hosts' gather results from ``hostvars``, renders the reports with the
pure functions of ``plugin_utils/_compliance_report`` and writes the files
that differ, each through a temporary file and ``os.replace``.
"""

from __future__ import annotations

import datetime
import os
import stat
import tempfile

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.lvs.realserver.plugins.plugin_utils import _compliance_report as report

ARGUMENT_SPEC = {
    "dir": {"type": "path", "required": True},
    "hosts": {"type": "list", "elements": "str"},
    "gather_var": {"type": "str", "default": "__lvs_compliance_gather"},
    "from_cache": {"type": "bool", "default": False},
    "fail": {"type": "bool", "default": True},
    "fail_on_unreachable": {"type": "bool", "default": True},
    "fail_on_boot": {"type": "bool", "default": False},
    "accept_runtime_skipped": {"type": "bool", "default": False},
}

FILE_MODE = 0o644
DIR_MODE = 0o755


class OptionError(Exception):
    """A bad option value: the task fails before anything is written."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(report.TIME_FORMAT)


def validate(args, hostvars):
    """The options, type-checked and with defaults; OptionError names the option and the value."""
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(args))
    if result.error_messages:
        raise OptionError("; ".join(("unsupported options: " if isinstance(e, UnsupportedError) else "") + e.msg
                                    for e in result.errors.errors))
    options = result.validated_parameters
    if not options["dir"]:
        raise OptionError("dir: must not be empty")
    if os.path.exists(options["dir"]) and not os.path.isdir(options["dir"]):
        raise OptionError("dir: %r exists and is not a directory" % options["dir"])
    if not options["gather_var"].isidentifier():
        raise OptionError("gather_var: %r is not a variable name" % options["gather_var"])
    unknown = [h for h in options["hosts"] or () if h not in hostvars]
    if unknown:
        raise OptionError("hosts: not in the inventory: %s" % ", ".join(repr(h) for h in unknown))
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
    """The report records of ``hosts``, sorted by name."""
    return report.sort_records(
        report.build_record(host, *host_inputs(hostvars, host, gather_var, from_cache), from_cache=from_cache)
        for host in hosts)


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


def write_files(directory, changes):
    """Create ``directory`` (0755) if needed, then replace each changed file; all staged before any replace."""
    for path in missing_dirs(directory):
        os.mkdir(path, DIR_MODE)
        os.chmod(path, DIR_MODE)
    staged = []
    try:
        for path, _before, data in changes:
            staged.append((stage(directory, os.path.basename(path), data), path))
    except BaseException:
        for temp, _path in staged:
            os.unlink(temp)
        raise
    for temp, path in staged:
        os.replace(temp, path)


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
        records = collect_records(hostvars, hosts, options["gather_var"], options["from_cache"])
        if options["accept_runtime_skipped"]:
            records = report.accept_runtime_skipped(records)
        summary = report.summarize(records, options["fail_on_unreachable"], options["fail_on_boot"])
        policy = dict((k, options[k]) for k in ("fail", "fail_on_unreachable", "fail_on_boot"))
        generated_at = utc_now()
        texts = report.render_reports(generated_at, summary, policy, records)

        directory = os.path.abspath(options["dir"])
        paths = dict((kind, os.path.join(directory, name)) for kind, name in report.REPORT_FILES.items())
        try:
            changes = pending_changes(dict((paths[kind], texts[kind].encode("utf-8")) for kind in paths))
            if changes and not self._task.check_mode:
                write_files(directory, changes)
        except OSError as exc:
            return dict(result, failed=True, msg="compliance_report: cannot write the reports in %s (dir): %s"
                        % (directory, exc))

        result.update(
            changed=bool(changes),
            dir=directory,
            paths=paths,
            changed_files=[path for path, _before, _data in changes],
            generated_at=generated_at,
            summary=summary,
            failing=summary["failing"],
            policy=policy,
            markdown_lines=texts["markdown"].splitlines(),
        )
        if self._task.diff and changes:
            result["diff"] = [file_diff(*change) for change in changes]
        return result
