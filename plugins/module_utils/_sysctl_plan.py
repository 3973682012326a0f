# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The arp_sysctl planner: input validation, then ``plan(desired, current) -> changes``.

Pure functions: the module reads the state, asks for a plan, and applies it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as boot_model
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

DEFAULT_PATH = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
# ``all`` values that protect every interface; a higher interface value undoes them through max().
# (rp_filter on ``all`` protects nothing: a higher value on a NIC is often intended.)
MAX_PROTECTED_KEYS = ("arp_ignore", "arp_announce")


def conf_errors(conf):
    """Every problem with the ``conf`` option, each naming the interface, key and value."""
    if not isinstance(conf, dict) or not conf:
        return ["conf must be a non-empty mapping of interface -> {key: value}, got %r" % (conf,)]
    errors = []
    for interface, keys in sorted(conf.items(), key=lambda item: str(item[0])):
        if interface not in sysctl_d.SPECIAL:
            reason = _iproute.interface_name_error(interface)
            if reason:
                errors.append("conf: interface name %r %s" % (interface, reason))
                continue
        if not isinstance(keys, dict) or not keys:
            errors.append("conf.%s must be a non-empty mapping of key -> value, got %r" % (interface, keys))
            continue
        for key, value in sorted(keys.items(), key=lambda item: str(item[0])):
            reason = rules.invalid_value_reason(key, _as_int(value))
            if reason:
                errors.append("conf.%s.%s=%r: %s" % (interface, key, value, reason))
    return errors


def _as_int(value):
    """Accept ints and integer strings (YAML from inventories); anything else stays as is for the error."""
    parsed = sysctl_d.int_value(value) if isinstance(value, str) else None
    return value if parsed is None else parsed


def normalized_conf(conf):
    return dict((interface, dict((k, _as_int(v)) for k, v in keys.items())) for interface, keys in conf.items())


def path_error(path):
    """Why ``path`` cannot be the managed drop-in, or None."""
    if not isinstance(path, str) or any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in path):
        return "path %r must not contain whitespace, a newline or another control character" % (path,)
    normalized = os.path.normpath(path)
    if normalized != path.rstrip("/") or not os.path.isabs(path):
        return "path %r must be an absolute, normalized path (no '..', '.' or '//')" % path
    directory, name = os.path.split(normalized)
    if directory not in sysctl_d.SEARCH_DIRS:
        return "path %r must be directly inside one of %s: files elsewhere are never read at boot" % (
            path, ", ".join(sysctl_d.SEARCH_DIRS))
    if not name.endswith(".conf") or name.startswith("."):
        return "path %r must name a '*.conf' file: other names are ignored at boot" % path
    return None


def entries(conf):
    """``[(interface, key, value)]`` in the drop-in's order."""
    ordered = sorted(conf, key=sysctl_d.interface_order)
    return [(i, k, conf[i][k]) for i in ordered for k in rules.KEY_ORDER if k in conf[i]]


def managed_conf(text):
    """The ``conf`` a managed drop-in holds (for ``state=absent``): interface -> {key: value}."""
    conf = {}
    assignments = sysctl_d.parse_text(text or "", "")[0]
    for a in assignments:
        split = sysctl_d.split_conf_key(a.key)
        if split and split[1] in rules.KEY_RULES and isinstance(_as_int(a.value), int):
            conf.setdefault(split[0], {})[split[1]] = _as_int(a.value)
    return conf


def conflicts(resolution, path, wanted, boot_tool):
    """Where another file beats ours at boot for a managed key, with a different value.

    ``wanted``: ``[(interface, key, value)]``. Two kinds: the same key won by
    a later (or masking) file, and, for the ARP keys on ``all``, an interface
    key or glob elsewhere whose higher value wins through the max rule.
    """
    found = []
    for interface, key, value in wanted:
        slash = sysctl_d.conf_key(interface, key)
        winner = resolution.winner(slash)
        if winner is not None and winner.path != path and _as_int(winner.value) != value:
            found.append(_conflict(slash, value, winner, "later_file", boot_tool))
        if interface == "all" and key in MAX_PROTECTED_KEYS:
            found.extend(_max_overrides(resolution, key, value, path, boot_tool))
    return found


def _max_overrides(resolution, key, value, path, boot_tool):
    found = []
    for assignment in _assignments_for_key(resolution, key):
        theirs = _as_int(assignment.value)
        if assignment.path == path or not isinstance(theirs, int):
            continue
        if _worse_through_max(key, value, theirs):
            found.append(_conflict(assignment.key, value, assignment, "beats_all_via_max", boot_tool))
    return found


def _assignments_for_key(resolution, key):
    """The winning assignment of every interface key (or glob) ``net.ipv4.conf.<x>.<key>`` but ``all``."""
    winners = []
    for slash in resolution.explicit_keys():
        split = sysctl_d.split_conf_key(slash)
        if split and split[1] == key and split[0] not in sysctl_d.SPECIAL:
            winners.append(resolution.winner(slash))
    for glob in resolution.glob_assignments():
        split = sysctl_d.split_conf_key(glob.key)
        if split and split[1] == key:
            winners.append(glob)
    return winners


def _worse_through_max(key, ours, theirs):
    effective = max(ours, theirs)
    if effective == ours:
        return False
    if key == "arp_ignore":
        return rules.judge_arp_ignore(effective, [])[0] != rules.judge_arp_ignore(ours, [])[0]
    return True


def _conflict(slash, ours, assignment, kind, boot_tool):
    return {
        "key": sysctl_d.dotted_key(slash),
        "kind": kind,
        "ours": ours,
        "value": _as_int(assignment.value),
        "file": assignment.path,
        "line": assignment.line,
        "boot_tool": boot_tool,
    }


def runtime_changes(wanted, running):
    """``(changes, pending)``: the /proc writes needed, and keys whose interface does not exist yet."""
    changes = []
    pending = []
    for interface, key, value in wanted:
        current = running.get(interface, {}).get(key)
        if interface not in running:
            pending.append(sysctl_d.conf_name(interface, key))
        elif current != value:
            changes.append({
                "interface": interface,
                "key": key,
                "name": sysctl_d.conf_name(interface, key),
                "before": current,
                "after": value,
            })
    return changes, pending


def plan(state, conf, path, current_text, candidates, sysctl_conf_text, running, force):
    """Decide everything ``arp_sysctl`` will do. Returns a dict; ``error`` set means change nothing.

    ``candidates``: the sysctl.d tree as it is now (``sysctl_d.read_candidates``).
    ``running``: ``/proc`` values (``_runtime.read_conf``).
    """
    result = {"error": None, "new_text": None, "conflicts": [], "runtime_changes": [], "pending": [], "boot": {}}
    foreign = current_text is not None and not sysctl_d.is_managed_text(current_text)
    if foreign and not force:
        result["error"] = (
            "%s exists and was not written by lvs.realserver.arp_sysctl; refusing to %s it. "
            "Move it away, choose another path, or set force=true to take it over"
            % (path, "overwrite" if state == "present" else "remove"))
        return result

    if state == "present":
        wanted = entries(conf)
        result["new_text"] = sysctl_d.render_dropin(conf, rules.KEY_ORDER)
        after = sysctl_d.with_file(candidates, path, result["new_text"])
        masked_by = sysctl_d.masking_file(after, path)
        if masked_by:
            result["error"] = "%s is masked by %s (same name, earlier directory): it would never be read at boot" % (
                path, masked_by)
            return result
    else:
        after = sysctl_d.with_file(candidates, path, None)
        wanted = _restored(_absent_entries(current_text, foreign, conf), after)

    systemd = sysctl_d.resolve(sysctl_d.boot_files(after))
    keys = [sysctl_d.conf_key(i, k) for i, k, _value in wanted]
    result["boot"] = sysctl_d.boot_report(systemd, keys)
    if state == "present":
        result["conflicts"] = conflicts(systemd, path, wanted, "systemd-sysctl")
        if sysctl_conf_text is not None:
            procps = sysctl_d.resolve(sysctl_d.boot_files(after, sysctl_conf_text))
            result["conflicts"].extend(
                c for c in conflicts(procps, path, wanted, "sysctl --system")
                if c["file"] == sysctl_d.SYSCTL_CONF)
    result["runtime_changes"], result["pending"] = runtime_changes(wanted, running)
    return result


def _absent_entries(current_text, foreign, conf):
    """Keys to restore on removal: those in our drop-in plus those named in ``conf``; none when there is no file."""
    if current_text is None:
        return []
    merged = normalized_conf(conf)
    for interface, keys in (managed_conf(current_text) if not foreign else {}).items():
        merged.setdefault(interface, {}).update(keys)
    return entries(merged)


def _restored(managed_entries, candidates_after):
    """What removing our drop-in leaves: each key's expected boot value (``_boot_model``) with the remaining files."""
    resolution = sysctl_d.resolve(sysctl_d.boot_files(candidates_after))
    return [(interface, key, boot_model.restore_value(resolution, interface, key))
            for interface, key, _value in managed_entries]
