# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""ARP and IPv6 neighbour discovery on the wire: frames built and parsed as bytes.

Pure functions only (standard library), used by ``lvs.realserver.arp_probe``:

* :func:`arp_request` and :func:`neighbour_solicitation` build the complete
  Ethernet frames the probe sends (ARP who-has, RFC 826; NS to the
  solicited-node multicast group, RFC 4861 section 7.2.2);
* :func:`parse_frame` turns a received frame into an :class:`Event` (ARP
  request or reply, ICMPv6 neighbour advertisement), or None;
* :func:`classify` decides whether an event answers a probe for a VIP
  (a *responder*) or claims the VIP on its own (*unsolicited*: gratuitous
  ARP, a request that uses the VIP as sender, an unsolicited NA);
* :func:`schedule` spreads the requests over time (rate limit, per-VIP
  window) and :class:`Tally` accumulates what was seen;
* :func:`bpf_program` is the classic BPF filter the socket edge attaches so
  that only ARP and ICMPv6 neighbour advertisements reach Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import struct
from collections import namedtuple

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ARPHRD_ETHER = 1
ARP_REQUEST = 1
ARP_REPLY = 2
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_OPT_SOURCE_LL = 1
ND_OPT_TARGET_LL = 2
NA_FLAG_ROUTER = 0x80
NA_FLAG_SOLICITED = 0x40
NA_FLAG_OVERRIDE = 0x20
BROADCAST = b"\xff" * 6
ZERO_MAC = b"\x00" * 6
ETH_HLEN = 14
IPV6_HLEN = 40

# What a frame said about an address:
#   kind: "arp_request" | "arp_reply" | "na"
#   mac: the link-layer address claimed for ``claimed`` (ARP sender hardware address,
#        the NA's target link-layer option, else the Ethernet source)
#   claimed: the IP address the frame binds to ``mac`` (ARP sender IP, NA target)
#   target: ARP target IP / NA destination IP; eth_src, eth_dst: Ethernet addresses
#   solicited: NA S flag (None for ARP)
Event = namedtuple("Event", "kind mac claimed target eth_src eth_dst solicited")

# Kinds of unsolicited claims, as reported.
GARP_REQUEST = "gratuitous_arp_request"
GARP_REPLY = "gratuitous_arp_reply"
ARP_SENDER = "arp_request_sender"
UNSOLICITED_NA = "unsolicited_na"


def mac_text(raw):
    """``aa:bb:cc:dd:ee:ff`` of 6 bytes."""
    return ":".join("%02x" % b for b in bytearray(raw))


def mac_bytes(text):
    """The 6 bytes of ``aa:bb:cc:dd:ee:ff`` (or ``-`` separated); ValueError otherwise."""
    parts = str(text).strip().replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) in (1, 2) for p in parts):
        raise ValueError("is not a MAC address (six hex bytes such as 52:54:00:12:34:56)")
    try:
        return bytes(bytearray(int(p, 16) for p in parts))
    except ValueError:
        raise ValueError("is not a MAC address (six hex bytes such as 52:54:00:12:34:56)")


def normalize_mac(text):
    """``text`` as lower-case colon-separated MAC; ValueError when it is not one."""
    return mac_text(mac_bytes(text))


def ethernet(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp_request(src_mac, src_ip, target_ip):
    """Broadcast Ethernet frame "who-has ``target_ip`` tell ``src_ip``" from ``src_mac`` (6 bytes)."""
    body = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARP_REQUEST)
    body += src_mac + ipaddress.IPv4Address(src_ip).packed + ZERO_MAC + ipaddress.IPv4Address(target_ip).packed
    return ethernet(BROADCAST, src_mac, ETH_P_ARP, body)


def solicited_node(address):
    """The solicited-node multicast group of an IPv6 address: ff02::1:ffXX:XXXX."""
    low = ipaddress.IPv6Address(address).packed[13:]
    return ipaddress.IPv6Address(b"\xff\x02" + b"\x00" * 9 + b"\x01\xff" + low)


def multicast_mac(group):
    """The Ethernet address of an IPv6 multicast group: 33:33 and its low 32 bits."""
    return b"\x33\x33" + ipaddress.IPv6Address(group).packed[12:]


def checksum(data):
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmpv6_checksum(src, dst, message):
    """Checksum of an ICMPv6 ``message`` (checksum field zero) between ``src`` and ``dst`` (RFC 4443 2.3)."""
    pseudo = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
              + struct.pack("!I3xB", len(message), IPPROTO_ICMPV6))
    return checksum(pseudo + message)


def ipv6_packet(src, dst, next_header, payload, hop_limit=255):
    header = struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit)
    return header + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload


def neighbour_solicitation(src_mac, src_ip, target_ip):
    """Ethernet frame with an NS for ``target_ip`` from ``src_ip``/``src_mac``, to its solicited-node group.

    Carries the source link-layer address option (the source is never ``::``),
    hop limit 255 as RFC 4861 requires.
    """
    group = solicited_node(target_ip)
    body = struct.pack("!4x") + ipaddress.IPv6Address(target_ip).packed + struct.pack("!BB", ND_OPT_SOURCE_LL, 1) + src_mac
    message = struct.pack("!BBH", ND_NEIGHBOR_SOLICIT, 0, 0) + body
    message = message[:2] + struct.pack("!H", icmpv6_checksum(src_ip, group, message)) + message[4:]
    return ethernet(multicast_mac(group), src_mac, ETH_P_IPV6, ipv6_packet(src_ip, group, IPPROTO_ICMPV6, message))


def neighbour_advertisement(src_mac, src_ip, dst_mac, dst_ip, target_ip, flags=NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE):
    """Ethernet frame with an NA for ``target_ip`` carrying the target link-layer option (used by the tests)."""
    body = struct.pack("!B3x", flags) + ipaddress.IPv6Address(target_ip).packed
    body += struct.pack("!BB", ND_OPT_TARGET_LL, 1) + src_mac
    message = struct.pack("!BBH", ND_NEIGHBOR_ADVERT, 0, 0) + body
    message = message[:2] + struct.pack("!H", icmpv6_checksum(src_ip, dst_ip, message)) + message[4:]
    return ethernet(dst_mac, src_mac, ETH_P_IPV6, ipv6_packet(src_ip, dst_ip, IPPROTO_ICMPV6, message))


def _parse_arp(eth_dst, eth_src, body):
    if len(body) < 28:
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", body[:8])
    if (htype, ptype, hlen, plen) != (ARPHRD_ETHER, ETH_P_IP, 6, 4) or op not in (ARP_REQUEST, ARP_REPLY):
        return None
    sha, spa, tpa = body[8:14], body[14:18], body[24:28]
    return Event("arp_request" if op == ARP_REQUEST else "arp_reply", mac_text(sha),
                 str(ipaddress.IPv4Address(spa)), str(ipaddress.IPv4Address(tpa)),
                 mac_text(eth_src), mac_text(eth_dst), None)


def _nd_options(data):
    """{option type: body} of the ND options in ``data`` (stops at a malformed one)."""
    options = {}
    while len(data) >= 8:
        kind, units = struct.unpack("!BB", data[:2])
        if units == 0 or len(data) < units * 8:
            break
        options.setdefault(kind, data[2:units * 8])
        data = data[units * 8:]
    return options


def _parse_na(eth_dst, eth_src, packet):
    if len(packet) < IPV6_HLEN + 24 or packet[0] >> 4 != 6:
        return None
    payload_len, next_header, hop_limit = struct.unpack("!HBB", packet[4:8])
    if next_header != IPPROTO_ICMPV6 or hop_limit != 255:   # RFC 4861 7.1.2: NAs from off-link are invalid
        return None
    message = packet[IPV6_HLEN:IPV6_HLEN + payload_len]
    if len(message) < 24 or message[0] != ND_NEIGHBOR_ADVERT or message[1] != 0:
        return None
    src, dst = packet[8:24], packet[24:40]
    if icmpv6_checksum(src, dst, message[:2] + b"\x00\x00" + message[4:]) != struct.unpack("!H", message[2:4])[0]:
        return None
    target = ipaddress.IPv6Address(message[8:24])
    option = _nd_options(message[24:]).get(ND_OPT_TARGET_LL)
    mac = mac_text(option[:6]) if option and len(option) >= 6 else mac_text(eth_src)
    return Event("na", mac, str(target), str(ipaddress.IPv6Address(dst)), mac_text(eth_src), mac_text(eth_dst),
                 bool(message[4] & NA_FLAG_SOLICITED))


def parse_frame(frame):
    """The :class:`Event` of an Ethernet frame (ARP, or ICMPv6 NA, untagged), or None for anything else."""
    frame = bytes(frame)
    if len(frame) < ETH_HLEN:
        return None
    eth_dst, eth_src = frame[:6], frame[6:12]
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == ETH_P_ARP:
        return _parse_arp(eth_dst, eth_src, frame[ETH_HLEN:])
    if ethertype == ETH_P_IPV6:
        return _parse_na(eth_dst, eth_src, frame[ETH_HLEN:])
    return None


def classify(event, vips, own_macs=()):
    """``(vip, how)`` for an event about a probed VIP, else None.

    ``vips``: the probed addresses as normalized strings. ``how`` is
    ``"reply"`` (an answer, to our request or anyone's) or one of the
    unsolicited kinds: a gratuitous ARP request or reply (sender IP ==
    target IP), an ARP request that uses the VIP as its sender address
    (what an ``arp_announce`` leak puts on the wire), an NA without the
    solicited flag. Frames whose claimed MAC is one of ``own_macs`` (the
    probe's own interface) are ignored.
    """
    if event is None or event.claimed not in vips or event.mac in own_macs:
        return None
    if event.kind == "na":
        return event.claimed, "reply" if event.solicited else UNSOLICITED_NA
    gratuitous = event.target == event.claimed
    if event.kind == "arp_reply":
        return event.claimed, GARP_REPLY if gratuitous else "reply"
    return event.claimed, GARP_REQUEST if gratuitous else ARP_SENDER


# --------------------------------------------------------------- BPF filter

# Classic BPF opcodes (linux/filter.h).
_LDH_ABS = 0x28
_LDB_ABS = 0x30
_JEQ_K = 0x15
_RET_K = 0x06


def bpf_program():
    """[(code, jt, jf, k)]: accept ARP and untagged ICMPv6 NAs without extension headers, drop the rest.

    Keeps a busy interface's traffic out of Python; :func:`parse_frame`
    still checks every field.
    """
    return [
        (_LDH_ABS, 0, 0, 12),                        # 0: A = ethertype
        (_JEQ_K, 5, 0, ETH_P_ARP),                   # 1: ARP -> accept (7)
        (_JEQ_K, 0, 5, ETH_P_IPV6),                  # 2: not IPv6 -> drop (8)
        (_LDB_ABS, 0, 0, ETH_HLEN + 6),              # 3: A = IPv6 next header
        (_JEQ_K, 0, 3, IPPROTO_ICMPV6),              # 4: not ICMPv6 -> drop
        (_LDB_ABS, 0, 0, ETH_HLEN + IPV6_HLEN),      # 5: A = ICMPv6 type
        (_JEQ_K, 0, 1, ND_NEIGHBOR_ADVERT),          # 6: not NA -> drop
        (_RET_K, 0, 0, 0x40000),                     # 7: accept (up to 256 KiB)
        (_RET_K, 0, 0, 0),                           # 8: drop
    ]


def bpf_bytes(program):
    """The ``struct sock_filter`` array of ``program``, as the kernel reads it."""
    return b"".join(struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in program)


def bpf_accepts(program, frame):
    """Run ``program`` on ``frame`` the way the kernel does (the subset of opcodes used here); for tests."""
    frame = bytes(frame)
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code in (_LDH_ABS, _LDB_ABS):
            size = 2 if code == _LDH_ABS else 1
            if k + size > len(frame):
                return False                         # out-of-bounds load: the kernel drops the packet
            acc = struct.unpack("!H" if size == 2 else "!B", frame[k:k + size])[0]
            pc += 1
        elif code == _JEQ_K:
            pc += 1 + (jt if acc == k else jf)
        elif code == _RET_K:
            return k != 0
        else:
            raise ValueError("opcode %#x" % code)


# ---------------------------------------------------------------- schedule

def schedule(count_vips, count, timeout, rate):
    """Send times of the requests and each VIP's window, relative to the start.

    Returns ``(sends, windows, total)``: ``sends`` is a time-ordered list of
    ``(time, vip index)``; ``windows[i]`` is ``(first send, end)`` of VIP
    ``i``; ``total`` is when the last window closes. Each VIP gets ``count``
    requests spread over the first half of its ``timeout``-second window
    (all at once when ``count`` is 1), the VIPs start staggered so that no
    more than ``rate`` requests go out per second, and each window lasts
    ``timeout`` seconds after the VIP's last request.
    """
    gap = 1.0 / rate
    spread = (timeout / 2.0) / count if count > 1 else 0.0
    sends, windows = [], []
    # Round robin: request k of VIP i is the (k * count_vips + i)-th packet of the run, at least ``gap`` apart,
    # and no earlier than the VIP's own pace ``spread`` allows.
    clock = 0.0
    firsts = [None] * count_vips
    lasts = [0.0] * count_vips
    for k in range(count):
        for i in range(count_vips):
            due = firsts[i] + k * spread if firsts[i] is not None else clock
            at = max(clock, due)
            if firsts[i] is None:
                firsts[i] = at
            lasts[i] = at
            sends.append((round(at, 6), i))
            clock = at + gap
    windows = [(round(firsts[i], 6), round(lasts[i] + timeout, 6)) for i in range(count_vips)]
    total = max([end for _start, end in windows] or [0.0])
    return sends, windows, total


class Tally(object):
    """What was seen for each VIP: responders and unsolicited claims by MAC, with counts and times."""

    def __init__(self, vips):
        self.vips = list(vips)
        self.responders = dict((vip, {}) for vip in self.vips)
        self.unsolicited = dict((vip, {}) for vip in self.vips)

    def add(self, vip, how, mac, at):
        table = self.responders[vip] if how == "reply" else self.unsolicited[vip]
        key = mac if how == "reply" else (mac, how)
        entry = table.get(key)
        if entry is None:
            entry = table[key] = {"mac": mac, "count": 0, "first_seen": at, "last_seen": at}
            if how != "reply":
                entry["type"] = how
        entry["count"] += 1
        entry["last_seen"] = at

    def result(self, vip, offset=0.0):
        """``(responders, unsolicited)`` of ``vip``, sorted by MAC (then type); times in seconds since ``offset``."""
        def rows(table):
            out = []
            for key in sorted(table):
                row = dict(table[key])
                row["first_seen"] = round(row["first_seen"] - offset, 3)
                row["last_seen"] = round(row["last_seen"] - offset, 3)
                out.append(row)
            return out
        return rows(self.responders[vip]), rows(self.unsolicited[vip])


# -------------------------------------------------------------------- plan

def _networks(iface, version):
    """The subnets of ``iface`` (host routes such as a /32 VIP and link-local ones left out)."""
    networks = [ipaddress.ip_interface("%s/%d" % (a.local, a.prefixlen)).network
                for a in iface.addresses if ipaddress.ip_address(a.local).version == version]
    return sorted(set(n for n in networks if n.prefixlen < n.max_prefixlen and not n.network_address.is_link_local))


def _pick_source(iface, vip):
    """The interface address to ask for ``vip`` from: one whose subnet holds it, else the primary one of the family."""
    candidates = [a for a in iface.addresses if ipaddress.ip_address(a.local).version == vip.version
                  and ipaddress.ip_address(a.local) != vip]
    # a host address (a /32 or /128 VIP of a director) only when there is nothing else
    candidates = [a for a in candidates if a.prefixlen < vip.max_prefixlen] or candidates
    if vip.version == 6:
        # never a deprecated (preferred_lft 0) address: that is how VIPs are added
        candidates = [a for a in candidates if a.preferred_life_time != 0] or candidates
    for a in candidates:
        if vip in ipaddress.ip_interface("%s/%d" % (a.local, a.prefixlen)).network:
            return str(ipaddress.ip_address(a.local))
    for a in candidates:
        if not a.secondary and a.scope == "global":
            return str(ipaddress.ip_address(a.local))
    return str(ipaddress.ip_address(candidates[0].local)) if candidates else None


def plan(vips, interface, interfaces, sources=()):
    """What to ask, from which address, and the warnings; pure.

    ``vips``: ``ipaddress`` addresses (already validated, duplicates removed);
    ``interface``: the probe interface's name; ``interfaces``:
    ``_iproute.Interface`` tuples of the host; ``sources``: the ``source``
    option as ``ipaddress`` addresses (at most one per family).

    Returns ``(probes, warnings, errors)``. ``probes`` is a list of
    ``{vip, family, source, local}`` (``local``: the VIP is an address of
    this host, which never answers its own request). ``errors`` name the
    option and value; when it is not empty nothing must be sent.
    """
    by_name = dict((i.name, i) for i in interfaces)
    iface = by_name.get(interface)
    if iface is None:
        return [], [], ["interface: no such interface %r on this host" % interface]
    local = set()
    for i in interfaces:
        for a in i.addresses:
            local.add(ipaddress.ip_address(a.local))
    given = dict((s.version, s) for s in sources)
    errors, warnings, probes = [], [], []
    for version in (4, 6):
        if version in given and given[version] not in set(ipaddress.ip_address(a.local) for a in iface.addresses):
            errors.append("source: %s is not an address of %s" % (given[version], interface))
    for vip in vips:
        family = "ipv4" if vip.version == 4 else "ipv6"
        source = str(given[vip.version]) if vip.version in given else _pick_source(iface, vip)
        if source is None:
            own = any(ipaddress.ip_address(a.local) == vip for a in iface.addresses)
            errors.append("vips: %s needs another %s address on %s to ask from, and it has none%s" % (
                vip, "IPv4" if vip.version == 4 else "IPv6", interface,
                " (it is the interface's own address: probe it from another host)" if own else " (give source)"))
            continue
        networks = _networks(iface, vip.version)
        if not any(vip in n for n in networks):
            warnings.append("vips: %s is outside the subnets of %s (%s): no host on this segment is expected to "
                            "answer for it" % (vip, interface, ", ".join(str(n) for n in networks) or "none"))
        probes.append({"vip": str(vip), "family": family, "source": source, "local": vip in local})
    return probes, warnings, errors
