# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmark callback of bench/ (not shipped with the collection): counts, per
# host, the task results (ok/changed/failed/skipped/unreachable) and the module
# executions, split into those that run on the host and those that run on the
# controller only (assert, debug, set_fact, argument validation, tasks
# delegated to localhost), and records each task's wall time per host.
# Writes one JSON file, $LVSRS_BENCH_COUNTS, when the run ends.
from __future__ import annotations

DOCUMENTATION = """
    name: lvsrs_bench_count
    type: aggregate
    short_description: per-host task and module-execution counts for bench/lvsrs_bench.py
    description: Benchmark callback of bench/ (not shipped with the collection).
"""

import json
import os
import resource
import time

from ansible.plugins.callback import CallbackBase

# Actions that never run a module on the managed host.
CONTROLLER_ACTIONS = frozenset((
    "add_host", "assert", "compliance_report", "debug", "fail", "group_by", "include_role", "include_tasks",
    "include_vars", "import_role", "import_tasks", "meta", "pause", "set_fact",
    "set_stats", "validate_argument_spec",
))
STATUSES = ("ok", "changed", "failed", "skipped", "unreachable")


def controller_rusage():
    """CPU seconds and peak RSS (KiB) of ansible-playbook itself and of its reaped descendants.

    The descendants are the worker forks and, below them, the connection's
    client processes (``podman exec``); the module runs inside the host, which
    is not counted. ``children.maxrss`` is the largest single descendant.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": {"utime": own.ru_utime, "stime": own.ru_stime, "maxrss_kib": own.ru_maxrss},
            "children": {"utime": kids.ru_utime, "stime": kids.ru_stime, "maxrss_kib": kids.ru_maxrss}}


def _short(action):
    return (action or "").rsplit(".", 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lvsrs_bench_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hosts = {}
        self._started = {}

    def _host(self, name):
        return self._hosts.setdefault(name, dict(
            {s: 0 for s in STATUSES}, remote_executions=0, controller_executions=0, tasks=[]))

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status):
        host = result.host.get_name()
        task = result.task
        data = result.result
        end = time.time()
        start = self._started.pop((host, task._uuid), end)
        delegated = bool(data.get("_ansible_delegated_vars")) or bool(getattr(task, "delegate_to", None))
        where = "controller" if _short(task.action) in CONTROLLER_ACTIONS or delegated else "remote"
        executions = 0
        if status not in ("skipped", "unreachable"):
            items = data.get("results") if isinstance(data.get("results"), list) and task.loop is not None else None
            if items is None:
                executions = 1
            else:
                executions = sum(1 for item in items if not item.get("skipped"))
        entry = self._host(host)
        entry[status] += 1
        if status == "ok" and result.is_changed():
            entry["changed"] += 1
        entry[where + "_executions"] += executions
        entry["tasks"].append({
            "name": task.get_name(), "action": task.action, "where": where, "status": status,
            "changed": bool(status == "ok" and result.is_changed()), "executions": executions,
            "start": start, "end": end,
        })

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("LVSRS_BENCH_COUNTS")
        if not path:
            return
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump({"hosts": self._hosts, "rusage": controller_rusage()}, handle)
        os.replace(tmp, path)
        # One line per run, kept after the run directory is removed: the controller's cost of the run.
        results = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")
        if os.path.isdir(results):
            line = json.dumps({"run": os.path.basename(path).replace(".counts.json", ""), "hosts": len(self._hosts),
                               "time": time.time(), "rusage": controller_rusage()})
            with open(os.path.join(results, "rusage.jsonl"), "a") as handle:
                handle.write(line + "\n")
