#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: loopback_vip
short_description: Put LVS-DR/TUN virtual IPs on lo or tunl0, only once ARP protection is in effect
version_added: 1.0.0
description:
  - Adds, removes or pins the virtual IP addresses (VIPs) of an LVS-DR or LVS-TUN real server on
    C(lo), or on C(tunl0) for LVS-TUN.
  - Before it adds any IPv4 VIP it evaluates the effective C(arp_ignore) and C(arp_announce) of every
    ARP-facing interface (C(max(all, interface)), as the kernel does) for the state B(after) the change,
    with the same rules as M(lvs.realserver.arp_facts). If the kernel would answer ARP for the VIP or
    announce it as an ARP sender, the module fails closed, adds nothing, and names the interface, the
    key, the effective value and the fix. A VIP that exists for one second with C(arp_ignore=0) can
    poison the router's neighbour table for minutes.
  - Reads the host with one C(ip -j -d addr show), adds with C(ip addr replace), removes with a precise
    C(ip addr del ADDRESS/LEN dev DEVICE). It never flushes (C(ip addr flush dev lo:0) empties the
    whole of C(lo), C(127.0.0.1) included) and never runs a shell.
  - Never touches C(127.0.0.0/8), C(::1), link-local addresses, or any address it was not asked about,
    except its own VIPs under O(state=exact).
  - IPv4 VIPs are C(/32) with O(scope) and O(label). IPv6 VIPs are C(/128) with C(preferred_lft 0)
    (deprecated), so the real server never picks them as the source of connections it opens, while
    traffic to them still works. IPv6 needs no ARP protection (NDP only answers for addresses on the
    receiving interface), so IPv6-only changes are not guarded.
author:
  - lvs.realserver developers (@lvs-realserver)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.realserver._vip
attributes:
  check_mode:
    support: full
    description: Runs the same read and the same guard; predicts RV(added), RV(removed) and RV(addresses) exactly and runs no C(ip addr) change.
  diff_mode:
    support: full
    description: The addresses of the device (loopback and link-local ones left out), one per line, before and after.
  platform:
    platforms: posix
    support: full
    description: Linux with an iproute2 that has JSON output (C(ip -j)); root (CAP_NET_ADMIN) to change addresses.
options:
  addresses:
    description:
      - The VIPs, IPv4 and IPv6, each with or without a prefix length.
      - An IPv4 VIP must be C(/32) and an IPv6 VIP C(/128); a shorter prefix on C(lo) turns the whole subnet,
        the gateway included, into local addresses, so it is refused.
      - Loopback (C(127.0.0.0/8), C(::1)), multicast, unspecified, link-local, broadcast/reserved and
        IPv4-mapped IPv6 addresses are refused. IPv6 VIPs are refused on C(tunl0) (IPIP carries IPv4 only).
      - Duplicates (V(192.0.2.10) and V(192.0.2.10/32)) count once.
      - With O(state=exact), an empty list removes every VIP this module manages on O(device).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds the O(addresses) that are missing and fixes the ones that exist in another form
        (wrong prefix length, O(scope) or O(label); IPv6 without C(preferred_lft 0)). A wrong IPv4 label or
        scope, or a wrong prefix length, is fixed by deleting and re-adding the address, because
        C(ip addr replace) silently keeps them.
      - V(absent) removes the O(addresses), in whatever form they are on O(device).
      - V(exact) is V(present) plus the removal of every other VIP this module manages on O(device), that is
        IPv4 addresses carrying O(label), and IPv6 C(/128) addresses with preferred lifetime 0 (the
        deprecated form this module gives IPv6 VIPs; IPv6 addresses carry no label). Other addresses are left alone.
    type: str
    choices: [present, absent, exact]
    default: present
  require_arp_protection:
    description:
      - Refuse to add an IPv4 VIP unless, once it is added, every ARP-facing interface (every interface
        with IPv4 configuration except loopback, NOARP devices and bridge or bond ports; down ones included)
        has an effective C(arp_ignore) of 1 or 2 (3 when every VIP is scope host) and an effective
        C(arp_announce) that cannot put a VIP in an ARP request.
      - Reserved values count as leaks, as the kernel treats them. C(arp_ignore) 4 to 7 and above 8 answer
        like 0, and C(all.arp_ignore=1) with C(eth0.arp_ignore=4) gives an effective 4 on C(eth0).
      - With V(false) the VIP is added anyway and the problems are returned as a warning. Only for labs.
    type: bool
    default: true
  check_mode_runtime_changes:
    description:
      - Check mode only. The running ARP values an earlier task of the same check-mode run would have written
        first, as M(lvs.realserver.arp_sysctl) returns them in
        RV(lvs.realserver.arp_sysctl#module:runtime_changes) (each with C(interface), C(key) and C(after)).
      - The guard then judges the host as a real run would find it, so a check-mode run fails or passes exactly
        where the real run would, instead of judging values that are about to be replaced.
        The C(lvs.realserver.realserver) role passes them.
      - Ignored outside check mode, where the module always judges the values it reads from C(/proc/sys).
    type: list
    elements: dict
    default: []
    suboptions:
      interface:
        description: The interface part of the key (C(all), C(default) or an interface name).
        type: str
        required: true
      key:
        description: The key within the interface, for example C(arp_ignore).
        type: str
        required: true
      after:
        description: The value the earlier task writes.
        type: int
        required: true
      name:
        description: The dotted key; ignored (accepted so that RV(lvs.realserver.arp_sysctl#module:runtime_changes) can be passed as is).
        type: str
      before:
        description: The value before; ignored (accepted for the same reason).
        type: int
  mode:
    description:
      - The LVS forwarding method, V(dr) or V(tun). It only matters with O(facts) (the mode the verdict judges)
        and O(boot_unit) (V(tun) also loads C(ipip) at boot).
    type: str
    choices: [dr, tun]
    default: dr
  facts:
    description:
      - Also return the host's ARP state and compliance verdict as RV(ansible_facts.lvs_realserver), exactly as
        M(lvs.realserver.arp_facts) would with O(lvs.realserver.arp_facts#module:mode) set to O(mode) and
        O(lvs.realserver.arp_facts#module:vips) set to O(addresses) (no expected VIPs with O(state=absent)).
      - They are read after the addresses (and the boot unit) are changed, in the same process, which saves the
        module round trip of a separate M(lvs.realserver.arp_facts) task. The C(lvs.realserver.realserver) role uses
        it for its verdict.
      - In check mode the facts describe the host as it is, not as this task would leave it.
    type: bool
    default: false
  boot_unit:
    description:
      - Also install, enable and (where systemd runs) start C(lvs-realserver-vips.service) for exactly these
        addresses, as M(lvs.realserver.boot_unit) with O(lvs.realserver.boot_unit#module:state=present) does,
        after the addresses are in place and in the same module run. RV(boot_unit) reports what it did.
      - Needs O(state=exact), because the unit re-adds exactly the listed addresses at every boot.
      - V(false) leaves the unit alone; remove it with M(lvs.realserver.boot_unit).
    type: bool
    default: false
  boot_unit_python:
    description:
      - With O(boot_unit=true), the interpreter of the boot unit, as M(lvs.realserver.boot_unit)'s
        O(lvs.realserver.boot_unit#module:python) (an absolute path to a root-owned executable; anything else is refused).
    type: str
    default: /usr/bin/python3
  boot_unit_force:
    description:
      - With O(boot_unit=true), replace a file at one of the boot unit's paths that
        M(lvs.realserver.boot_unit) did not write. Without it such a file is never overwritten.
    type: bool
    default: false
  boot_unit_metrics:
    description:
      - With O(boot_unit=true), M(lvs.realserver.boot_unit)'s O(lvs.realserver.boot_unit#module:metrics). V(true)
        installs the metrics timer, V(false) removes it (and its C(.prom) file) when present.
    type: bool
    default: false
  boot_unit_metrics_interval:
    description: With O(boot_unit_metrics=true), M(lvs.realserver.boot_unit)'s O(lvs.realserver.boot_unit#module:metrics_interval).
    type: int
    default: 60
  boot_unit_metrics_dir:
    description: With O(boot_unit=true), M(lvs.realserver.boot_unit)'s O(lvs.realserver.boot_unit#module:metrics_dir).
    type: str
    default: /var/lib/prometheus/node-exporter
  boot_unit_netstack:
    description:
      - With O(boot_unit=true), the network stack to cooperate with, as M(lvs.realserver.boot_unit)'s
        O(lvs.realserver.boot_unit#module:netstack) (the watch unit that re-adds a removed VIP behind the guard,
        and the stack's hook); V(none) installs none of it and removes what an earlier run installed.
    type: str
    choices: [auto, networkmanager, networkd, netplan, ifupdown, none]
    default: none
  runtime:
    description:
      - Whether the live addresses are changed, or only what persists (the boot unit and its data).
      - V(apply) runs the C(ip addr) changes (failing where the module lacks C(CAP_NET_ADMIN)).
      - V(skip) runs no C(ip addr) change on any host. The guard does not refuse (no VIP is added now; the boot
        unit's guard judges the ARP values at boot); with O(boot_unit=true) the unit and its data are installed and
        the unit enabled but not started. RV(runtime_skipped) lists the changes left out, RV(added) and RV(removed)
        stay empty, and the verdict in RV(ansible_facts.lvs_realserver) judges the next boot with the VIPs the
        unit adds (C(at_boot)).
      - V(auto) detects, in the same run, a host that cannot take runtime changes (C(/proc/sys) mounted read-only,
        or no C(CAP_NET_ADMIN), as in an unprivileged container) and then does what V(skip) does, with one warning.
        Elsewhere it is V(apply).
      - The C(lvs.realserver.realserver) role passes C(realserver_runtime).
    type: str
    choices: [auto, apply, skip]
    default: apply
notes:
  - Set the ARP sysctls first with M(lvs.realserver.arp_sysctl) (the C(lvs.realserver.realserver) role does it in
    the right order). Remove VIPs before relaxing the sysctls.
  - VIPs added with C(ip) do not survive a reboot by themselves. O(boot_unit=true) (which the
    C(lvs.realserver.realserver) role uses) installs a boot unit that re-adds them after C(systemd-sysctl) and fails
    closed the same way.
  - A network manager that manages C(lo) (a systemd-networkd C(.network) matching C(lo), netplan listing C(lo),
    a NetworkManager loopback profile) may delete the VIPs; M(lvs.realserver.arp_facts) reports such hazards.
  - If one C(ip) command fails, the module stops, reports what was and was not done, and the failing
    command. Running it again converges.
seealso:
  - module: lvs.realserver.arp_sysctl
  - module: lvs.realserver.arp_facts
  - name: ip-address(8)
    description: The iproute2 manual page for C(ip address).
    link: https://man7.org/linux/man-pages/man8/ip-address.8.html
  - name: ip-sysctl (arp_ignore, arp_announce)
    description: The kernel documentation of the ARP sysctls.
    link: https://docs.kernel.org/networking/ip-sysctl.html
"""

EXAMPLES = r"""
- name: Put the VIP of an LVS-DR service on lo (fails if ARP protection is not in effect)
  lvs.realserver.loopback_vip:
    addresses:
      - 192.0.2.10
      - 2001:db8::10

- name: Exactly these VIPs on lo, removing the other VIPs this module added before
  lvs.realserver.loopback_vip:
    addresses: [192.0.2.10/32, 192.0.2.11/32]
    state: exact

- name: LVS-TUN real server with the VIP on tunl0
  lvs.realserver.loopback_vip:
    addresses: [198.51.100.20]
    device: tunl0

- name: Remove a VIP (before the ARP sysctls are relaxed)
  lvs.realserver.loopback_vip:
    addresses: [192.0.2.10]
    state: absent

- name: Put the VIP on lo, keep it across reboots and get the compliance verdict, all in one module run
  lvs.realserver.loopback_vip:
    addresses: [192.0.2.10]
    state: exact
    boot_unit: true
    facts: true

- name: Fail unless the host is compliant now and after the next boot
  ansible.builtin.assert:
    that:
      - ansible_facts['lvs_realserver']['compliant']
      - ansible_facts['lvs_realserver']['at_boot']['compliant']

- name: Set the ARP sysctls (in check mode this only predicts the values it would write)
  lvs.realserver.arp_sysctl:
    conf: {all: {arp_ignore: 1, arp_announce: 2}}
  register: sysctl_result

- name: Add the VIP; in check mode, judge the values the task above would have written
  lvs.realserver.loopback_vip:
    addresses: [192.0.2.10]
    check_mode_runtime_changes: "{{ sysctl_result.runtime_changes }}"

- name: Check what would change, without changing anything
  lvs.realserver.loopback_vip:
    addresses: [192.0.2.10]
  check_mode: true
  diff: true
  register: vip_plan
"""

RETURN = r"""
added:
  description: The VIPs added (or, in check mode, to be added), as C(address/prefix). A VIP fixed by deleting and re-adding it appears here and in RV(removed).
  returned: always
  type: list
  elements: str
  sample: [192.0.2.10/32, 2001:db8::10/128]
removed:
  description: The addresses removed (or, in check mode, to be removed), as C(address/prefix), in the form they had.
  returned: always
  type: list
  elements: str
  sample: [192.0.2.11/32]
addresses:
  description:
    - The addresses on the device afterwards (predicted in check mode, and as far as the module got on failure),
      without loopback and link-local ones, sorted.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: C(address/prefix).
      type: str
      sample: 192.0.2.10/32
    family:
      description: C(inet) or C(inet6).
      type: str
      sample: inet
    local:
      description: The address.
      type: str
      sample: 192.0.2.10
    prefixlen:
      description: The prefix length.
      type: int
      sample: 32
    scope:
      description: The address scope.
      type: str
      sample: host
    label:
      description: The IPv4 label, null for IPv6.
      type: str
      sample: lo:lvs
    deprecated:
      description: IPv6 with preferred lifetime 0 (never chosen as a source address).
      type: bool
      sample: false
    managed:
      description: Whether O(state=exact) treats the address as one of this module's VIPs (see O(label)).
      type: bool
      sample: true
guard:
  description: The ARP-protection verdict for the state after the change.
  returned: always
  type: dict
  contains:
    verdict:
      description:
        - V(pass) no ARP leak; V(fail) an IPv4 VIP was to be added while ARP leaks, refused;
          V(overridden) the same with O(require_arp_protection=false), added anyway;
          V(exposed) no IPv4 VIP to add, but IPv4 VIPs on the device while ARP leaks;
          V(not_needed) no IPv4 VIP on the device, so ARP cannot leak one;
          V(skipped) the runtime was skipped (O(runtime)), no VIP is added now.
      type: str
      sample: pass
    required:
      description: The value of O(require_arp_protection).
      type: bool
      sample: true
    ipv4_additions:
      description: The IPv4 VIPs the guard was asked about.
      type: list
      elements: str
      sample: [192.0.2.10]
    violations:
      description:
        - The ARP violations, as M(lvs.realserver.arp_facts) reports them (C(code), C(severity), C(interface), C(key),
          C(expected), C(actual) (the effective value), C(fix), C(message)).
      type: list
      elements: dict
      sample:
        - code: arp_ignore_leak
          severity: error
          interface: eth0
          key: arp_ignore
          expected: 1 or 2
          actual: 4
          fix: "set net.ipv4.conf.eth0.arp_ignore = 1: the interface value 4 beats all (max rule)"
          message: the kernel answers ARP for every local address, VIPs included
    arp_facing:
      description: The interfaces evaluated.
      type: list
      elements: str
      sample: [eth0]
    message:
      description: The explanation when the verdict is not V(pass) or V(not_needed), else null.
      type: str
device:
  description: The device managed.
  returned: always
  type: str
  sample: lo
label:
  description: The IPv4 label used (the default filled in).
  returned: always
  type: str
  sample: lo:lvs
ansible_facts:
  description: Facts set on the host.
  returned: when O(facts=true) and the module succeeded
  type: dict
  contains:
    lvs_realserver:
      description:
        - The ARP state, boot state and compliance verdict after the change, with the same keys as
          M(lvs.realserver.arp_facts) returns (RV(lvs.realserver.arp_facts#module:ansible_facts.lvs_realserver)),
          for example C(compliant), C(state), C(violations), C(at_boot) and C(hazards).
      type: dict
      sample:
        compliant: true
        state: compliant
        mode: dr
        violations: []
        at_boot: {compliant: true, state: compliant, violations: []}
boot_unit:
  description: What was done to the boot unit, as M(lvs.realserver.boot_unit) returns it.
  returned: when O(boot_unit=true) and the addresses were changed (or were right) without error
  type: dict
  contains:
    changed:
      description: Whether a unit file was written or a systemctl call made (or would be, in check mode).
      type: bool
      sample: false
    unit:
      description: The unit name.
      type: str
      sample: lvs-realserver-vips.service
    systemd_running:
      description: Whether systemd runs as init here; when false the unit was enabled but not started.
      type: bool
      sample: true
    files:
      description: The files written.
      type: list
      elements: str
      sample: [/etc/lvs-realserver/vips.json]
    systemctl:
      description: The systemctl calls made (or that would be made in check mode).
      type: list
      elements: list
      sample: [[daemon-reload], [enable, lvs-realserver-vips.service]]
runtime:
  description: V(applied) when the live addresses were managed, V(skipped) when they were left alone (O(runtime)).
  returned: always
  type: str
  sample: skipped
runtime_reasons:
  description: Why the runtime was skipped (empty when it was applied).
  returned: always
  type: list
  elements: str
  sample: ["the module runs without CAP_NET_ADMIN (CapEff 00000000a80425fb), so addresses cannot be added"]
runtime_skipped:
  description: The C(ip addr) changes left out because the runtime was skipped, as C(add|del address/prefix).
  returned: always
  type: list
  elements: str
  sample: [add 192.0.2.10/32]
not_done:
  description: When an C(ip) command failed, the operations that were not run (the failing one first).
  returned: when an C(ip) command failed
  type: list
  elements: str
  sample: [add 192.0.2.11/32]
cmd:
  description: The argv of the C(ip) command that failed; RV(rc), RV(stdout) and RV(stderr) are its results.
  returned: when an C(ip) command failed
  type: list
  elements: str
  sample: [/usr/sbin/ip, -4, addr, replace, 192.0.2.11/32, dev, lo, scope, host, label, "lo:lvs"]
rc:
  description: Exit status of the failed C(ip) command.
  returned: when an C(ip) command failed
  type: int
  sample: 2
stdout:
  description: Standard output of the failed C(ip) command.
  returned: when an C(ip) command failed
  type: str
  sample: ""
stderr:
  description: Standard error of the failed C(ip) command.
  returned: when an C(ip) command failed
  type: str
  sample: "Error: ipv4: Address not found."
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _facts
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan as planner


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            addresses=dict(type="list", elements="str", required=True),
            device=dict(type="str", default="lo"),
            state=dict(type="str", choices=list(planner.STATES), default="present"),
            label=dict(type="str"),
            scope=dict(type="str", choices=list(planner.SCOPES), default="host"),
            require_arp_protection=dict(type="bool", default=True),
            check_mode_runtime_changes=dict(type="list", elements="dict", default=[], options=dict(
                interface=dict(type="str", required=True),
                key=dict(type="str", required=True, no_log=False),
                after=dict(type="int", required=True),
                name=dict(type="str"),
                before=dict(type="int"),
            )),
            mode=dict(type="str", choices=list(rules.MODES), default="dr"),
            facts=dict(type="bool", default=False),
            boot_unit=dict(type="bool", default=False),
            boot_unit_python=dict(type="str", default="/usr/bin/python3"),
            boot_unit_force=dict(type="bool", default=False),
            boot_unit_metrics=dict(type="bool", default=False),
            boot_unit_metrics_interval=dict(type="int", default=60),
            boot_unit_metrics_dir=dict(type="str", default="/var/lib/prometheus/node-exporter"),
            boot_unit_netstack=dict(type="str", choices=["auto", "networkmanager", "networkd", "netplan", "ifupdown",
                                                         "none"], default="none"),
            runtime=dict(type="str", choices=list(_runtime_mode.CHOICES), default=_runtime_mode.APPLY),
        ),
        supports_check_mode=True,
    )


def main():
    module = build_module()
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    params = module.params

    errors, desired = planner.validate(
        params["addresses"], params["device"], params["state"], params["label"], params["scope"])
    errors.extend(boot_unit_errors(params))
    errors.extend(runtime_change_errors(params["check_mode_runtime_changes"]))
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors, changed=False)

    ip_bin = module.get_bin_path("ip", required=True)
    # the VIPs and the unit's files change under the host lock, as arp_sysctl's file and values do
    lock = _boot_unit_apply.host_lock(module)
    interfaces = _host_state.read_interfaces(module, ip_bin)
    conf = _host_state.read_arp_conf(module)
    guard_conf = planner.with_runtime_changes(conf, params["check_mode_runtime_changes"]) if module.check_mode else conf
    # The plan, the ip commands and the failure report are shared with lvs.realserver.converge.
    result = _vip_apply.converge(module, desired, interfaces, guard_conf, ip_bin, params["require_arp_protection"],
                                 runtime=params["runtime"])
    applied = result.pop("applied")
    boot_after = result.pop("boot_after")
    if not params["boot_unit"]:
        boot_after = None  # no unit re-adds them: the boot view keeps the device as it is
    finish(module, result, desired, conf,
           (lambda: _host_state.read_interfaces(module, ip_bin)) if applied else (lambda: interfaces), lock, boot_after)


def runtime_change_errors(changes):
    errors = []
    for index, change in enumerate(changes):
        reason = _iproute.interface_name_error(change["interface"])
        if reason:
            errors.append("check_mode_runtime_changes[%d].interface: %r %s" % (index, change["interface"], reason))
    return errors


def boot_unit_errors(params):
    if not params["boot_unit"]:
        return []
    errors = []
    if params["state"] != "exact":
        errors.append("boot_unit: true needs state=exact (the unit re-adds exactly the listed addresses at every boot); "
                      "got state=%r" % params["state"])
    if not params["addresses"]:
        errors.append("addresses: [] is empty; boot_unit: true needs at least one VIP")
    if params["device"] == "tunl0" and params["mode"] != "tun":
        errors.append("device: 'tunl0' needs mode=tun with boot_unit: true (got mode=%r)" % params["mode"])
    reason = boot.interpreter_error(params["boot_unit_python"])
    if reason:
        errors.append("boot_unit_python: %r %s" % (params["boot_unit_python"], reason))
    errors.extend(boot.metrics_errors(params["boot_unit_metrics_interval"], params["boot_unit_metrics_dir"], "boot_unit_"))
    return errors


def finish(module, result, desired, conf, interfaces_now, lock=None, boot_after=None):
    """The addresses are in place: the boot unit, then the facts (of ``interfaces_now()``), then exit.

    ``boot_after``: the device's addresses once the boot unit ran, when the
    runtime was skipped (the boot view the verdict judges), else None.
    """
    params = module.params
    if params["boot_unit"]:
        unit = _boot_unit_apply.converge(
            module, "present", [str(v) for v in desired["vips"]], desired["device"], desired["scope"],
            desired["label"], params["mode"], params["boot_unit_python"],
            start=result["runtime"] == _runtime_mode.APPLIED, outer=result, force=params["boot_unit_force"], lock=lock,
            metrics=(params["boot_unit_metrics_interval"], params["boot_unit_metrics_dir"])
            if params["boot_unit_metrics"] else None, metrics_dir=params["boot_unit_metrics_dir"],
            netstack=params["boot_unit_netstack"])
        unit_diff = unit.pop("diff", [])
        if module._diff:
            result["diff"] = [result["diff"]] + unit_diff
        result["boot_unit"] = unit
        result["changed"] = result["changed"] or unit["changed"]
    if params["facts"]:
        expected = [] if params["state"] == "absent" else params["addresses"]
        now = interfaces_now()
        boot = None if boot_after is None else _runtime_mode.on_device(now, desired["device"], boot_after)
        facts = _host_state.gather_facts(conf, now, mode=params["mode"], expected_vips=expected, boot_interfaces=boot)
        facts.update(_runtime_mode.report(result["runtime"], result["runtime_reasons"]))
        result["ansible_facts"] = {_facts.FACTS_KEY: facts}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
