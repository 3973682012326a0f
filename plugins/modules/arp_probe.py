#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: arp_probe
short_description: Ask the wire who answers for each VIP (ARP who-has, IPv6 neighbour solicitation)
version_added: 1.0.0
author:
  - lvs.realserver developers (@lvs-realserver)
description:
  - Sends, from O(interface), an ARP who-has request for every IPv4 VIP and a neighbour solicitation to the
    solicited-node multicast group of every IPv6 VIP, and listens on the interface for the whole run.
  - Returns, per VIP, every MAC address that answered (RV(probes[].responders)) and every MAC address that
    claimed the VIP on its own while the probe listened (RV(probes[].unsolicited)) - gratuitous ARP, an ARP
    request that uses the VIP as its sender address, an unsolicited neighbour advertisement.
  - This is what the wire says, whether or not Ansible manages the hosts that answer. Run it on a host in the
    VIPs' segment, typically the director. In an LVS-DR/TUN cluster only the director (or the keepalived pair)
    must answer; a real server that answers has ARP protection missing or broken.
  - The probing host never answers its own request, so a VIP that is an address of the probing host itself is
    flagged RV(probes[].local) and its own MAC is not among the responders.
  - Uses only Python's standard library, through raw C(AF_PACKET) sockets, with a BPF filter so that only ARP
    and neighbour advertisements reach Python. Nothing needs to be installed on the host (C(ip) from iproute2
    is used to read the interface's addresses).
  - Sends nothing but the requests. The VIPs are probed in parallel, at most O(rate) requests per second, and
    the whole run is bounded by O(max_time), checked before anything is sent.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description:
      - The module changes no state on the host, so it runs the same in check mode. It still sends the ARP
        requests and neighbour solicitations on the wire; hosts that answer learn the probing address's MAC
        as they do for any request.
  diff_mode:
    support: none
  platform:
    platforms: posix
    support: full
    description: Linux only (C(AF_PACKET) sockets), Ethernet interfaces.
options:
  vips:
    description:
      - The VIPs to probe, IPv4 or IPv6, with or without the host prefix length (C(/32), C(/128)).
      - Duplicates are probed once.
    type: list
    elements: str
    required: true
  interface:
    description:
      - The Ethernet interface to probe on; it must be up.
      - A VIP outside every subnet of the interface gives a warning, not an error.
    type: str
    required: true
  source:
    description:
      - The address to ask from, at most one IPv4 and one IPv6 address; each must be an address of O(interface).
      - By default, per VIP, the interface's address whose subnet holds the VIP, else its primary address of
        the family (for IPv6 never a deprecated one).
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds to listen after the last request for a VIP (its window), from 0.01 to 60.
    type: float
    default: 1.0
  count:
    description:
      - Requests sent per VIP, spread over the first half of O(timeout) (all at once when V(1)), from 1 to 100.
    type: int
    default: 1
  rate:
    description:
      - At most this many requests per second over the whole run; the VIPs' windows are staggered to keep it.
      - From 1 to 100000.
    type: int
    default: 100
  max_time:
    description:
      - Upper bound, in seconds, for the run. When the schedule for O(vips), O(count), O(timeout) and O(rate)
        would take longer, the module fails before sending anything. From 0.1 to 3600.
      - The schedule takes (number of VIPs x O(count) - 1) / O(rate) + O(timeout) seconds, about.
    type: float
    default: 30.0
notes:
  - Needs the C(CAP_NET_RAW) capability (root); use C(become).
  - The probe counts every matching frame seen from the first request until the last window closes, so a VIP
    probed early also collects answers that arrive later in the run.
  - Only untagged frames are parsed; on a VLAN, probe on the VLAN interface (C(eth0.100)).
  - M(lvs.realserver.compliance_report) and the C(lvs.realserver.compliance) playbook turn the responders into
    the fleet-level violation C(vip_answered_by) (see C(lvs_compliance_probe_from)).
seealso:
  - module: lvs.realserver.arp_facts
  - module: lvs.realserver.compliance_report
"""

EXAMPLES = r"""
- name: Who answers ARP for the VIPs, seen from the director
  lvs.realserver.arp_probe:
    interface: eth0
    vips:
      - 192.0.2.10
      - 2001:db8::10
  become: true
  register: wire

- name: Fail when anything but the director answers
  ansible.builtin.assert:
    that: >-
      wire.probes | map(attribute='responders') | flatten | map(attribute='mac')
      | reject('in', [ansible_facts['eth0']['macaddress']]) | list | length == 0
    fail_msg: "VIPs answered by other hosts: {{ wire.probes | selectattr('responders') | map(attribute='vip') }}"

- name: Probe 200 VIPs three times each, at most 50 requests a second
  lvs.realserver.arp_probe:
    interface: bond0
    vips: "{{ lvs_vips }}"
    count: 3
    timeout: 2
    rate: 50
    max_time: 60
  become: true
"""

RETURN = r"""
interface:
  description: The probe interface.
  returned: always
  type: str
  sample: eth0
interface_mac:
  description: The MAC address of O(interface); frames claiming it are the probe's own and ignored.
  returned: success
  type: str
  sample: "52:54:00:12:34:56"
elapsed:
  description: Seconds the probe spent sending and listening.
  returned: success
  type: float
  sample: 1.004
requests_sent:
  description: Requests sent in total.
  returned: success
  type: int
  sample: 2
probes:
  description: One entry per VIP, in the order of O(vips).
  returned: success
  type: list
  elements: dict
  contains:
    vip:
      description: The VIP, normalized.
      type: str
      sample: 192.0.2.10
    family:
      description: V(ipv4) (ARP) or V(ipv6) (neighbour discovery).
      type: str
      sample: ipv4
    source:
      description: The address the requests were sent from.
      type: str
      sample: 192.0.2.2
    local:
      description: The VIP is an address of the probing host itself, which never answers its own request.
      type: bool
      sample: false
    requests:
      description: Requests sent for this VIP.
      type: int
      sample: 1
    responders:
      description:
        - Every MAC address that answered for the VIP (an ARP reply, a solicited neighbour advertisement),
          sorted by MAC.
        - O(timeout) seconds after the last request, listening goes on only while other VIPs are still probed.
      type: list
      elements: dict
      contains:
        mac:
          description: The MAC address given for the VIP (ARP sender hardware address, NA target link-layer address).
          type: str
          sample: "52:54:00:aa:bb:cc"
        count:
          description: Answers from this MAC.
          type: int
          sample: 1
        first_seen:
          description: Seconds from the VIP's first request to the first answer (negative when before it).
          type: float
          sample: 0.001
        last_seen:
          description: Seconds from the VIP's first request to the last answer.
          type: float
          sample: 0.001
      sample: [{"mac": "52:54:00:aa:bb:cc", "count": 1, "first_seen": 0.001, "last_seen": 0.001}]
    unsolicited:
      description:
        - Claims of the VIP that were not answers, seen while the probe listened, sorted by MAC and type.
          Same fields as RV(probes[].responders), plus C(type).
        - C(type) is V(gratuitous_arp_request) or V(gratuitous_arp_reply) (sender and target address are the VIP),
          V(arp_request_sender) (an ARP request for another address that uses the VIP as its sender address, as a
          real server with a broken C(arp_announce) sends), or V(unsolicited_na) (a neighbour advertisement for the
          VIP without the solicited flag).
      type: list
      elements: dict
      sample: [{"mac": "52:54:00:dd:ee:ff", "type": "gratuitous_arp_request", "count": 1,
                "first_seen": 0.4, "last_seen": 0.4}]
"""

import ctypes
import errno
import ipaddress
import select
import socket
import struct
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_wire as wire
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute

SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4
LIMITS = {"timeout": (0.01, 60.0), "count": (1, 100), "rate": (1, 100000), "max_time": (0.1, 3600.0)}


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            vips=dict(type="list", elements="str", required=True),
            interface=dict(type="str", required=True),
            source=dict(type="list", elements="str", default=[]),
            timeout=dict(type="float", default=1.0),
            count=dict(type="int", default=1),
            rate=dict(type="int", default=100),
            max_time=dict(type="float", default=30.0),
        ),
        supports_check_mode=True,
    )


def validate(params):
    """(vips, sources, errors) from the module parameters; pure."""
    errors = []
    name_error = _iproute.interface_name_error(params["interface"])
    if name_error:
        errors.append("interface: %r %s" % (params["interface"], name_error))
    for option, (low, high) in LIMITS.items():
        if not low <= params[option] <= high:
            errors.append("%s: %s is out of range (%s to %s)" % (option, params[option], low, high))
    vips = []
    for text in params["vips"]:
        try:
            vip = _iproute.parse_vip(text)[0]
        except ValueError as exc:
            errors.append("vips: %r %s" % (text, exc))
            continue
        if vip not in vips:
            vips.append(vip)
    if not params["vips"]:
        errors.append("vips: must not be empty")
    sources = []
    for text in params["source"]:
        try:
            sources.append(ipaddress.ip_address(str(text).strip()))
        except ValueError:
            errors.append("source: %r is not an IPv4 or IPv6 address" % text)
    if len(set(s.version for s in sources)) != len(sources):
        errors.append("source: give at most one IPv4 and one IPv6 address, got %s" % ", ".join(map(str, sources)))
    return vips, sources, errors


class Net(object):
    """The module's raw-socket edges: the production ones (tests pass a fake segment)."""

    open_raw = staticmethod(socket.socket)  # (family, type, proto) -> a socket
    if_index = staticmethod(socket.if_nametoindex)  # (name) -> index; OSError when there is no such interface
    wait = staticmethod(select.select)  # (readable, writable, errors, timeout) -> the ready lists


def open_socket(module, interface, net=None):
    """A raw socket bound to ``interface`` with the ARP/NA filter; (socket, interface MAC). ``net``: :class:`Net`."""
    try:
        sock = (net or Net()).open_raw(socket.AF_PACKET, socket.SOCK_RAW, 0)   # receives nothing until bound
    except PermissionError:
        module.fail_json(msg="no permission to open a raw AF_PACKET socket: arp_probe needs CAP_NET_RAW "
                             "(run it as root, become: true)", interface=interface)
    program = wire.bpf_program()
    buf = ctypes.create_string_buffer(wire.bpf_bytes(program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(buf)))
    try:
        sock.bind((interface, wire.ETH_P_ALL))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.ENODEV:
            module.fail_json(msg="interface: no such interface %r on this host" % interface, interface=interface)
        module.fail_json(msg="cannot bind a raw socket to %s (interface): %s" % (interface, exc), interface=interface)
    hatype, mac = sock.getsockname()[3:5]
    if hatype != wire.ARPHRD_ETHER or len(mac) != 6:
        sock.close()
        module.fail_json(msg="interface: %s is not an Ethernet interface (link type %d): ARP cannot be probed on it"
                             % (interface, hatype), interface=interface)
    return sock, mac


def frames_for(probes, mac):
    """One request frame per probe."""
    return [wire.arp_request(mac, p["source"], p["vip"]) if p["family"] == "ipv4"
            else wire.neighbour_solicitation(mac, p["source"], p["vip"]) for p in probes]


def run_probe(module, sock, mac, probes, params, wait=select.select):
    """Send on schedule, listen until the last window closes; (tally, first send times, sent, elapsed).

    ``wait``: ``select.select`` (a test passes its segment's)."""
    sends, windows, total = wire.schedule(len(probes), params["count"], params["timeout"], params["rate"])
    frames = frames_for(probes, mac)
    vips = dict((p["vip"], p["vip"]) for p in probes)
    own = (wire.mac_text(mac),)
    tally = wire.Tally([p["vip"] for p in probes])
    sent = [0] * len(probes)
    start = time.monotonic()
    deadline = start + total
    index = 0
    while True:
        now = time.monotonic()
        while index < len(sends) and start + sends[index][0] <= now:
            vip_index = sends[index][1]
            try:
                sock.send(frames[vip_index])
            except OSError as exc:
                module.fail_json(msg="cannot send on %s (interface): %s" % (params["interface"], exc),
                                 interface=params["interface"])
            sent[vip_index] += 1
            index += 1
        if now >= deadline:
            break
        wake = min(deadline, start + sends[index][0]) if index < len(sends) else deadline
        if wait([sock], [], [], max(0.0, wake - now))[0]:
            drain(sock, vips, own, tally, start)
    drain(sock, vips, own, tally, start)
    return tally, [w[0] for w in windows], sent, time.monotonic() - start


def drain(sock, vips, own, tally, start):
    while True:
        try:
            frame, address = sock.recvfrom(65535, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        if address[2] == PACKET_OUTGOING:
            continue
        event = wire.parse_frame(frame)
        hit = wire.classify(event, vips, own)
        if hit:
            tally.add(hit[0], hit[1], event.mac, time.monotonic() - start)


def main(net=None):
    """Validate, read the interface, probe; ``net`` (default :class:`Net`): the raw socket edges."""
    net = net or Net()
    module = build_module()
    params = module.params
    interface = params["interface"]
    vips, sources, errors = validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors), interface=interface)
    try:
        net.if_index(interface)
    except OSError:
        module.fail_json(msg="interface: no such interface %r on this host" % interface, interface=interface)
    interfaces = _host_state.read_interfaces(module, module.get_bin_path("ip", required=True))
    if any(i.name == interface and not i.up for i in interfaces):
        module.fail_json(msg="interface: %s is down; nothing can be probed on it" % interface, interface=interface)
    probes, warnings, errors = wire.plan(vips, interface, interfaces, sources)
    if errors:
        module.fail_json(msg="; ".join(errors), interface=interface)
    total = wire.schedule(len(probes), params["count"], params["timeout"], params["rate"])[2]
    if total > params["max_time"]:
        module.fail_json(
            msg="max_time: probing %d VIP(s) with count=%d, timeout=%s and rate=%d takes %.1f s, more than max_time=%s; "
                "raise max_time or rate, or lower count or timeout" % (
                    len(probes), params["count"], params["timeout"], params["rate"], total, params["max_time"]),
            interface=interface)
    for warning in warnings:
        module.warn(warning)

    sock, mac = open_socket(module, interface, net)
    try:
        tally, firsts, sent, elapsed = run_probe(module, sock, mac, probes, params, net.wait)
    finally:
        sock.close()
    out = []
    for probe, first, requests in zip(probes, firsts, sent):
        responders, unsolicited = tally.result(probe["vip"], first)
        out.append(dict(probe, requests=requests, responders=responders, unsolicited=unsolicited))
    module.exit_json(changed=False, interface=interface, interface_mac=wire.mac_text(mac), probes=out,
                     requests_sent=sum(sent), elapsed=round(elapsed, 3))


if __name__ == "__main__":
    main()
