#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: arp_sysctl
short_description: Own the LVS real-server ARP drop-in in /etc/sysctl.d, apply it, and prove it wins at boot
version_added: 1.0.0
description:
  - Writes one drop-in file in a sysctl.d directory with the per-interface IPv4 keys an LVS-DR or
    LVS-TUN real server needs (C(arp_ignore), C(arp_announce), C(rp_filter), ...), atomically and
    byte-for-byte idempotently, with mode C(0644) and owner C(root).
  - Applies the values to the running kernel by writing C(/proc/sys) directly, only where they
    differ, and reads them back.
  - Resolves the whole sysctl.d search path the way C(systemd-sysctl) does at boot (file names
    sorted across C(/etc), C(/run), C(/usr/local/lib), C(/usr/lib) and C(/lib); C(/etc) masking
    same-named files; last assignment wins; explicit keys beat globs) and reports, for every
    managed key, the file and line that will decide it at the next boot.
  - Fails (or warns) when another file would undo a managed key at boot, and names that file and line.
  - O(state=absent) removes the drop-in and sets the running values back to what they get at the next
    boot with the remaining sysctl.d files, never a blind C(0). That is the value of the line that decides
    the key; where none does, the kernel default for C(all), C(default) and C(lo), and the boot value of
    C(default) for other interfaces, which a NIC gets at boot when it appears after C(systemd-sysctl) or
    exists before it without an address. This is the C(late) value of M(lvs.realserver.arp_facts)'s
    C(boot_prediction), so its C(drift) stays empty for the restored keys.
author:
  - lvs.realserver developers (@lvs-realserver)
attributes:
  check_mode:
    support: full
    description: Predicts the file change, the runtime writes and the conflicts exactly; writes nothing.
  diff_mode:
    support: full
    description: Shows the drop-in's diff and the runtime values that change.
  platform:
    platforms: posix
    support: full
    description: Linux only.
options:
  conf:
    description:
      - Mapping of interface name to a mapping of key to value, for C(net.ipv4.conf.<interface>.<key>).
      - Interface names are C(all), C(default) or a Linux interface name (at most 15 characters;
        letters, digits, C(_), C(-) and C(.)). Names with dots (VLANs such as C(eth0.100)) are
        written in the slash form C(net.ipv4.conf.eth0/100.arp_ignore) that both systemd-sysctl and
        procps read correctly.
      - Keys are C(arp_ignore) (0, 1, 2, 3 or 8; 4-7 are reserved and behave like 0, so they are
        rejected), C(arp_announce) (0-2), C(rp_filter) (0-2), C(arp_filter), C(accept_local) and
        C(arp_notify) (0 or 1).
      - The kernel combines C(all) and the interface value with max (or "or") when it uses them,
        so C(all) is what protects every present and future interface.
      - With O(state=absent), the keys listed here are restored in addition to those in the drop-in.
    type: dict
    default: {all: {arp_ignore: 1, arp_announce: 2}}
  path:
    description:
      - The drop-in this module owns. It must be a C(*.conf) file directly inside one of
        C(/etc/sysctl.d), C(/run/sysctl.d), C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d) or
        C(/lib/sysctl.d); files anywhere else are never read at boot.
      - The default name sorts after C(99-sysctl.conf), the name under which Debian links
        C(/etc/sysctl.conf) into C(/etc/sysctl.d), so values left in C(/etc/sysctl.conf) cannot
        silently undo it. Files that still sort later are reported as conflicts.
    type: path
    default: /etc/sysctl.d/99-zz-lvs-realserver.conf
  state:
    description:
      - V(present) writes the drop-in and applies it.
      - V(absent) removes it and restores the running values the remaining files give.
    type: str
    choices: [present, absent]
    default: present
  apply:
    description:
      - Write the values to the running kernel (C(/proc/sys)) as well as to the file.
      - With V(false) only the file is managed, for images built offline or read-only C(/proc/sys).
        The same as O(runtime=skip).
    type: bool
    default: true
  runtime:
    description:
      - Whether the running kernel is changed, or only what persists (the drop-in).
      - V(apply) writes the running values and fails, changing nothing, where C(/proc/sys) is read-only.
      - V(skip) manages only the file on any host (as O(apply=false)).
      - V(auto) detects, in the same run, a host that cannot take runtime changes (C(/proc/sys) mounted
        read-only, or no C(CAP_NET_ADMIN), as in an unprivileged container) and then manages only the file,
        with one warning. Elsewhere it is V(apply).
      - RV(runtime) tells which it was. The C(lvs.realserver.realserver) role passes C(realserver_runtime).
    type: str
    choices: [auto, apply, skip]
    default: apply
  force:
    description:
      - Take over (or, with O(state=absent), remove) a file at O(path) that this module did not write.
      - Without it such a file is never overwritten or removed.
    type: bool
    default: false
  backup:
    description:
      - Keep a timestamped copy of the previous drop-in next to it before changing it.
        The copy does not end in C(.conf), so it is never read at boot.
    type: bool
    default: false
  on_conflict:
    description:
      - What to do when another file in the sysctl.d search path (or C(/etc/sysctl.conf) for
        C(sysctl --system)) would give a managed key a different value at boot, either by setting
        the same key later or, for C(arp_ignore) and C(arp_announce) on C(all), by setting a value
        on an interface or glob that wins through the kernel's max rule and weakens the protection.
      - V(fail) fails before anything is changed; V(warn) goes ahead and warns.
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - The running values are written directly under C(/proc/sys/net/ipv4/conf), one file per key,
    only where they differ; the whole sysctl configuration is never re-applied.
  - A key for an interface that does not exist yet is persisted and reported in RV(pending); udev
    applies it when the interface appears.
  - In a container whose C(/proc/sys) is read-only the module fails before changing anything; use
    O(runtime=auto) (or O(runtime=skip)) to manage only the file there.
  - The drop-in is written (and, on a failure, put back) through a temp file, fsync and rename; the
    module holds the host lock C(/run/lvs-realserver.lock) (shared with M(lvs.realserver.loopback_vip),
    M(lvs.realserver.boot_unit) and the boot unit) while it changes the file and the running values, and
    fails after waiting 60 s for it. A symbolic link or a directory at O(path) is refused.
seealso:
  - module: lvs.realserver.loopback_vip
  - module: lvs.realserver.arp_facts
  - module: ansible.posix.sysctl
"""

EXAMPLES = r"""
- name: Protect a real server against the ARP problem (all interfaces, now and at boot)
  lvs.realserver.arp_sysctl:

- name: Also relax reverse-path filtering for an LVS-TUN real server
  lvs.realserver.arp_sysctl:
    conf:
      all: {arp_ignore: 1, arp_announce: 2, rp_filter: 0}
      default: {rp_filter: 0}
      tunl0: {rp_filter: 0}

- name: Persist only, for an image build
  lvs.realserver.arp_sysctl:
    runtime: skip

- name: Apply where the host allows it, else persist only (an unprivileged CI container)
  lvs.realserver.arp_sysctl:
    runtime: auto

- name: Remove the drop-in and restore what the other sysctl.d files give
  lvs.realserver.arp_sysctl:
    state: absent
"""

RETURN = r"""
path:
  description: The managed drop-in.
  returned: always
  type: str
  sample: /etc/sysctl.d/99-zz-lvs-realserver.conf
file_changed:
  description: Whether the drop-in was (or, in check mode, would be) created, changed or removed.
  returned: always
  type: bool
  sample: true
runtime_changes:
  description: The running values written (or to be written in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The sysctl key, dotted form.
      type: str
      sample: net.ipv4.conf.all.arp_ignore
    interface:
      description: The interface part of the key.
      type: str
      sample: all
    key:
      description: The key within the interface.
      type: str
      sample: arp_ignore
    before:
      description: The value before.
      type: int
      sample: 0
    after:
      description: The value after.
      type: int
      sample: 1
pending:
  description: Keys persisted for interfaces that do not exist yet.
  returned: always
  type: list
  elements: str
  sample: [net.ipv4.conf.eth0/100.arp_ignore]
boot:
  description:
    - For every managed key (dotted form), the value it gets at the next boot and the file and line
      that decide it, resolved like systemd-sysctl. C(value), C(file) and C(line) are null where
      nothing sets the key.
  returned: always
  type: dict
  sample:
    net.ipv4.conf.all.arp_ignore: {value: 1, file: /etc/sysctl.d/99-zz-lvs-realserver.conf, line: 3}
conflicts:
  description: Files that would give a managed key another value at boot.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The key that loses (dotted form); for C(beats_all_via_max), the other file's key.
      type: str
    kind:
      description: C(later_file) (the same key set later or by a masking file) or C(beats_all_via_max).
      type: str
    ours:
      description: The value this module manages.
      type: int
    value:
      description: The other file's value.
      type: raw
    file:
      description: The other file.
      type: str
    line:
      description: The line in that file.
      type: int
    boot_tool:
      description: C(systemd-sysctl), or C(sysctl --system) for C(/etc/sysctl.conf), which only procps reads last.
      type: str
  sample:
    - {key: net.ipv4.conf.all.arp_ignore, kind: later_file, ours: 1, value: "0",
       file: /etc/sysctl.d/99-zzz-local.conf, line: 2, boot_tool: systemd-sysctl}
runtime:
  description:
    - V(applied) when the running kernel was managed, V(skipped) when only the file was (O(runtime=skip),
      O(apply=false), or O(runtime=auto) on a host that cannot take runtime changes).
  returned: always
  type: str
  sample: skipped
runtime_reasons:
  description: Why the runtime was skipped (empty when it was applied).
  returned: always
  type: list
  elements: str
  sample: ["/proc/sys is mounted read-only, so the running ARP values cannot be written"]
backup_file:
  description: The backup of the previous drop-in.
  returned: when a backup was made
  type: str
  sample: /etc/sysctl.d/99-zz-lvs-realserver.conf.12345.2026-11-26@13:00:00~
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _files as files
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan as planner

FILE_MODE = 0o644


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            conf=dict(type="dict", default=dict(rules.ARP_PROTECTION)),
            path=dict(type="path", default=planner.DEFAULT_PATH),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            apply=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            on_conflict=dict(type="str", choices=["fail", "warn"], default="fail"),
            runtime=dict(type="str", choices=list(_runtime_mode.CHOICES), default=_runtime_mode.APPLY),
        ),
        supports_check_mode=True,
    )


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


def restore_file(path, old_text, mode=FILE_MODE):
    files.restore(path, old_text, mode)


def apply_runtime(changes):
    """Write each change; on failure undo the ones written and re-raise with the failing key."""
    done = []
    for change in changes:
        try:
            _runtime.write_value(change["interface"], change["key"], change["after"])
        except (IOError, OSError) as exc:
            undo_runtime(done)
            raise RuntimeError("writing %s = %s failed: %s" % (change["name"], change["after"], exc))
        done.append(change)
    mismatched = [
        "%s reads back %s instead of %s" % (c["name"], _runtime.read_value(c["interface"], c["key"]), c["after"])
        for c in changes
        if _runtime.read_value(c["interface"], c["key"]) != c["after"]
    ]
    if mismatched:
        raise RuntimeError("; ".join(mismatched))


def undo_runtime(changes):
    for change in reversed(changes):
        _runtime.write_value(change["interface"], change["key"], change["before"])


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


def main():
    module = build_module()
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    params = module.params
    path = params["path"]
    errors = planner.conf_errors(params["conf"])
    path_problem = planner.path_error(path)
    if path_problem:
        errors.insert(0, path_problem)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    conf = planner.normalized_conf(params["conf"])

    # the file and the running values change under the host lock (loopback_vip and the boot unit share it)
    lock = host_lock(module)
    try:
        state = read_state(path)
    except files.FileError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc, changed=False, path=path)
    plan = planner.plan(
        params["state"], conf, path, state["current_text"], state["candidates"],
        state["sysctl_conf_text"], state["running"], params["force"])
    result = dict(
        changed=False, path=path, file_changed=False, runtime_changes=[], pending=plan["pending"],
        boot=plan["boot"], conflicts=plan["conflicts"])
    runtime, reasons, warn = _runtime_mode.resolve(params["runtime"] if params["apply"] else _runtime_mode.SKIP)
    result.update(_runtime_mode.report(runtime, reasons))
    if plan["error"]:
        module.fail_json(msg=plan["error"], **result)
    if plan["conflicts"]:
        if params["on_conflict"] == "fail":
            module.fail_json(msg=conflict_message(plan["conflicts"]) + "; nothing was changed", **result)
        module.warn(conflict_message(plan["conflicts"]))
    for key in plan["pending"]:
        module.warn("%s: the interface does not exist yet; the value is persisted for boot only" % key)
    if warn:
        module.warn(_runtime_mode.warning(reasons))

    changes = plan["runtime_changes"] if runtime == _runtime_mode.APPLIED else []
    blocked = _runtime.unwritable([(c["interface"], c["key"]) for c in changes])
    if blocked:
        module.fail_json(
            msg="cannot write %s: /proc/sys is read-only here (an unprivileged container?). "
                "Nothing was changed; use runtime=auto or runtime=skip (role: realserver_runtime) "
                "to manage only the file" % ", ".join(
                    "/proc/sys/net/ipv4/conf/%s/%s" % pair for pair in blocked),
            **result)

    file_changed = file_needs_change(params["state"], state["current_text"], plan["new_text"], state["file_stat"])
    result.update(changed=file_changed or bool(changes), file_changed=file_changed, runtime_changes=changes)
    if module._diff:
        result["diff"] = [{"before": state["current_text"] or "", "after": plan["new_text"] or "",
                           "before_header": path, "after_header": path}]
        if changes:
            result["diff"].append(runtime_diff(changes))
    if lock is not None:
        files.sweep_temp(os.path.dirname(path))  # what a killed run left; no live run owns one under the lock
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)

    if file_changed and params["backup"] and state["current_text"] is not None:
        result["backup_file"] = module.backup_local(path)
    runtime_done = False
    try:
        if params["state"] == "present":
            # the file first: a run killed before the values leaves a file the next run converges from
            if file_changed:
                write_file(module, path, plan["new_text"])
            apply_runtime(changes)
        else:
            # the values first: the drop-in is what tells a rerun which values to restore
            apply_runtime(changes)
            runtime_done = True
            if file_changed:
                remove_file(path)
    except (RuntimeError, IOError, OSError, files.FileError) as exc:
        if runtime_done:
            undo_runtime(changes)
        rollback(module, path, state, file_changed and params["state"] == "present", exc, result)
    if lock is not None:
        lock.release()
    module.exit_json(**result)


def host_lock(module):
    """The host lock, taken (None in check mode); a timeout fails the module with nothing changed."""
    if module.check_mode:
        return None
    try:
        return _runtime.HostLock().acquire()
    except (_runtime.LockTimeout, IOError, OSError) as exc:
        module.fail_json(msg="cannot take the host lock %s: %s" % (_runtime.LOCK_PATH, exc), changed=False)


def remove_file(path):
    files.remove(path)


def rollback(module, path, state, file_changed, exc, result):
    """Put the file back as it was (the runtime values are undone by ``apply_runtime``) and fail.

    A complete rollback reports ``changed: false``: the host is as it was.
    """
    restored = True
    if file_changed:
        old_stat = state["file_stat"]
        try:
            restore_file(path, state["current_text"], old_stat.st_mode & 0o7777 if old_stat else FILE_MODE)
        except (IOError, OSError, files.FileError) as restore_exc:
            restored = False
            exc = "%s; putting %s back failed as well: %s" % (exc, path, restore_exc)
    if restored:
        result.update(changed=False, file_changed=False, runtime_changes=[])
        module.fail_json(msg="applying %s failed and was rolled back: %s" % (path, exc), **result)
    module.fail_json(msg="applying %s failed: %s" % (path, exc), **result)


if __name__ == "__main__":
    main()
