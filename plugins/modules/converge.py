#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The action plugin of the same name (plugins/action/converge.py) validates the
# options on the controller with the same code (module_utils/_converge_args.py)
# before this module is sent to the host.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: converge
short_description: Make a host a safe LVS-DR/TUN real server (or undo it) in one module run, in the one safe order
version_added: 1.0.0
author:
  - lvs.realserver developers (@lvs-realserver)
description:
  - The whole job of the C(lvs.realserver.realserver) role in one module execution, so one connection round trip
    per host. With O(state=present) the steps below run in this order, and the first failure stops the run.
  - 1. The ARP sysctl drop-in and the running values, as M(lvs.realserver.arp_sysctl) (O(arp_conf), plus
    O(tun_conf) with O(mode=tun)).
  - 2. With O(mode=tun) and O(tun_load_now=true), the C(ipip) module loaded and C(tunl0) up.
  - 3. With O(boot_unit=false), a boot unit installed earlier removed (stopping it removes its VIPs, re-added next).
  - 4. The VIPs, as M(lvs.realserver.loopback_vip) with O(lvs.realserver.loopback_vip#module:state=exact), refused
    while ARP would leak.
  - 5. With O(boot_unit=true), C(lvs-realserver-vips.service), as M(lvs.realserver.boot_unit).
  - 6. With O(compliance_check=true), the verdict of M(lvs.realserver.arp_facts). The module fails, listing every
    violation with its fix, when the host is not compliant now, or (with O(sysctl_on_conflict=fail)) after
    the next boot.
  - With O(state=absent), the reverse, in this order. The boot unit is stopped, disabled and removed, then the VIPs
    are removed, then the drop-in is removed and the running values are set back to what the remaining sysctl.d
    files give.
  - Each step is the same code as the single-purpose module named (shared module_utils), with the same checks.
  - The drop-in, the running values, the VIPs and the boot unit's files change under the host lock
    C(/run/lvs-realserver.lock), as in those modules (released while systemctl runs the boot unit). A failed step
    is rolled back as in those modules; a complete rollback of the step reports no change of its own.
  - A file at one of the boot unit's paths that M(lvs.realserver.boot_unit) did not write (no marker) is never
    replaced or removed; the run fails naming it (remove it, or use M(lvs.realserver.boot_unit) with
    O(lvs.realserver.boot_unit#module:force=true)).
  - The options are validated on the controller by the action plugin, before anything is sent to the host, with the
    validators of those modules; every message names the option and the value, behind O(variable_prefix).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - lvs.realserver._boot_unit
attributes:
  action:
    support: full
    description: The action plugin validates the options on the controller, then runs this module once on the host.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    description:
      - Every step plans exactly as a real run would and changes nothing. The VIP guard judges the ARP values the
        sysctl step would have written, so a check run fails exactly where a real run would.
      - The verdict is only judged when nothing would change (the host is not in its final state otherwise);
        RV(verdict) says so.
  diff_mode:
    support: full
    description: One diff per step that changes something, in the order of the steps (drop-in, running values, VIPs, unit files).
  platform:
    platforms: posix
    support: full
    description: Linux with systemd (without a running systemd the unit is enabled but not started) and iproute2 with C(ip -j); root.
options:
  state:
    description: V(present) configures the host (sysctls, VIPs, boot unit, verdict); V(absent) undoes it in reverse order.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description: V(dr) for direct routing, V(tun) for IP-in-IP tunnelling (also O(tun_conf), C(ipip) and C(tunl0)).
    type: str
    choices: [dr, tun]
    default: dr
  vips:
    description:
      - The VIPs, IPv4 (C(/32)) and IPv6 (C(/128)), with or without the prefix length. At least one with O(state=present).
      - With O(state=present), other VIPs carrying O(vip_label) (and IPv6 VIPs in the deprecated form this collection
        gives them) are removed. With O(state=absent), the listed VIPs are removed; an empty list removes every VIP
        carrying O(vip_label) on O(vip_device).
    type: list
    elements: str
    default: []
  vip_device:
    description: V(lo), or V(tunl0) with O(mode=tun) (IPv4 VIPs only).
    type: str
    choices: [lo, tunl0]
    default: lo
  vip_scope:
    description: Scope of the IPv4 VIPs (see M(lvs.realserver.loopback_vip) O(lvs.realserver.loopback_vip#module:scope)).
    type: str
    choices: [host, global]
    default: host
  vip_label:
    description: Label of the IPv4 VIPs, at most 15 characters, starting with O(vip_device). Default C(<device>:lvs).
    type: str
  arp_conf:
    description:
      - "The ARP keys as C({interface: {key: value}}) (see M(lvs.realserver.arp_sysctl) O(lvs.realserver.arp_sysctl#module:conf))."
    type: dict
    default: {all: {arp_ignore: 1, arp_announce: 2}}
  tun_conf:
    description: Keys merged per interface into O(arp_conf) with O(mode=tun); ignored in V(dr) mode.
    type: dict
    default: {all: {rp_filter: 0}, default: {rp_filter: 0}, tunl0: {rp_filter: 0}}
  sysctl_path:
    description: The sysctl.d drop-in (a C(*.conf) file directly in a sysctl.d directory).
    type: path
    default: /etc/sysctl.d/99-zz-lvs-realserver.conf
  sysctl_on_conflict:
    description: V(fail) stops before anything is changed when another sysctl file would undo a managed key at boot; V(warn) goes ahead.
    type: str
    choices: [fail, warn]
    default: fail
  sysctl_force:
    description: Take over (or, with O(state=absent), remove) a file at O(sysctl_path) this collection did not write.
    type: bool
    default: false
  boot_unit:
    description:
      - Install the boot unit that re-adds the VIPs at every boot (V(true)), or remove one installed earlier, before
        the VIPs are set (V(false)).
      - O(python), O(metrics_interval) and O(netstack) only apply with V(true), and O(metrics=true) needs it.
    type: bool
    default: true
  tun_load_now:
    description:
      - With O(mode=tun), load C(ipip) and bring C(tunl0) up in this run, before the VIPs. V(false) leaves it to the
        next boot; it needs O(vip_device=lo).
    type: bool
    default: true
  compliance_check:
    description:
      - Read the host's ARP facts after the other steps, return them as RV(ansible_facts.lvs_realserver) and fail
        unless the host is compliant now and (with O(sysctl_on_conflict=fail)) after the next boot.
    type: bool
    default: true
  runtime:
    description:
      - Whether the running kernel is changed (ARP values, VIPs, C(tunl0)), or only what persists (the drop-in, the
        boot unit and its data).
      - V(auto) detects, in this run, a host that cannot take runtime changes (C(/proc/sys) mounted read-only, or no
        C(CAP_NET_ADMIN), as in an unprivileged container) and then converges only what persists, with one warning;
        the boot unit is enabled but not started, and the verdict judges the next boot with the VIPs the unit adds.
        Elsewhere it is V(apply).
      - V(apply) always changes the running kernel and fails, changing nothing, where it cannot.
      - V(skip) converges only what persists on any host (an image build), without a warning.
      - The C(lvs.realserver.realserver) role passes C(realserver_runtime).
    type: str
    choices: [auto, apply, skip]
    default: auto
  netstack:
    description:
      - The network stack the VIPs must survive, with O(boot_unit=true), as
        O(lvs.realserver.boot_unit#module:netstack) (the watch unit that re-adds a VIP the stack removed, behind the
        boot guard, and the stack's hook). V(auto) picks the stacks found on the host; V(none) removes what an earlier
        run installed. The C(lvs.realserver.realserver) role passes C(realserver_netstack).
    type: str
    choices: [auto, networkmanager, networkd, netplan, ifupdown, none]
    default: auto
  variable_prefix:
    description:
      - Put in front of every option name in error messages. The C(lvs.realserver.realserver) role passes
        V(realserver_), so that its errors name its variables, for example C(realserver_vips[0]) for the first VIP.
    type: str
    default: ""
notes:
  - The C(lvs.realserver.realserver) role is one task that calls this module; use the role unless you need the module's
    result in a task of your own.
seealso:
  - module: lvs.realserver.arp_sysctl
  - module: lvs.realserver.loopback_vip
  - module: lvs.realserver.boot_unit
  - module: lvs.realserver.arp_facts
"""

EXAMPLES = r"""
- name: Make the host a safe LVS-DR real server for two VIPs, in one module run
  lvs.realserver.converge:
    vips: [192.0.2.10, 2001:db8::10]

- name: LVS-TUN real server with the VIP on tunl0
  lvs.realserver.converge:
    mode: tun
    vip_device: tunl0
    vips: [198.51.100.10]

- name: Undo it (boot unit, then VIPs, then the drop-in)
  lvs.realserver.converge:
    state: absent
    vips: [192.0.2.10, 2001:db8::10]

- name: What would change, without changing anything
  lvs.realserver.converge:
    vips: [192.0.2.10]
  check_mode: true
  diff: true
  register: plan
"""

RETURN = r"""
sysctl:
  description:
    - What the drop-in step did, with the fields M(lvs.realserver.arp_sysctl) returns (C(path), C(file_changed),
      C(runtime_changes), C(pending), C(boot), C(conflicts)).
  returned: when the step ran
  type: dict
  sample: {changed: true, file_changed: true, path: /etc/sysctl.d/99-zz-lvs-realserver.conf, pending: [], conflicts: []}
tun:
  description: What the C(ipip)/C(tunl0) step did (O(mode=tun), O(tun_load_now=true), O(state=present)).
  returned: when the step ran
  type: dict
  contains:
    changed:
      description: Whether C(ipip) was loaded or C(tunl0) brought up (or would be, in check mode).
      type: bool
    loaded:
      description: Whether C(ipip) was loaded (C(tunl0) was missing).
      type: bool
    brought_up:
      description: Whether C(tunl0) was brought up.
      type: bool
  sample: {changed: true, loaded: false, brought_up: true}
vips:
  description:
    - What the VIP step did, with the fields M(lvs.realserver.loopback_vip) returns (C(added), C(removed), C(addresses),
      C(guard), C(device), C(label)).
  returned: when the step ran
  type: dict
  sample: {changed: true, added: [192.0.2.10/32], removed: [], device: lo, label: "lo:lvs", guard: {verdict: pass}}
boot_unit:
  description: What the boot unit step did, with the fields M(lvs.realserver.boot_unit) returns.
  returned: when the step ran
  type: dict
  sample: {changed: false, unit: lvs-realserver-vips.service, systemd_running: true, files: [], systemctl: []}
ansible_facts:
  description: Facts set on the host.
  returned: when O(compliance_check=true) and O(state=present)
  type: dict
  contains:
    lvs_realserver:
      description:
        - The ARP state, boot state and compliance verdict after the other steps, as M(lvs.realserver.arp_facts) returns
          them (RV(lvs.realserver.arp_facts#module:ansible_facts.lvs_realserver)). In check mode, the host as it is.
      type: dict
      sample: {compliant: true, state: compliant, mode: dr, violations: [], at_boot: {compliant: true}}
runtime:
  description:
    - V(applied) when the running kernel was managed, V(skipped) when only what persists was (O(runtime)).
  returned: always
  type: str
  sample: applied
runtime_reasons:
  description: Why the sysctl step found the host unable to take runtime changes, which every step then skipped; [] when applied.
  returned: always
  type: list
  elements: str
  sample: ["the module runs without CAP_NET_ADMIN (CapEff 00000000a80425fb), so addresses cannot be added"]
verdict:
  description:
    - V(compliant); V(pending) in check mode when something would change (not judged then); V(not_checked) with
      O(compliance_check=false) or O(state=absent). A host that is not compliant fails the module.
    - When the module failed on the verdict, the failing state, V(exposed) or V(non_compliant), which is the state
      now, or the state after the next boot when only that one fails (or when the runtime was skipped).
  returned: always
  type: str
  sample: compliant
violations:
  description:
    - The violations now and after the next boot, each with C(when), C(code), C(severity), C(interface), C(key),
      C(actual), C(expected), C(message) and C(fix).
  returned: when the verdict failed
  type: list
  elements: dict
  sample: [{when: now, code: arp_ignore_leak, interface: eth0, key: arp_ignore, actual: 0, expected: 1 or 2}]
errors:
  description: The problems with the options, each naming the option and the value.
  returned: when the options are invalid
  type: list
  elements: str
  sample: ["realserver_vips[0]: '192.0.2.10/24' ..."]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _converge_args as args
from ansible_collections.lvs.realserver.plugins.module_utils import _facts
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _step
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _verdict
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan
from ansible_collections.lvs.realserver.plugins.module_utils._step import failure_fields

TUNL0_SYSFS = "/sys/class/net/tunl0"
IFF_UP = 0x1
# converge never replaces or removes a boot-unit file it did not write: the user decides, outside the role
FORCE_HINT = "lvs.realserver.boot_unit with force: true (or remove them by hand)"


class Run(object):
    """The module's result, built step by step; each step's diff is kept in order."""

    def __init__(self, module):
        self.module = module
        self.result = dict(changed=False, verdict="not_checked")
        self.diffs = []
        self.failed = False

    def record(self, key, step):
        """Keep ``step``'s result under ``key``; None (the step failed the module) marks the run failed."""
        if step is None:
            self.failed = True
            return None
        diff = step.pop("diff", None)
        if isinstance(diff, dict):
            self.diffs.append(diff)
        elif diff:
            self.diffs.extend(diff)
        self.result[key] = step
        self.result["changed"] = self.result["changed"] or bool(step["changed"])
        return step

    def fail(self, msg, **fields):
        self.failed = True
        self.module.fail_json(msg=msg, **dict(self.result_with_diff(), **fields))

    def result_with_diff(self):
        if self.module._diff:
            return dict(self.result, diff=self.diffs)
        return self.result


def tun_device_up(module, ip_bin, prefix, outer, sysfs=TUNL0_SYSFS):
    """Load ipip when tunl0 is missing and bring tunl0 up (in check mode: say so). Returns the step's result, or
    None once it has failed the module.

    ``sysfs``: tunl0's directory under /sys (its existence and its ``flags``).
    """
    result = dict(changed=False, loaded=False, brought_up=False)

    def fail(msg, **fields):
        module.fail_json(msg=msg, **dict(failure_fields(result, outer, "tun"), **fields))

    if not os.path.exists(sysfs):
        result.update(changed=True, loaded=True, brought_up=True)
        if module.check_mode:
            return result
        argv = [module.get_bin_path("modprobe", required=True), "ipip"]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            result.update(changed=False, loaded=False, brought_up=False)
            fail("cannot load the ipip module (rc %d: %s), so tunl0 does not exist; set %stun_load_now: false to leave "
                 "it to the next boot" % (rc, (err or out).strip() or "no output", prefix),
                 cmd=argv, rc=rc, stdout=out, stderr=err)
            return None
        if not os.path.exists(sysfs):
            fail("ipip is loaded but tunl0 does not exist")
            return None
    with open(os.path.join(sysfs, "flags")) as handle:
        flags = int(handle.read().strip(), 16)
    if flags & IFF_UP:
        return result
    result.update(changed=True, brought_up=True)
    if not module.check_mode:
        argv = [ip_bin, "link", "set", "dev", "tunl0", "up"]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            fail("bringing tunl0 up failed (rc %d: %s)" % (rc, (err or out).strip() or "no output"),
                 cmd=argv, rc=rc, stdout=out, stderr=err)
            return None
    return result


class Steps(object):
    """The steps and the host reads, as the module runs them: production defaults (tests pass recorders)."""

    sysctl = staticmethod(_sysctl_apply.converge)
    tun = staticmethod(tun_device_up)
    vips = staticmethod(_vip_apply.converge)
    boot_unit = staticmethod(_boot_unit_apply.converge)
    read_interfaces = staticmethod(_host_state.read_interfaces)
    read_arp_conf = staticmethod(_host_state.read_arp_conf)
    gather_facts = staticmethod(_host_state.gather_facts)
    boot_view = staticmethod(_runtime_mode.on_device)
    lock = staticmethod(_step.host_lock)


def present(module, run, params, lock, steps):
    """sysctls, (tun: ipip, tunl0 up), (no unit wanted: unit removed), VIPs, boot unit, verdict."""
    prefix = params["variable_prefix"]
    desired = args.desired_vips(params)
    sysctl = run.record("sysctl", steps.sysctl(
        module, "present", args.sysctl_conf(params), params["sysctl_path"], params["sysctl_force"],
        params["sysctl_on_conflict"], params["runtime"], outer=run.result, lock=lock))
    # one decision for the run: the sysctl step detected (auto) what the host can take, and warned once
    live = sysctl["runtime"] == _runtime_mode.APPLIED
    runtime = _runtime_mode.APPLY if live else _runtime_mode.SKIP
    run.result.update(_runtime_mode.report(sysctl["runtime"], sysctl["runtime_reasons"]))
    ip_bin = module.get_bin_path("ip", required=True)
    if params["mode"] == "tun" and params["tun_load_now"] and live:
        if run.record("tun", steps.tun(module, ip_bin, prefix, run.result)) is None:
            return
    if not params["boot_unit"]:
        run.record("boot_unit", unit_absent(module, run, params, lock, steps))

    interfaces = steps.read_interfaces(module, ip_bin)
    conf = steps.read_arp_conf(module)
    # In check mode nothing was written: the guard judges the values the sysctl step would have written.
    guard_conf = _vip_plan.with_runtime_changes(conf, sysctl["runtime_changes"]) if module.check_mode else conf
    vips = steps.vips(module, desired, interfaces, guard_conf, ip_bin, outer=run.result, runtime=runtime)
    if run.record("vips", vips) is None:
        return
    if vips.pop("applied"):
        interfaces = steps.read_interfaces(module, ip_bin)
    boot_after = vips.pop("boot_after")

    if params["boot_unit"]:
        run.record("boot_unit", steps.boot_unit(
            module, "present", [str(v) for v in desired["vips"]], desired["device"], desired["scope"],
            desired["label"], params["mode"], params["python"], start=live, outer=run.result, force=False, lock=lock,
            metrics=args.metrics(params), metrics_dir=params["metrics_dir"],
            force_hint=FORCE_HINT, netstack=params["netstack"]))

    if params["compliance_check"]:
        judge(module, run, params, conf, interfaces, boot_after, sysctl, desired, steps)


def judge(module, run, params, conf, interfaces, boot_after, sysctl, desired, steps):
    """The verdict after the other steps: ``ansible_facts``, ``verdict``; fails the module when not compliant."""
    # runtime skipped: the boot view judges the device as the boot unit leaves it
    boot = (steps.boot_view(interfaces, desired["device"], boot_after)
            if boot_after is not None and params["boot_unit"] else None)
    facts = steps.gather_facts(conf, interfaces, mode=params["mode"], expected_vips=params["vips"],
                               boot_interfaces=boot)
    facts.update(_runtime_mode.report(sysctl["runtime"], sysctl["runtime_reasons"]))
    run.result["ansible_facts"] = {_facts.FACTS_KEY: facts}
    if module.check_mode and run.result["changed"]:
        run.result["verdict"] = "pending"
        return
    verdict = _verdict.judge(facts, params["sysctl_on_conflict"], len(desired["vips"]), desired["device"])
    if verdict["holds"]:
        run.result.update(verdict="compliant", msg=verdict["success"])
    else:
        run.result["verdict"] = verdict["state"]
        run.fail("\n".join(verdict["failure"]), violations=verdict["violations"])


def absent(module, run, params, lock, steps):
    """The reverse: the boot unit (it re-adds VIPs at boot), then the VIPs, then the drop-in."""
    run.record("boot_unit", unit_absent(module, run, params, lock, steps))
    ip_bin = module.get_bin_path("ip", required=True)
    interfaces = steps.read_interfaces(module, ip_bin)
    conf = steps.read_arp_conf(module)
    vips = run.record("vips", steps.vips(module, args.desired_vips(params), interfaces, conf, ip_bin,
                                         outer=run.result, runtime=params["runtime"]))
    if vips is None:
        return
    vips.pop("applied")
    vips.pop("boot_after")
    # the VIP step warned already when auto found the host unable to take runtime changes
    sysctl_runtime = _runtime_mode.SKIP if vips["runtime"] == _runtime_mode.SKIPPED else params["runtime"]
    run.record("sysctl", steps.sysctl(
        module, "absent", args.sysctl_conf(params), params["sysctl_path"], params["sysctl_force"],
        params["sysctl_on_conflict"], sysctl_runtime, outer=run.result, lock=lock))
    run.result.update(_runtime_mode.report(vips["runtime"], vips["runtime_reasons"]))


def unit_absent(module, run, params, lock, steps):
    """The boot unit and the metrics timer removed (never a file the boot unit module did not write)."""
    return steps.boot_unit(module, "absent", outer=run.result, force=False, lock=lock,
                           metrics_dir=params["metrics_dir"], force_hint=FORCE_HINT)


def errors_of(params):
    """Every problem with the options (the action plugin's checks, then the host's interpreter); [] if none."""
    errors = args.errors(params)
    if not errors and params["state"] == "present" and params["boot_unit"]:
        reason = boot.interpreter_error(params["python"])  # on the host: the interpreter is the host's
        if reason:
            errors.append("%spython: %r %s" % (params["variable_prefix"], params["python"], reason))
    return errors


def main(steps=None):
    """The role's whole job in one run; ``steps`` (default :class:`Steps`) are the steps and the host reads."""
    steps = steps or Steps()
    module = _step.start(AnsibleModule(argument_spec=args.ARGUMENT_SPEC, supports_check_mode=True))
    params = module.params
    errors = errors_of(params)
    if errors:
        _step.refuse(module, errors)
        return
    run = Run(module)
    # the host lock is held while the file, the running values, the VIPs and the unit's files change
    # (the boot unit step releases it around systemctl, which runs the unit's controller, which takes it)
    _step.locked(module, lambda lock: (present if params["state"] == "present" else absent)(
        module, run, params, lock, steps), take=steps.lock)
    if not run.failed:
        module.exit_json(**run.result_with_diff())


if __name__ == "__main__":
    main()
