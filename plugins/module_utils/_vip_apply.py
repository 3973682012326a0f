# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The I/O edge of the VIPs: ask ``_vip_plan`` for a plan on what was read, run its ``ip`` commands.

``converge`` is shared by ``lvs.realserver.loopback_vip`` and by
``lvs.realserver.converge`` (the role's one module run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils._step import failure_fields
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan as planner


def run_operations(module, operations):
    """Run the operations in order; stop at the first failure. Returns ``(done, failure)``."""
    done = []
    for operation in operations:
        rc, out, err = module.run_command(operation["argv"])
        if rc != 0:
            return done, dict(operation, rc=rc, stdout=out, stderr=err)
        done.append(operation)
    return done, None


def addresses_result(addresses, label):
    return [planner.address_dict(a, label) for a in sorted(addresses, key=planner.sort_key)
            if not planner.is_protected(a)]


def partial_after(before, done, desired):
    """The device's addresses once only the ``done`` operations ran."""
    current = list(before)
    for operation in done:
        local, prefixlen = operation["address"].split("/")
        if operation["action"] == "del":
            current = [a for a in current if not (a.local == local and a.prefixlen == int(prefixlen))]
        else:
            vip = _iproute.parse_vip(operation["address"])[0]
            current = [a for a in current if planner.ip_of(a.local) != vip]
            current.append(planner.desired_address(vip, desired["device"], desired["label"], desired["scope"]))
    return current


def converge(module, desired, interfaces, guard_conf, ip_bin, require_arp_protection=True, outer=None,
             outer_key="vips", runtime=_runtime_mode.APPLY, detector=None):
    """Put the VIPs of ``desired`` (``_vip_plan.validate``) in place; returns the result fields, or None once it
    has failed the module (``fail_json``: a refusal of the guard, or a failed ``ip`` command).

    ``interfaces`` is what ``_host_state.read_interfaces`` read; ``guard_conf``
    the ARP values the guard judges. In check mode (or when nothing is to be
    done) nothing runs. The result holds ``diff`` (one dict) in diff mode and
    ``applied`` (whether an ``ip`` command ran, so that the caller re-reads
    the interfaces) and ``boot_after`` (None, or, when the runtime was skipped,
    the device's addresses once the boot unit ran: the boot view the verdict
    judges). ``outer``: the calling module's own result so far, which a
    failure then reports, with this step's fields under ``outer_key``.
    ``runtime``: ``auto``, ``apply`` or ``skip`` (``_runtime_mode``); when
    skipped no ``ip`` command runs and ``runtime_skipped`` lists them.
    ``detector``: what ``auto`` asks (default ``_runtime_mode.detect``).
    """
    runtime, reasons, warn = _runtime_mode.resolve(runtime, detector)
    live = runtime == _runtime_mode.APPLIED
    plan = planner.plan(desired, interfaces, guard_conf, ip_bin, require_arp_protection and live)
    if not live and not plan["error"]:
        plan = _runtime_mode.skip_vip_plan(plan)
    result = dict(
        changed=False, added=[], removed=[], device=desired["device"], label=desired["label"],
        addresses=addresses_result(plan["before"], desired["label"]), guard=plan["guard"],
        runtime_skipped=plan.get("runtime_skipped", []), **_runtime_mode.report(runtime, reasons))
    if plan["error"]:
        module.fail_json(msg=plan["error"], **failure_fields(result, outer, outer_key))
        return None
    if warn:
        module.warn(_runtime_mode.warning(reasons))
    for warning in plan["warnings"]:
        module.warn(warning)

    result.update(changed=bool(plan["operations"]), added=plan["added"], removed=plan["removed"],
                  addresses=addresses_result(plan["after"], desired["label"]))
    if module._diff:
        header = "%s (addresses)" % desired["device"]
        result["diff"] = dict(before=planner.vip_lines(plan["before"]), after=planner.vip_lines(plan["after"]),
                              before_header=header, after_header=header)
    boot_after = plan.get("boot_after")
    if module.check_mode or not plan["operations"]:
        return dict(result, applied=False, boot_after=boot_after)

    done, failure = run_operations(module, plan["operations"])
    if failure:
        now = partial_after(plan["before"], done, desired)
        not_done = [op["action"] + " " + op["address"] for op in plan["operations"][len(done):]]
        result.update(
            changed=bool(done),
            added=[op["address"] for op in done if op["action"] == "add"],
            removed=[op["address"] for op in done if op["action"] == "del"],
            addresses=addresses_result(now, desired["label"]),
            not_done=not_done,
            rc=failure["rc"], stdout=failure["stdout"], stderr=failure["stderr"], cmd=failure["argv"])
        if module._diff:
            result["diff"]["after"] = planner.vip_lines(now)
        module.fail_json(
            msg="%s %s on %s failed (rc %d: %s); done before it: %s; not done: %s. Rerun to converge" % (
                "adding" if failure["action"] == "add" else "removing", failure["address"], desired["device"],
                failure["rc"], (failure["stderr"] or failure["stdout"]).strip() or "no output",
                ", ".join(op["action"] + " " + op["address"] for op in done) or "nothing",
                ", ".join(not_done)),
            **failure_fields(result, outer, outer_key))
        return None
    return dict(result, applied=True, boot_after=boot_after)
