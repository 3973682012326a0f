#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: arp_facts
short_description: ARP state, boot state and an LVS real-server compliance verdict as facts
version_added: 1.0.0
author:
  - lvs.realserver developers (@lvs-realserver)
description:
  - Reports, as C(ansible_facts['lvs_realserver']), whether this host would answer ARP for its
    LVS-DR/LVS-TUN VIPs, or announce them as ARP sender, right now and after the next boot.
  - For every ARP-facing interface (an IPv4 interface that is not loopback, not C(NOARP) and not a
    bridge or bond port) it reports the raw C(all), C(default) and interface values of each ARP key,
    the effective value the kernel uses, and the combining rule (C(max) or C(or)).
  - Reports the VIPs on C(lo) (and C(tunl0) in TUN mode) with prefix, scope and label.
  - Resolves C(/etc/sysctl.d) and the other sysctl.d directories the way C(systemd-sysctl) does at
    boot and reports, per key, the value at next boot with its file and line, the keys whose running
    value differs (drift), and the verdict the same evaluator gives for the boot values.
  - Reports hazards that would undo the protection later, with the file, the line and a one-line
    fix each; see RV(ansible_facts.lvs_realserver.hazards).
  - Read-only. One C(ip -j -d addr show) process, reads under C(/proc/sys), C(/proc/net/route) and
    configuration files, no per-key subprocess. Identical under check mode. Needs no facts from
    M(ansible.builtin.setup).
  - Works without parameters, so it can be a facts module run by C(gather_facts); see the examples.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same with and without C(--check).
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
    support: full
    description: Linux only (C(/proc/sys/net/ipv4/conf) and iproute2).
options:
  mode:
    description:
      - The LVS forwarding method the host is a real server for.
      - V(tun) also checks C(tunl0) (present, up, and C(rp_filter) so that decapsulated packets are
        not dropped) and accepts VIPs on C(tunl0).
    type: str
    choices: [dr, tun]
    default: dr
  vips:
    description:
      - VIPs that must be present (IPv4 C(/32) or IPv6 C(/128), with or without the prefix length).
      - A missing VIP, or one sitting on an ARP-facing interface, is a violation.
      - Without it, the VIPs are the non-loopback addresses found on C(lo) (and C(tunl0) in TUN mode).
    type: list
    elements: str
    default: []
  interfaces:
    description:
      - Judge only these ARP-facing interfaces (for example the one facing the director's segment).
      - By default every ARP-facing interface is judged.
    type: list
    elements: str
    default: []
  runtime:
    description:
      - Which view the C(at_boot) verdict takes on a host where runtime changes are impossible.
      - V(auto) detects a host that cannot take runtime changes (C(/proc/sys) mounted read-only, or no
        C(CAP_NET_ADMIN), as in an unprivileged container), where the C(lvs.realserver.realserver) role only
        converges what persists. There RV(ansible_facts.lvs_realserver.runtime) is V(skipped), and C(at_boot)
        judges the next boot with the VIPs the boot unit adds (from C(/etc/lvs-realserver/vips.json)).
        Judge such a host by C(at_boot); the verdict of now describes a kernel nothing was allowed to change.
      - V(skip) takes that view on any host; V(apply) never does (RV(ansible_facts.lvs_realserver.runtime) is
        V(applied)).
    type: str
    choices: [auto, apply, skip]
    default: auto
  detail:
    description:
      - How much of the facts to return. The verdicts (now and at boot) are the same at every level.
      - V(full) returns every fact below.
      - V(verdict) returns the verdict and what explains it (C(compliant), C(state), C(violations), C(warnings),
        C(arp_facing), C(vips), C(future_interfaces), C(drift), C(at_boot), C(hazards), C(hazard_count),
        C(runtime), C(runtime_reasons), C(mode), C(collected_at), C(facts_version), C(detail)) and leaves out
        the per-key tables C(interfaces), C(conf_all), C(conf_default), C(boot), C(boot_tool) and
        C(boot_prediction), about five sixths of the result. Fleet checks that only report the verdict
        (the C(lvs.realserver.compliance) playbook) use it, with less to send, cache and put in reports per host.
    type: str
    choices: [full, verdict]
    default: full
notes:
  - Values are read from C(/proc/sys/net/ipv4/conf/<interface>/<key>) as signed integers, with the
    literal interface name; VLAN names with dots need no translation there. In C(boot), names with
    dots use the slash form of sysctl.d (C(net.ipv4.conf.eth0/100.arp_ignore)).
  - The boot value of a key that no file sets is the kernel default (C(0)) for C(all), C(default) and
    C(lo). For another interface it depends on the boot order, see
    RV(ansible_facts.lvs_realserver.boot_prediction). A NIC that appears after C(systemd-sysctl), or
    that exists before it without an IPv4 address, ends with the boot value of C(default), because it copies
    C(default) when it is created and C(systemd-sysctl)'s write to C(default) still reaches a NIC that
    has no address yet. One that already has an address then (given by the initramfs) keeps the
    kernel default. Such keys have C(value=null) and C(file=null) in RV(ansible_facts.lvs_realserver.boot)
    and C(basis=default) in RV(ansible_facts.lvs_realserver.drift).
  - To run it at fact-gathering time next to M(ansible.builtin.setup), set
    C(facts_modules = ansible.builtin.setup, lvs.realserver.arp_facts) in the C([defaults]) section of
    C(ansible.cfg), or C(ANSIBLE_FACTS_MODULES=ansible.builtin.setup,lvs.realserver.arp_facts), or the
    C(ansible_facts_modules) variable. Facts are read as C(ansible_facts['lvs_realserver']); nothing
    relies on injected C(ansible_*) variables.
  - The default routes come from C(/proc/net/route), which lists the main table only and the first
    nexthop of a multipath route; policy routing rules are not followed.
  - NetworkManager keyfiles are only readable by root; without root those hazards are reported as
    not checked in RV(ansible_facts.lvs_realserver.warnings).
  - An action plugin validates the options on the controller. Where the connection pipelines, it then runs this
    module's code on the host without ansible-core's module framework, whose import is most of a module run's CPU
    there (about 0.06 s of CPU per host instead of about 0.25 s). It pipes the collection's module_utils to the
    host's Python in the one round trip and writes nothing on the host. The facts are the same. The Python is the
    one a module would run with; in the C(auto) modes of C(interpreter_python) ansible-core's discovery finds it
    first, as for a module. Otherwise (no pipelining, C(async), C(delegate_to), a non-POSIX shell, or the host
    variable C(lvs_realserver_arp_facts_direct=false)) the module runs as any module does.
seealso:
  - module: lvs.realserver.arp_sysctl
  - module: lvs.realserver.loopback_vip
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Gather the LVS real-server ARP facts
  lvs.realserver.arp_facts:

- name: Judge an LVS-TUN real server with its expected VIPs
  lvs.realserver.arp_facts:
    mode: tun
    vips:
      - 192.0.2.10
      - 2001:db8::10

- name: Fail unless compliant now, or at the next boot where the runtime could not be changed (unprivileged CI)
  ansible.builtin.assert:
    that: >-
      ansible_facts['lvs_realserver']['at_boot']['compliant']
      and (ansible_facts['lvs_realserver']['runtime'] == 'skipped' or ansible_facts['lvs_realserver']['compliant'])

- name: Only the verdict and what explains it, for a fleet check (no per-key tables)
  lvs.realserver.arp_facts:
    detail: verdict

- name: Fail when the host would answer ARP for a VIP
  ansible.builtin.assert:
    that: ansible_facts['lvs_realserver']['compliant']
    fail_msg: "{{ ansible_facts['lvs_realserver']['violations'] | map(attribute='fix') | list }}"

# Run at gather time next to setup (ansible.cfg:
#   [defaults]
#   facts_modules = ansible.builtin.setup, lvs.realserver.arp_facts
# or the same in the play, as below).
- name: Check real servers while gathering facts
  hosts: realservers
  gather_facts: true
  vars:
    ansible_facts_modules:
      - ansible.builtin.setup
      - lvs.realserver.arp_facts
  module_defaults:
    lvs.realserver.arp_facts:
      mode: dr
  tasks:
    - name: Show the verdict
      ansible.builtin.debug:
        msg: "{{ ansible_facts['lvs_realserver']['state'] }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    lvs_realserver:
      description: The ARP state, boot state and verdict of this host.
      returned: always
      type: dict
      contains:
        facts_version:
          description: Version of this structure; incremented on incompatible changes.
          type: int
          sample: 1
        collected_at:
          description: When the facts were read (UTC, ISO 8601); useful when they come from a fact cache.
          type: str
          sample: "2026-11-26T13:30:00Z"
        mode:
          description: The mode judged, V(dr) or V(tun).
          type: str
          sample: dr
        compliant:
          description: True when no violation was found (running values, VIPs and, in TUN mode, tunl0).
          type: bool
          sample: false
        state:
          description:
            - V(compliant); V(non_compliant); or V(exposed), the most severe, when a VIP is present while
              ARP would leak it (neighbours may already map the VIP to this host).
          type: str
          sample: exposed
        violations:
          description: What makes the host non-compliant now. Codes are stable.
          type: list
          elements: dict
          contains:
            code:
              description:
                - V(vip_exposed), V(arp_ignore_leak), V(arp_ignore_scope), V(arp_ignore_blackhole),
                  V(arp_announce_leak), V(arp_announce_on_subnet), V(arp_announce_fallback_source),
                  V(future_interfaces_leak) (no ARP-facing interface yet and C(max(all, default)) unprotected),
                  V(vip_prefix), V(vip_missing), V(vip_on_arp_interface), V(tun_device_missing),
                  V(tun_device_down), V(tun_rp_filter).
              type: str
              sample: arp_ignore_leak
            severity:
              description: V(critical) for V(vip_exposed), else V(error).
              type: str
              sample: error
            interface:
              description: The interface concerned, or null.
              type: str
              sample: eth0
            key:
              description: The sysctl key concerned, or null.
              type: str
              sample: arp_ignore
            expected:
              description: What is required.
              type: raw
              sample: 1 or 2
            actual:
              description: What was found.
              type: raw
              sample: 0
            fix:
              description: A one-line fix.
              type: str
              sample: set net.ipv4.conf.all.arp_ignore = 1
            message:
              description: Why it matters.
              type: str
              sample: the kernel answers ARP for every local address, VIPs included
        warnings:
          description: Informational findings that do not affect the verdict.
          type: list
          elements: str
          sample: ["interfaces created later (VLANs, bonds) would start with arp_ignore 0 and arp_announce 0"]
        arp_facing:
          description: The ARP-facing interfaces judged (down ones included).
          type: list
          elements: str
          sample: [eth0]
        interfaces:
          description:
            - Per ARP-facing interface, C(up) and, per key (C(arp_ignore), C(arp_announce), C(rp_filter),
              C(arp_filter), C(accept_local), C(arp_notify), C(arp_accept), C(proxy_arp), C(forwarding)),
              the raw C(all), C(default) and C(interface) values, the C(effective) value and the C(rule)
              (C(max), C(or), C(iface)).
            - C(arp_ignore) and C(arp_announce) also carry a C(verdict) (V(ok), V(leak), V(broken)) and a C(note).
          type: dict
          sample:
            eth0:
              up: true
              arp_ignore: {all: 1, default: 0, interface: 0, effective: 1, rule: max, verdict: ok, note: null}
        vips:
          description: Non-loopback addresses on lo (and tunl0 in TUN mode).
          type: list
          elements: dict
          sample:
            - {device: lo, family: inet, local: 192.0.2.10, prefixlen: 32, scope: host, label: "lo:lvs0",
               secondary: false, preferred_life_time: 4294967295}
        future_interfaces:
          description: How interfaces created later start (C(max(all, default))) and whether that protects them.
          type: dict
          sample: {protected: true, arp_ignore: 1, arp_announce: 2, detail: arp_ignore 1 and arp_announce 2}
        conf_all:
          description: The raw C(net.ipv4.conf.all) values.
          type: dict
          sample: {arp_ignore: 1, arp_announce: 2, rp_filter: 0}
        conf_default:
          description: The raw C(net.ipv4.conf.default) values.
          type: dict
          sample: {arp_ignore: 0, arp_announce: 0, rp_filter: 2}
        boot:
          description:
            - Keyed by dotted sysctl name, the value each key gets at the next boot from the sysctl.d
              files (as C(systemd-sysctl) resolves them) with the file and line that set it.
            - Covers C(arp_ignore), C(arp_announce) and C(rp_filter) for C(all), C(default), every
              ARP-facing interface and, in TUN mode, C(tunl0).
            - C(value), C(file) and C(line) are null where no file sets the key.
          type: dict
          sample:
            net.ipv4.conf.all.arp_ignore: {value: 1, file: /etc/sysctl.d/99-zz-lvs-realserver.conf, line: 4}
            net.ipv4.conf.eth0.arp_ignore: {value: null, file: null, line: null}
        boot_tool:
          description: Whose rules RV(ansible_facts.lvs_realserver.boot) follows.
          type: str
          sample: systemd-sysctl
        boot_prediction:
          description:
            - One entry per interface and key, for the keys C(arp_ignore), C(arp_announce), C(arp_filter),
              C(rp_filter) and C(arp_notify), and the interfaces C(all), C(default), C(lo), every ARP-facing
              interface and C(tunl0) when it exists or in TUN mode; the value the key gets at the next boot.
            - C(early) is the value if the interface exists before C(systemd-sysctl) runs with its IPv4
              settings already fixed (always for C(lo); a NIC given an address by the initramfs). C(late) is
              the value if it appears after (it copies C(default), then udev's per-interface
              C(systemd-sysctl --prefix) pass writes the explicit keys and globs that match it). A NIC that
              exists before without an address also ends with C(late), because the write to C(default)
              reaches it.
            - C(order_dependent) is true when C(early) and C(late) differ; C(value) is then null, else
              equal to both. For C(all), C(default) and C(lo), C(early) equals C(late).
            - C(basis) (V(file), V(default) or V(kernel_default)), C(file) and C(line) say where C(late) comes
              from; for V(default), the line that sets C(net.ipv4.conf.default.<key>), null when none does.
              A line whose value is not an integer cannot be written at boot, so it does not count.
            - C(late) is also what M(lvs.realserver.arp_sysctl) restores with O(lvs.realserver.arp_sysctl#module:state=absent)
              and what RV(ansible_facts.lvs_realserver.drift) and RV(ansible_facts.lvs_realserver.at_boot) use.
          type: list
          elements: dict
          contains:
            interface:
              description: The interface (C(all), C(default), C(lo), C(eth0), ...).
              type: str
              sample: eth0
            key:
              description: The key under C(net.ipv4.conf.<interface>).
              type: str
              sample: rp_filter
            early:
              description: The value at the next boot if the interface exists before C(systemd-sysctl) runs.
              type: int
              sample: 0
            late:
              description: The value at the next boot if the interface appears after C(systemd-sysctl) ran.
              type: int
              sample: 2
            value:
              description: The value at the next boot when it does not depend on the order, else null.
              type: int
              sample: null
            order_dependent:
              description: True when C(early) and C(late) differ.
              type: bool
              sample: true
            basis:
              description: Where C(late) comes from, V(file), V(default) or V(kernel_default).
              type: str
              sample: default
            file:
              description: The sysctl.d file that sets it, or null.
              type: str
              sample: /etc/sysctl.d/10-rp.conf
            line:
              description: The line in C(file), or null.
              type: int
              sample: 1
          sample:
            - {interface: eth0, key: arp_ignore, early: 1, late: 1, value: 1, order_dependent: false,
               basis: file, file: /etc/sysctl.d/99-zz-lvs-realserver.conf, line: 5}
            - {interface: eth0, key: rp_filter, early: 0, late: 2, value: null, order_dependent: true,
               basis: default, file: /etc/sysctl.d/10-rp.conf, line: 1}
        drift:
          description:
            - Keys whose running value is none of the values they can have after the next boot (see
              RV(ansible_facts.lvs_realserver.boot_prediction)); an order-dependent key whose running value
              equals its C(early) or its C(late) value is not drift.
            - C(boot) is the expected (C(late)) value. C(basis) says where it comes from, V(file),
              V(kernel_default) (no file sets it) or V(default) (an interface key set by no file inherits
              C(default)); C(file) and C(line) are the line that decides it (for V(default), the one that
              sets C(default)).
          type: list
          elements: dict
          sample:
            - {name: net.ipv4.conf.all.arp_ignore, interface: all, key: arp_ignore, live: 1, boot: 0,
               basis: kernel_default, file: null, line: null}
        at_boot:
          description:
            - The verdict for the boot values with today's interfaces and VIPs.
            - Order-dependent keys count with their C(late) value (see
              RV(ansible_facts.lvs_realserver.boot_prediction)). A violation their C(early) value would add
              (an interface protected only by inheriting C(default)) is named in
              RV(ansible_facts.lvs_realserver.warnings), starting with C(at_boot:).
          type: dict
          sample: {compliant: false, state: exposed, violations: [], future_interfaces: {}}
        hazards:
          description:
            - Configuration that can undo the protection later, each with a C(code), C(severity)
              (V(error), V(warning), V(info)), C(file), C(line), C(interface), C(message) and C(fix).
            - Codes are V(networkd_manages_lo), V(netplan_lists_lo), V(networkmanager_loopback_profile),
              V(ifupdown_manages_lo), V(vip_on_arp_interface), V(all_rp_filter_breaks_tun), V(tunl0_rp_filter_at_boot),
              V(dr_rp_filter_asymmetric), V(sysctl_conf_overrides), V(sysctl_bad_value).
            - The lo hazards (a network stack that removes the VIPs from C(lo)) are V(info) while the boot unit's
              watch (C(lvs-realserver-watch.service), M(lvs.realserver.boot_unit) O(lvs.realserver.boot_unit#module:netstack))
              runs, and V(networkd_manages_lo) is V(info) from systemd 252 on, whose networkd never drops foreign
              addresses on loopback (measured in the real-boot tier).
            - V(dr_rp_filter_asymmetric) (DR mode, a warning) names an ARP-facing interface whose
              C(max(all, interface).rp_filter) is 1, now or after the next boot, while the preferred IPv4
              default route of the main table leaves through another interface; a client's packet to a VIP
              that arrives there is dropped. Without an IPv4 address on the interface any non-zero value
              drops it. Not reported when there is no default route or C(/proc/net/route) is unreadable.
          type: list
          elements: dict
          sample:
            - code: networkd_manages_lo
              severity: warning
              file: /etc/systemd/network/99-all.network
              line: 2
              interface: lo
              message: systemd-networkd manages lo through /etc/systemd/network/99-all.network ...
              fix: exclude lo from /etc/systemd/network/99-all.network ([Match] Name=!lo or a narrower Name=) ...
        hazard_count:
          description: Number of hazards other than V(info) ones.
          type: int
          sample: 1
        runtime:
          description:
            - V(skipped) on a host that cannot take runtime changes (see O(runtime)); C(at_boot) then includes
              the VIPs of the boot unit. V(applied) elsewhere.
          type: str
          sample: applied
        runtime_reasons:
          description: Why the runtime counts as skipped (empty when applied).
          type: list
          elements: str
          sample: []
        detail:
          description: The O(detail) level these facts were gathered at; V(verdict) facts lack the per-key tables.
          type: str
          sample: full
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_gather


def main(root="/", detect=None, now=None):
    """Run the module. ``root``: the directory everything is read below; ``detect``: the runtime-capability probe
    (``_runtime_mode.detect``); ``now() -> str``: the ``collected_at`` clock (``_host_state.utc_now``).
    Tests pass a fake tree, a fake probe and a fixed clock."""
    module = AnsibleModule(argument_spec=_arp_gather.ARGUMENT_SPEC, supports_check_mode=True)
    module.run_command_environ_update = dict(_arp_gather.COMMAND_ENVIRONMENT)
    errors = _arp_gather.param_errors(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    facts = _arp_gather.gather(module, module.params, root=root, detect=detect, now=now)
    module.exit_json(**_arp_gather.module_result(facts))


if __name__ == "__main__":
    main()
