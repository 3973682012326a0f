# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Where and how the VIPs are added, in every module that adds them with the same validator (_vip_plan).

    Used by lvs.realserver.loopback_vip and lvs.realserver.boot_unit (same names, types and defaults).
    lvs.realserver.converge names them vip_* and points at these.
    """

    DOCUMENTATION = r"""
options:
  device:
    description:
      - Where the VIPs go. V(lo) for LVS-DR (and LVS-TUN), or V(tunl0), the IPIP fallback device, for LVS-TUN
        (IPv4 VIPs only; IPIP carries IPv4 only).
      - Any other interface is refused with the reason. A VIP on an interface that faces the LAN is
        answered by ARP whatever C(arp_ignore) says. The check is done by the module rather than by
        O(device) choices, so that a malformed name and a wrong but well-formed one get different explanations.
      - V(tunl0) needs the C(ipip) kernel module. The boot unit of M(lvs.realserver.boot_unit) (mode C(tun), which
        V(tunl0) implies) loads it and brings C(tunl0) up whenever it starts (at every boot);
        M(lvs.realserver.loopback_vip) adds VIPs to C(tunl0) only when it exists already.
    type: str
    default: lo
  scope:
    description:
      - Scope of IPv4 VIPs. IPv6 VIPs get the scope the kernel derives from the address.
      - V(host) (default) is never chosen by the kernel as the source address of ARP requests or of
        connections the real server opens, even on an egress interface without an IPv4 address, and it is
        the only scope that C(arp_ignore=3) hides. DR and TUN traffic to the VIP works the same.
      - V(global) is what plain C(ip addr add) gives; it is safe with C(arp_ignore) 1 or 2 and
        C(arp_announce=2) on numbered interfaces.
      - V(link) is not offered. It protects nothing that V(host) does not, and C(arp_ignore=3) answers for it.
    type: str
    choices: [host, global]
    default: host
  label:
    description:
      - IPv4 address label of the VIPs, at most 15 characters, starting with the device name.
        IPv6 addresses have no labels, so it does not apply to them.
      - It marks the IPv4 VIPs as managed by this collection. M(lvs.realserver.loopback_vip) with
        O(lvs.realserver.loopback_vip#module:state=exact) removes only IPv4 addresses with this label, so different
        labels let several tasks manage separate sets of VIPs on one device.
      - The bare device name (V(lo)) is refused, because every address added without a label carries it.
      - Defaults to the device name followed by C(:lvs), for example C(lo:lvs).
    type: str
"""
