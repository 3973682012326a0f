# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The I/O edge of the ARP drop-in: read the host, ask ``_sysctl_plan`` for a plan, write the file and /proc.

``converge`` is shared by ``lvs.realserver.arp_sysctl`` and by
``lvs.realserver.converge`` (the role's one module run), the way
``_boot_unit_apply.converge`` is shared by ``boot_unit`` and ``loopback_vip``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _files as files
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils._step import failure_fields
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan as planner

FILE_MODE = 0o644


def read_state(path):
    """I/O: the drop-in, its stat, the sysctl.d tree and the running values."""
    current_text, stat = files.read_text(path)
    return {
        "current_text": current_text,
        "file_stat": stat,
        "candidates": sysctl_d.read_candidates(),
        "sysctl_conf_text": sysctl_d.read_sysctl_conf(),
        "running": _runtime.read_conf(rules.KEY_ORDER),
    }


def file_needs_change(state, current_text, new_text, stat):
    if state == "absent":
        return current_text is not None
    return files.needs_write(current_text, stat, new_text, FILE_MODE)


def write_file(module, path, text):
    files.write_atomic(module, path, text, FILE_MODE)


def restore_file(path, old_text):
    files.restore(path, old_text)


def apply_runtime(changes):
    """Write each change; on failure undo the ones written and re-raise with the failing key."""
    done = []
    for change in changes:
        try:
            _runtime.write_value(change["interface"], change["key"], change["after"])
        except (IOError, OSError) as exc:
            for written in reversed(done):
                _runtime.write_value(written["interface"], written["key"], written["before"])
            raise RuntimeError("writing %s = %s failed: %s" % (change["name"], change["after"], exc))
        done.append(change)
    mismatched = [
        "%s reads back %s instead of %s" % (c["name"], _runtime.read_value(c["interface"], c["key"]), c["after"])
        for c in changes
        if _runtime.read_value(c["interface"], c["key"]) != c["after"]
    ]
    if mismatched:
        raise RuntimeError("; ".join(mismatched))


def runtime_diff(changes):
    before = "".join("%s = %s\n" % (c["name"], c["before"]) for c in changes)
    after = "".join("%s = %s\n" % (c["name"], c["after"]) for c in changes)
    return {"before": before, "after": after, "before_header": "/proc/sys (running)", "after_header": "/proc/sys (running)"}


def conflict_message(conflicts):
    lines = [
        "%s = %s at %s:%s beats our %s (%s, %s)" % (
            c["key"], c["value"], c["file"], c["line"], c["ours"], c["kind"], c["boot_tool"])
        for c in conflicts
    ]
    return "another sysctl file would undo managed keys at boot: " + "; ".join(lines)


def converge(module, state, conf, path, force=False, on_conflict="fail", apply=True, backup=False,
             outer=None, outer_key="sysctl"):
    """Write (``present``) or remove (``absent``) the drop-in and apply it; returns the result fields or fails.

    ``conf`` and ``path`` must be validated already (``_sysctl_plan.conf_errors``,
    ``path_error``) and ``conf`` normalized. The result holds a ``diff`` list
    (the file, then the running values) when the module runs in diff mode.
    ``outer``: the calling module's own result so far, which a failure then
    reports, with this step's fields under ``outer_key``.
    """
    current = read_state(path)
    plan = planner.plan(
        state, conf, path, current["current_text"], current["candidates"],
        current["sysctl_conf_text"], current["running"], force)
    result = dict(
        changed=False, path=path, file_changed=False, runtime_changes=[], pending=plan["pending"],
        boot=plan["boot"], conflicts=plan["conflicts"])

    def fail(msg):
        module.fail_json(msg=msg, **failure_fields(result, outer, outer_key))

    if plan["error"]:
        fail(plan["error"])
    if plan["conflicts"]:
        if on_conflict == "fail":
            fail(conflict_message(plan["conflicts"]) + "; nothing was changed")
        module.warn(conflict_message(plan["conflicts"]))
    for key in plan["pending"]:
        module.warn("%s: the interface does not exist yet; the value is persisted for boot only" % key)

    changes = plan["runtime_changes"] if apply else []
    blocked = _runtime.unwritable([(c["interface"], c["key"]) for c in changes])
    if blocked:
        fail("cannot write %s: /proc/sys is read-only here (an unprivileged container?). "
             "Nothing was changed; use apply=false to manage only the file" % ", ".join(
                 "/proc/sys/net/ipv4/conf/%s/%s" % pair for pair in blocked))

    file_changed = file_needs_change(state, current["current_text"], plan["new_text"], current["file_stat"])
    result.update(changed=file_changed or bool(changes), file_changed=file_changed, runtime_changes=changes)
    if module._diff:
        result["diff"] = [{"before": current["current_text"] or "", "after": plan["new_text"] or "",
                           "before_header": path, "after_header": path}]
        if changes:
            result["diff"].append(runtime_diff(changes))
    if module.check_mode or not result["changed"]:
        return result

    if file_changed and backup and current["current_text"] is not None:
        result["backup_file"] = module.backup_local(path)
    try:
        if file_changed:
            if state == "present":
                write_file(module, path, plan["new_text"])
            else:
                os.unlink(path)
        apply_runtime(changes)
    except (RuntimeError, IOError, OSError) as exc:
        if file_changed:
            restore_file(path, current["current_text"])
        fail("applying %s failed and was rolled back: %s" % (path, exc))
    return result
