#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: boot_unit
short_description: Bring LVS real-server VIPs up at every boot, only after ARP protection is in effect
version_added: 1.0.0
author:
  - lvs.realserver developers (@lvs-realserver)
description:
  - Installs a systemd oneshot unit, C(lvs-realserver-vips.service), that adds the VIPs at boot and
    removes exactly them on stop, with a data file listing the VIPs
    (C(/etc/lvs-realserver/vips.json)) and a small controller
    (C(/usr/libexec/lvs-realserver/lvs-realserver-vips)) that imports the same ARP rule evaluator
    as M(lvs.realserver.arp_facts) and M(lvs.realserver.loopback_vip).
  - The unit runs without default dependencies, after C(systemd-sysctl.service) and
    C(systemd-modules-load.service) and before C(network-pre.target), so no network manager brings
    an interface up before the VIPs and their ARP protection exist.
  - Its C(ExecStartPre) step evaluates the effective C(arp_ignore)/C(arp_announce) values and fails
    closed, adding no VIP, when they would leak; C(ExecStart) uses C(ip addr replace); C(ExecStop)
    uses one precise C(ip addr del) per VIP, never a flush.
  - In O(mode=tun) it also loads C(ipip) at boot through C(/etc/modules-load.d) and brings C(tunl0) up.
  - The unit is enabled even where systemd is not running (a plain container or an image build); it
    is started only where systemd runs, and RV(systemd_running) says which case applied.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.realserver._vip
  - lvs.realserver._boot_unit
attributes:
  check_mode:
    support: full
    description: Predicts the files and systemctl calls exactly; changes nothing.
  diff_mode:
    support: full
    description: Shows the diff of every file installed or removed.
  platform:
    platforms: posix
    support: full
    description: Linux with systemd.
options:
  addresses:
    description:
      - The VIPs, as for M(lvs.realserver.loopback_vip). IPv4 must be C(/32), IPv6 C(/128).
    type: list
    elements: str
    default: []
  mode:
    description:
      - V(dr) or V(tun). V(tun) also loads C(ipip) at boot and brings C(tunl0) up (LVS-TUN with the VIPs on C(lo)
        needs it too, to decapsulate).
      - Derived from O(device) when not given, V(tun) for C(tunl0), else V(dr). V(dr) with C(tunl0) is refused.
    type: str
    choices: [dr, tun]
  state:
    description:
      - V(present) installs, enables and (where systemd runs) starts the unit.
      - V(absent) stops it (which removes its VIPs), disables it and removes every file it owns.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description: Enable the unit for the next boot.
    type: bool
    default: true
  start:
    description: Start the unit now when systemd is running and it is not active yet.
    type: bool
    default: true
  netstack:
    description:
      - The network stack to cooperate with, so that it cannot take the VIPs away for longer than a moment.
      - "Every choice but V(none) installs C(lvs-realserver-watch.service), the controller's C(watch) mode: it
        listens to the kernel's address and link events (rtnetlink) and re-adds a VIP that disappeared from
        O(device) (in milliseconds on real hardware; 0.2 to 1.5 s in the real-boot tier's single-vCPU emulated
        guest), only after the same guard as at boot passed (never while ARP protection is not in effect), at
        most 5 times in 10 s, with C(Nice=-10) (the stack that removed the VIPs is busy on the same CPUs). It is
        bound to C(lvs-realserver-vips.service); stopping that unit (O(state=absent)) stops the watch first."
      - The VIPs are never written into the stack's own configuration, which would add them without the guard.
      - "V(networkd) (and V(netplan), which renders to it): before systemd 229 a C(.network) file that matches
        C(lo) made systemd-networkd remove foreign addresses, the VIPs, whenever it started, reloaded or
        reconfigured C(lo); later versions skip loopback (measured on systemd 252: C(networkctl reload),
        C(reconfigure lo) and a restart keep the VIPs; C(networkctl down lo) drops the IPv6 ones, as the kernel
        does for any C(lo) down, and the watch puts them back). A drop-in
        C(/etc/systemd/network/<file>.network.d/90-lvs-realserver.conf) with C(KeepConfiguration=static) is
        installed beside that file (found when the module runs), and networkd is reloaded."
      - "V(networkmanager) (and V(netplan) where NetworkManager is installed): a loopback profile
        (C(type=loopback), or netplan's C(lo) entry with the NetworkManager renderer) makes NetworkManager remove
        the VIPs when it activates or reapplies it (C(nmcli connection up lo), C(nmcli device reapply lo),
        C(netplan apply)). A dispatcher script C(/etc/NetworkManager/dispatcher.d/90-lvs-realserver) runs the
        guarded C(start) after C(up), C(reapply) and DHCP events when the watch is not running."
      - "V(ifupdown): C(ifdown lo) and C(ifup lo) (the C(loopback) method) drop the VIPs; an C(if-up.d) hook,
        C(/etc/network/if-up.d/lvs-realserver), runs the guarded C(start) after C(ifup lo) when the watch is not
        running."
      - V(auto) picks every stack found running or enabled (its unit enabled, its state under C(/run); netplan
        when installed with a YAML file); where none is found only the watch is installed.
      - V(none) installs nothing of this, and removes what an earlier run installed. O(state=absent) removes all
        of it.
    type: str
    choices: [auto, networkmanager, networkd, netplan, ifupdown, none]
    default: none
  force:
    description:
      - Replace (or, with O(state=absent), remove) a file at one of the unit's paths that this module did not
        write (every file it writes carries a marker). Without it such a file is never overwritten or removed.
    type: bool
    default: false
notes:
  - Every file is written through a temp file, fsync and rename, under the host lock
    C(/run/lvs-realserver.lock) that M(lvs.realserver.arp_sysctl), M(lvs.realserver.loopback_vip) and the
    controller itself take; C(/usr/libexec/lvs-realserver) and C(/etc/lvs-realserver) are made root-owned
    C(0755), and a system directory another user can write to is refused.
  - A change of the VIP list does not restart the unit (that would drop every VIP for a moment); add
    and remove VIPs at runtime with M(lvs.realserver.loopback_vip). The C(lvs.realserver.realserver) role installs
    this unit with M(lvs.realserver.converge), in the same module run as the sysctls and the VIPs.
seealso:
  - module: lvs.realserver.loopback_vip
  - module: lvs.realserver.arp_sysctl
"""

EXAMPLES = r"""
- name: Keep the VIPs across reboots, after the ARP sysctls
  lvs.realserver.boot_unit:
    addresses: [192.0.2.10, 2001:db8::10]

- name: LVS-TUN real server with the VIP on lo
  lvs.realserver.boot_unit:
    addresses: [192.0.2.20]
    mode: tun

- name: LVS-TUN real server with the VIP on tunl0 (mode tun derived from the device)
  lvs.realserver.boot_unit:
    addresses: [198.51.100.20]
    device: tunl0

- name: Also export the verdict to node_exporter's textfile collector every 30 s
  lvs.realserver.boot_unit:
    addresses: [192.0.2.10]
    metrics: true
    metrics_interval: 30

- name: Keep the VIPs while NetworkManager or systemd-networkd runs (the watch and the stack's hook)
  lvs.realserver.boot_unit:
    addresses: [192.0.2.10]
    netstack: auto

- name: Remove the unit and its VIPs
  lvs.realserver.boot_unit:
    state: absent
"""

RETURN = r"""
unit:
  description: The unit name.
  returned: always
  type: str
  sample: lvs-realserver-vips.service
systemd_running:
  description: Whether systemd runs as init here; when false the unit was enabled but not started.
  returned: always
  type: bool
  sample: true
files:
  description: The files written (or removed with O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: [/etc/lvs-realserver/vips.json, /etc/systemd/system/lvs-realserver-vips.service]
netstack:
  description:
    - The network stacks found (V(detected)) and cooperated with (V(chosen)), see O(netstack), and whether
      systemd-networkd was reloaded for a drop-in (V(networkd_reload)).
  returned: always
  type: dict
  sample: {detected: [networkd], chosen: [networkd], networkd_reload: false}
systemctl:
  description: The systemctl calls made (or that would be made in check mode).
  returned: always
  type: list
  elements: list
  sample: [[daemon-reload], [enable, lvs-realserver-vips.service], [start, lvs-realserver-vips.service]]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit_apply as apply
from ansible_collections.lvs.realserver.plugins.module_utils import _files
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack
from ansible_collections.lvs.realserver.plugins.module_utils import _step
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan


class Host(_step.Host):
    """Where the module reads and writes (``_step.Host``: the lock); tests pass a fake."""

    fs = _files  # the unit's files: read_text, write_atomic, restore, remove, ensure_dir, sweep_temp
    root = "/"  # below which systemd's run state, the network stacks' files and our directories are looked up


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            addresses=dict(type="list", elements="str", default=[]),
            device=dict(type="str", default="lo"),
            scope=dict(type="str", choices=["host", "global"], default="host"),
            label=dict(type="str"),
            mode=dict(type="str", choices=["dr", "tun"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            enabled=dict(type="bool", default=True),
            start=dict(type="bool", default=True),
            python=dict(type="str", default="/usr/bin/python3"),
            force=dict(type="bool", default=False),
            metrics=dict(type="bool", default=False),
            metrics_interval=dict(type="int", default=60),
            metrics_dir=dict(type="str", default=boot.METRICS_DIR),
            netstack=dict(type="str", choices=list(_netstack.CHOICES), default="none"),
        ),
        supports_check_mode=True,
    )


def errors_of(p):
    """Every problem with the options ``p``, each naming the option and the value; [] if none."""
    errors = _vip_plan.validate(p["addresses"], p["device"], "present", p["label"], p["scope"])[0]
    errors.extend(_vip_plan.unit_errors(p["addresses"], p["device"], _vip_plan.mode_of(p["device"], p["mode"]),
                                        p["state"] == "present", hint=", or use state=absent"))
    if p["state"] == "present":
        reason = boot.interpreter_error(p["python"])
        if reason:
            errors.append("python: %r %s" % (p["python"], reason))
    errors.extend(boot.metrics_errors(p["metrics_interval"], p["metrics_dir"]))
    return errors


def main(host=None):
    """Validate, then install or remove the unit under the host lock; ``host`` (default :class:`Host`)."""
    host = host or Host()
    module = _step.start(build_module())
    p = module.params
    errors = errors_of(p)
    if errors:
        _step.refuse(module, errors)
        return

    desired = _vip_plan.validate(p["addresses"], p["device"], "present", p["label"], p["scope"])[1]
    module.exit_json(**_step.locked(module, lambda lock: apply.converge(
        module, p["state"], [str(v) for v in desired["vips"]], desired["device"], desired["scope"],
        desired["label"], _vip_plan.mode_of(p["device"], p["mode"]), p["python"], p["enabled"], p["start"],
        force=p["force"], lock=lock,
        metrics=(p["metrics_interval"], p["metrics_dir"]) if p["metrics"] and p["state"] == "present" else None,
        metrics_dir=p["metrics_dir"], netstack=p["netstack"], fs=host.fs, root=host.root), take=host.lock))


if __name__ == "__main__":
    main()
