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
Its host I/O enters as ``Edges`` (``edges``; None: ``host_edges()``), so a
test passes fakes rather than patching this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import namedtuple

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _files as files
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils._step import failure_fields
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan as planner

FILE_MODE = 0o644


def read_state(path, root=None):
    """I/O: the drop-in, its stat, the sysctl.d tree and the running values.

    ``root``: read the sysctl.d tree and /proc/sys below it (None: the host's; ``path`` is read as given).
    """
    current_text, stat = files.read_text(path)
    if root is None:  # the readers' own defaults (the calls a module test's stand-ins expect)
        tree, proc = (), ()
    else:
        tree, proc = (root,), (sysctl_d.under(root, _runtime.PROC_CONF),)
    return {
        "current_text": current_text,
        "file_stat": stat,
        "candidates": sysctl_d.read_candidates(*tree),
        "sysctl_conf_text": sysctl_d.read_sysctl_conf(*tree),
        "running": _runtime.read_conf(rules.KEY_ORDER, *proc),
    }


def read_error(exc):
    """What ``read_state`` raised, naming the path: ``_sysctl_d``'s message names it, ``os``' has ``filename``."""
    if exc.filename:
        return "cannot read %s: %s" % (exc.filename, exc.strerror or exc)
    return exc.strerror or str(exc)


def file_needs_change(state, current_text, new_text, stat):
    if state == "absent":
        return current_text is not None
    return files.needs_write(current_text, stat, new_text, FILE_MODE)


def write_file(module, path, text, ops=None):
    """The drop-in, crash-safely (``ops``: ``_files.FileOps``; None: the real ones)."""
    files.write_atomic(module, path, text, FILE_MODE, ops=ops)


# The host edges of ``converge``: the drop-in (``read_state(path)``, ``write_file(module, path, text)``,
# ``restore_file(path, old_text, mode)``, ``remove_file(path)``, ``sweep_temp(directory)``) and the running
# values (``read_value(interface, key)``, ``write_value(interface, key, value)``, ``unwritable(pairs)``).
Edges = namedtuple("Edges", "read_state write_file restore_file remove_file sweep_temp read_value write_value unwritable")


def host_edges():
    """The real ``Edges``: the files through ``_files`` and ``_sysctl_d``, /proc/sys through ``_runtime``."""
    return Edges(read_state, write_file, files.restore, files.remove, files.sweep_temp,
                 _runtime.read_value, _runtime.write_value, _runtime.unwritable)


def apply_runtime(changes, edges=None):
    """Write each change; on failure undo the ones written and re-raise with the failing key."""
    edges = edges or host_edges()
    done = []
    for change in changes:
        try:
            edges.write_value(change["interface"], change["key"], change["after"])
        except (IOError, OSError) as exc:
            undo_runtime(done, edges)
            raise RuntimeError("writing %s = %s failed: %s" % (change["name"], change["after"], exc))
        done.append(change)
    mismatched = [
        "%s reads back %s instead of %s" % (c["name"], edges.read_value(c["interface"], c["key"]), c["after"])
        for c in changes
        if edges.read_value(c["interface"], c["key"]) != c["after"]
    ]
    if mismatched:
        raise RuntimeError("; ".join(mismatched))


def undo_runtime(changes, edges=None):
    edges = edges or host_edges()
    for change in reversed(changes):
        edges.write_value(change["interface"], change["key"], change["before"])


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


def converge(module, state, conf, path, force=False, on_conflict="fail", runtime=_runtime_mode.APPLY, backup=False,
             outer=None, outer_key="sysctl", lock=None, edges=None, detector=None):
    """Write (``present``) or remove (``absent``) the drop-in and apply it; returns the result fields or fails.

    ``conf`` and ``path`` must be validated already (``_sysctl_plan.conf_errors``,
    ``path_error``) and ``conf`` normalized. The result holds a ``diff`` list
    (the file, then the running values) when the module runs in diff mode.
    ``outer``: the calling module's own result so far, which a failure then
    reports, with this step's fields under ``outer_key``.
    ``lock``: the host lock (``_step.host_lock``) the caller holds while the
    file and the running values change (None in check mode).
    ``runtime``: ``auto``, ``apply`` or ``skip`` (``_runtime_mode``); the
    result says ``runtime: applied|skipped`` and why.
    ``edges``: the host I/O (``Edges``; None: ``host_edges()``); ``detector``: what
    ``runtime: auto`` asks (None: ``_runtime_mode.detect``).

    ``present`` writes the file first (a run killed before the values leaves a
    file the next run converges from); ``absent`` restores the running values
    first (the drop-in is what tells a rerun which values to restore). A
    failure undoes what was done; a complete rollback reports ``changed: false``.
    """
    edges = edges or host_edges()
    result = dict(changed=False, path=path, file_changed=False, runtime_changes=[], pending=[], boot=[], conflicts=[])
    runtime, reasons, warn = _runtime_mode.resolve(runtime, detector)
    result.update(_runtime_mode.report(runtime, reasons))

    def fail(msg, step=None):
        module.fail_json(msg=msg, **failure_fields(step or result, outer, outer_key))

    try:
        current = edges.read_state(path)
    except files.FileError as exc:
        fail("%s; nothing was changed" % exc)
    except (IOError, OSError) as exc:  # a sysctl.d file (_sysctl_d's message names it) or /proc/sys
        fail("%s; nothing was changed" % read_error(exc))
    plan = planner.plan(
        state, conf, path, current["current_text"], current["candidates"],
        current["sysctl_conf_text"], current["running"], force)
    result.update(pending=plan["pending"], boot=plan["boot"], conflicts=plan["conflicts"])

    if plan["error"]:
        fail(plan["error"])
    if plan["conflicts"]:
        if on_conflict == "fail":
            fail(conflict_message(plan["conflicts"]) + "; nothing was changed")
        module.warn(conflict_message(plan["conflicts"]))
    for key in plan["pending"]:
        module.warn("%s: the interface does not exist yet; the value is persisted for boot only" % key)
    if warn:
        module.warn(_runtime_mode.warning(reasons))

    changes = plan["runtime_changes"] if runtime == _runtime_mode.APPLIED else []
    blocked = edges.unwritable([(c["interface"], c["key"]) for c in changes])
    if blocked:
        fail("cannot write %s: /proc/sys is read-only here (an unprivileged container?). "
             "Nothing was changed; use runtime=auto or runtime=skip (role: realserver_runtime) "
             "to manage only the file" % ", ".join("/proc/sys/net/ipv4/conf/%s/%s" % pair for pair in blocked))

    file_changed = file_needs_change(state, current["current_text"], plan["new_text"], current["file_stat"])
    result.update(changed=file_changed or bool(changes), file_changed=file_changed, runtime_changes=changes)
    if module._diff:
        result["diff"] = [{"before": current["current_text"] or "", "after": plan["new_text"] or "",
                           "before_header": path, "after_header": path}]
        if changes:
            result["diff"].append(runtime_diff(changes))
    if lock is not None:
        edges.sweep_temp(os.path.dirname(path))  # what a killed run left; no live run owns one under the lock
    if module.check_mode or not result["changed"]:
        return result

    if file_changed and backup and current["current_text"] is not None:
        result["backup_file"] = module.backup_local(path)
    runtime_done = False
    try:
        if state == "present":
            if file_changed:
                edges.write_file(module, path, plan["new_text"])
            apply_runtime(changes, edges)
        else:
            apply_runtime(changes, edges)
            runtime_done = True
            if file_changed:
                edges.remove_file(path)
    except (RuntimeError, IOError, OSError, files.FileError) as exc:
        if runtime_done:
            undo_runtime(changes, edges)
        rollback(path, current, file_changed and state == "present", exc, result, fail, edges)
    return result


def rollback(path, current, file_changed, exc, result, fail, edges=None):
    """Put the file back as it was (the running values are undone already) and ``fail``.

    A complete rollback reports ``changed: false``: the host is as it was.
    """
    if file_changed:
        old_stat = current["file_stat"]
        try:
            (edges or host_edges()).restore_file(
                path, current["current_text"], old_stat.st_mode & 0o7777 if old_stat else FILE_MODE)
        except (IOError, OSError, files.FileError) as restore_exc:
            fail("applying %s failed: %s; putting %s back failed as well: %s" % (path, exc, path, restore_exc))
    fail("applying %s failed and was rolled back: %s" % (path, exc),
         dict(result, changed=False, file_changed=False, runtime_changes=[]))
