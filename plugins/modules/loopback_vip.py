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
author:
  - lvs.realserver developers (@lvs-realserver)
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
  runtime:
    description:
      - Whether the live addresses are changed.
      - V(apply) runs the C(ip addr) changes (failing where the module lacks C(CAP_NET_ADMIN)).
      - V(skip) runs no C(ip addr) change. RV(runtime_skipped) lists the changes left out, RV(added) and RV(removed)
        stay empty and the verdict in RV(guard) is V(skipped) (no VIP is added, so nothing is refused).
      - V(auto) detects a host that cannot take runtime changes (C(/proc/sys) mounted read-only, or no
        C(CAP_NET_ADMIN), as in an unprivileged container) and then does what V(skip) does, with one warning.
        Elsewhere it is V(apply). One playbook then runs on hosts and on such containers alike.
    type: str
    choices: [auto, apply, skip]
    default: apply
notes:
  - Set the ARP sysctls first with M(lvs.realserver.arp_sysctl) (the C(lvs.realserver.realserver) role does it in
    the right order). Remove VIPs before relaxing the sysctls.
  - VIPs added with C(ip) do not survive a reboot by themselves. M(lvs.realserver.boot_unit) installs a boot unit
    that re-adds them after C(systemd-sysctl) and fails closed the same way.
  - The mode is derived from the device. C(tunl0) is LVS-TUN; it must exist (M(lvs.realserver.boot_unit) with
    O(lvs.realserver.boot_unit#module:mode=tun) loads C(ipip) and brings it up). The host's compliance verdict is
    M(lvs.realserver.arp_facts)'s job.
  - A network manager that manages C(lo) (a systemd-networkd C(.network) matching C(lo), netplan listing C(lo),
    a NetworkManager loopback profile) may delete the VIPs; M(lvs.realserver.arp_facts) reports such hazards.
  - If one C(ip) command fails, the module stops, reports what was and was not done, and the failing
    command. Running it again converges.
seealso:
  - module: lvs.realserver.arp_sysctl
  - module: lvs.realserver.arp_facts
  - module: lvs.realserver.boot_unit
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

- name: Keep the VIPs across reboots (the boot unit re-adds them after the ARP sysctls)
  lvs.realserver.boot_unit:
    addresses: [192.0.2.10]

- name: Judge the host (now and after the next boot)
  lvs.realserver.arp_facts:
    vips: [192.0.2.10]

- name: One playbook for hosts and unprivileged containers (no address change where none is possible)
  lvs.realserver.loopback_vip:
    addresses: [192.0.2.10]
    runtime: auto

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
      without loopback and link-local ones, sorted. Each has C(address) (C(address/prefix)), C(family), C(local),
      C(prefixlen), C(scope), C(label) (null for IPv6), C(deprecated) (IPv6 with preferred lifetime 0) and
      C(managed) (whether O(state=exact) treats it as one of this module's VIPs).
  returned: always
  type: list
  elements: dict
  sample:
    - {address: 192.0.2.10/32, family: inet, local: 192.0.2.10, prefixlen: 32, scope: host, label: "lo:lvs",
       deprecated: false, managed: true}
guard:
  description:
    - The ARP-protection verdict for the state after the change, with C(required) (O(require_arp_protection)),
      C(ipv4_additions) (the IPv4 VIPs it was asked about), C(arp_facing) (the interfaces evaluated),
      C(violations) (as M(lvs.realserver.arp_facts) reports them) and C(message) (null on V(pass) and V(not_needed)).
    - "C(verdict): V(pass) no ARP leak; V(fail) an IPv4 VIP was to be added while ARP leaks, refused;
      V(overridden) the same with O(require_arp_protection=false), added anyway; V(exposed) no IPv4 VIP to add,
      but IPv4 VIPs on the device while ARP leaks; V(not_needed) no IPv4 VIP on the device; V(skipped) the runtime
      was skipped (O(runtime))."
  returned: always
  type: dict
  sample:
    verdict: fail
    required: true
    ipv4_additions: [192.0.2.10]
    arp_facing: [eth0]
    violations: [{code: arp_ignore_leak, interface: eth0, key: arp_ignore, expected: 1 or 2, actual: 4}]
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
runtime:
  description: V(applied) when the live addresses were managed, V(skipped) when they were left alone (O(runtime)).
  returned: always
  type: str
  sample: applied
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
  description: The argv of the C(ip) command that failed, with its RV(rc), RV(stdout) and RV(stderr).
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

from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _step
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan as planner


class Host(_step.Host):
    """What the module reads from the host (``_step.Host``: the detector and the lock); tests pass a fake."""

    read_interfaces = staticmethod(_host_state.read_interfaces)  # (module, ip_bin) -> ip -j -d addr show
    read_arp_conf = staticmethod(_host_state.read_arp_conf)  # (module) -> the running ARP values


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            addresses=dict(type="list", elements="str", required=True),
            device=dict(type="str", default="lo"),
            state=dict(type="str", choices=list(planner.STATES), default="present"),
            label=dict(type="str"),
            scope=dict(type="str", choices=list(planner.SCOPES), default="host"),
            require_arp_protection=dict(type="bool", default=True),
            runtime=dict(type="str", choices=list(_runtime_mode.CHOICES), default=_runtime_mode.APPLY),
        ),
        supports_check_mode=True,
    )


def main(host=None):
    """One read of the device and the ARP values, the guard, the ``ip`` commands; ``host`` (default :class:`Host`)."""
    host = host or Host()
    module = _step.start(build_module())
    params = module.params
    errors, desired = planner.validate(
        params["addresses"], params["device"], params["state"], params["label"], params["scope"])
    if errors:
        _step.refuse(module, errors)
        return

    ip_bin = module.get_bin_path("ip", required=True)
    # the VIPs change under the host lock, as arp_sysctl's file and values and the boot unit's files do;
    # the plan, the ip commands and the failure report are shared with lvs.realserver.converge
    result = _step.locked(module, lambda lock: _vip_apply.converge(
        module, desired, host.read_interfaces(module, ip_bin), host.read_arp_conf(module), ip_bin,
        params["require_arp_protection"], runtime=params["runtime"], detector=host.detect), take=host.lock)
    if result is None:  # the step failed the module (the guard refused, or an ip command failed)
        return
    result.pop("applied")
    result.pop("boot_after")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
