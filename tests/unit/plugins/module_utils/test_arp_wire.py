# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_wire as wire
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute

MAC = wire.mac_bytes("52:54:00:12:34:56")
PEER = wire.mac_bytes("52:54:00:aa:bb:cc")

# Built with scapy 2.5 (Debian's python3-scapy), an independent implementation:
#   Ether(dst=bcast, src=MAC)/ARP(op=1, hwsrc=MAC, psrc="198.51.100.10", pdst="198.51.100.100")
SCAPY_ARP = "ffffffffffff52540012345608060001080006040001525400123456c633640a000000000000c6336464"
#   Ether/IPv6(src="2001:db8:100::10", dst=ff02::1:ff00:100, hlim=255)/ICMPv6ND_NS(tgt=VIP6)/ICMPv6NDOptSrcLLAddr(MAC)
SCAPY_NS = ("3333ff00010052540012345686dd6000000000203aff20010db8010000000000000000000010ff0200000000000000000001"
            "ff000100870093600000000020010db80100000000000000000001000101525400123456")
#   Ether(dst=MAC, src=PEER)/IPv6(src=VIP6, dst="2001:db8:100::10")/ICMPv6ND_NA(tgt=VIP6, R=0, S=1, O=1)/TLLA(PEER)
SCAPY_NA = ("525400123456525400aabbcc86dd6000000000203aff20010db801000000000000000000010020010db80100000000000000"
            "000000108800789d6000000020010db80100000000000000000001000201525400aabbcc")
VIP = "198.51.100.100"
VIP6 = "2001:db8:100::100"


def test_arp_request_matches_scapy():
    assert wire.arp_request(MAC, "198.51.100.10", VIP).hex() == SCAPY_ARP


def test_neighbour_solicitation_matches_scapy():
    assert str(wire.solicited_node(VIP6)) == "ff02::1:ff00:100"
    assert wire.neighbour_solicitation(MAC, "2001:db8:100::10", VIP6).hex() == SCAPY_NS


def test_neighbour_advertisement_matches_scapy():
    frame = wire.neighbour_advertisement(PEER, VIP6, MAC, "2001:db8:100::10", VIP6)
    assert frame.hex() == SCAPY_NA


def test_checksum_of_a_valid_message_is_zero():
    frame = bytes.fromhex(SCAPY_NS)
    ip = frame[14:]
    assert wire.icmpv6_checksum(ip[8:24], ip[24:40], ip[40:]) == 0


@pytest.mark.parametrize("text, expected", [
    ("52:54:00:AA:bb:0c", "52:54:00:aa:bb:0c"),
    ("52-54-00-aa-bb-c", "52:54:00:aa:bb:0c"),
])
def test_normalize_mac(text, expected):
    assert wire.normalize_mac(text) == expected


@pytest.mark.parametrize("text", ["", "52:54:00:aa:bb", "52:54:00:aa:bb:cc:dd", "52:54:00:aa:bb:zz", "525400aabbcc",
                                  "52:54:00:aa:bb:ccc"])
def test_normalize_mac_rejects(text):
    with pytest.raises(ValueError, match="is not a MAC address"):
        wire.normalize_mac(text)


def arp(op, sha, spa, tpa, dst=wire.BROADCAST, tha=wire.ZERO_MAC):
    body = bytes.fromhex("00010800060400%02x" % op) + sha + ipaddress.IPv4Address(spa).packed + tha
    return dst + sha + b"\x08\x06" + body + ipaddress.IPv4Address(tpa).packed


def test_parse_arp_reply():
    event = wire.parse_frame(arp(2, PEER, VIP, "198.51.100.10", dst=MAC, tha=MAC))
    assert event == wire.Event("arp_reply", "52:54:00:aa:bb:cc", VIP, "198.51.100.10", "52:54:00:aa:bb:cc",
                               "52:54:00:12:34:56", None)


def test_parse_na_uses_the_target_link_layer_option_and_the_solicited_flag():
    event = wire.parse_frame(bytes.fromhex(SCAPY_NA))
    assert (event.kind, event.mac, event.claimed, event.target, event.solicited) == (
        "na", "52:54:00:aa:bb:cc", VIP6, "2001:db8:100::10", True)


def test_parse_na_without_option_falls_back_to_the_ethernet_source():
    frame = bytes.fromhex(SCAPY_NA)
    ip = bytearray(frame[14:54] + frame[54:78])          # drop the option
    ip[4:6] = b"\x00\x18"
    message = bytearray(ip[40:])
    message[2:4] = b"\x00\x00"
    message[2:4] = wire.icmpv6_checksum(bytes(ip[8:24]), bytes(ip[24:40]), bytes(message)).to_bytes(2, "big")
    event = wire.parse_frame(frame[:14] + bytes(ip[:40]) + bytes(message))
    assert event.mac == "52:54:00:aa:bb:cc" and event.claimed == VIP6


@pytest.mark.parametrize("mangle", [
    lambda f: f[:-30],                                   # truncated
    lambda f: f[:20] + b"\x40" + f[21:],                 # hop limit 64: not from on-link
    lambda f: f[:-1] + b"\xcd",                          # bad checksum
    lambda f: f[:12] + b"\x08\x00" + f[14:],             # IPv4 ethertype
    lambda f: f[:54] + b"\x87" + f[55:],                 # a solicitation, not an advertisement
    lambda f: b"",
])
def test_parse_rejects_what_is_not_a_valid_na(mangle):
    assert wire.parse_frame(mangle(bytes.fromhex(SCAPY_NA))) is None


def test_parse_rejects_non_ethernet_ipv4_arp():
    frame = bytearray(arp(2, PEER, VIP, "198.51.100.10"))
    frame[14:16] = b"\x00\x06"                           # IEEE 802 hardware type
    assert wire.parse_frame(bytes(frame)) is None
    assert wire.parse_frame(arp(2, PEER, VIP, "198.51.100.10")[:30]) is None


VIPS = {VIP: VIP, VIP6: VIP6}


@pytest.mark.parametrize("frame, expected", [
    (arp(2, PEER, VIP, "198.51.100.10", dst=MAC), (VIP, "reply")),
    (arp(2, PEER, VIP, VIP), (VIP, wire.GARP_REPLY)),
    (arp(1, PEER, VIP, VIP), (VIP, wire.GARP_REQUEST)),
    (arp(1, PEER, VIP, "198.51.100.1"), (VIP, wire.ARP_SENDER)),     # an arp_announce leak
    (arp(1, PEER, "198.51.100.21", VIP), None),                       # someone asking for the VIP
    (arp(2, PEER, "198.51.100.21", "198.51.100.10"), None),          # another address
    (arp(2, MAC, VIP, "198.51.100.10"), None),                        # our own MAC
    (bytes.fromhex(SCAPY_NA), (VIP6, "reply")),
    (wire.neighbour_advertisement(PEER, VIP6, b"\x33\x33\x00\x00\x00\x01", "ff02::1", VIP6,
                                  flags=wire.NA_FLAG_OVERRIDE), (VIP6, wire.UNSOLICITED_NA)),
])
def test_classify(frame, expected):
    assert wire.classify(wire.parse_frame(frame), VIPS, ("52:54:00:12:34:56",)) == expected


@pytest.mark.parametrize("frame, accepted", [
    (bytes.fromhex(SCAPY_ARP), True),
    (bytes.fromhex(SCAPY_NA), True),
    (bytes.fromhex(SCAPY_NS), False),                    # solicitations are not what we wait for
    (bytes.fromhex(SCAPY_NA)[:12] + b"\x08\x00" + bytes.fromhex(SCAPY_NA)[14:], False),
    (bytes.fromhex(SCAPY_NA)[:20] + b"\x06" + bytes.fromhex(SCAPY_NA)[21:], False),   # TCP
    (b"\x00" * 10, False),
])
def test_bpf_program(frame, accepted):
    program = wire.bpf_program()
    assert wire.bpf_accepts(program, frame) is accepted
    assert len(wire.bpf_bytes(program)) == 8 * len(program)


def test_schedule_single_request_per_vip_respects_the_rate():
    sends, windows, total = wire.schedule(3, 1, 1.0, 10)
    assert sends == [(0.0, 0), (0.1, 1), (0.2, 2)]
    assert windows == [(0.0, 1.0), (0.1, 1.1), (0.2, 1.2)]
    assert total == 1.2


def test_schedule_spreads_the_count_over_half_the_window():
    sends, windows, total = wire.schedule(2, 3, 1.2, 1000)
    assert [t for t, i in sends if i == 0] == [0.0, 0.2, 0.4]
    assert [t for t, i in sends if i == 1] == [0.001, 0.201, 0.401]
    assert windows[1] == (0.001, 1.601) and total == 1.601


@pytest.mark.parametrize("vips, count, rate", [(100, 1, 100), (100, 3, 50), (1, 5, 1), (37, 2, 7)])
def test_schedule_never_exceeds_the_rate(vips, count, rate):
    sends, _windows, total = wire.schedule(vips, count, 1.0, rate)
    times = [t for t, _i in sends]
    assert len(sends) == vips * count and times == sorted(times)
    assert all(b - a >= 1.0 / rate - 1e-6 for a, b in zip(times, times[1:]))
    assert total == pytest.approx(max(times) + 1.0, abs=1e-6) or total > max(times)


def test_tally_groups_by_mac_and_type_and_sorts():
    tally = wire.Tally([VIP])
    tally.add(VIP, "reply", "52:54:00:bb:00:02", 0.5)
    tally.add(VIP, "reply", "52:54:00:aa:00:01", 0.6)
    tally.add(VIP, "reply", "52:54:00:bb:00:02", 0.9)
    tally.add(VIP, wire.GARP_REQUEST, "52:54:00:bb:00:02", 0.2)
    responders, unsolicited = tally.result(VIP, offset=0.5)
    assert responders == [
        {"mac": "52:54:00:aa:00:01", "count": 1, "first_seen": 0.1, "last_seen": 0.1},
        {"mac": "52:54:00:bb:00:02", "count": 2, "first_seen": 0.0, "last_seen": 0.4},
    ]
    assert unsolicited == [{"mac": "52:54:00:bb:00:02", "type": wire.GARP_REQUEST, "count": 1,
                            "first_seen": -0.3, "last_seen": -0.3}]


def iface(name, *addresses):
    return _iproute.Interface(name, True, name == "lo", False, None, None, None,
                              [_iproute.address(*a) for a in addresses])


HOST = [
    iface("lo", ("127.0.0.1", 8, "host"), (VIP, 32, "host")),
    iface("eth0", ("198.51.100.2", 24), ("198.51.100.3", 24, "global", None, None, True),
          ("2001:db8:100::100", 128), ("2001:db8:100::2", 64), ("fe80::1", 64, "link")),
    iface("eth1", ("203.0.113.2", 24)),
]


def ips(*texts):
    return [ipaddress.ip_address(t) for t in texts]


def test_plan_picks_the_subnet_address_and_flags_local_vips():
    probes, warnings, errors = wire.plan(ips(VIP, VIP6, "203.0.113.9"), "eth0", HOST)
    assert errors == []
    assert probes == [
        {"vip": VIP, "family": "ipv4", "source": "198.51.100.2", "local": True},
        {"vip": VIP6, "family": "ipv6", "source": "2001:db8:100::2", "local": True},
        {"vip": "203.0.113.9", "family": "ipv4", "source": "198.51.100.2", "local": False},
    ]
    assert warnings == ["vips: 203.0.113.9 is outside the subnets of eth0 (198.51.100.0/24): no host on this "
                        "segment is expected to answer for it"]


def test_plan_uses_the_given_source():
    probes = wire.plan(ips(VIP), "eth0", HOST, ips("198.51.100.3"))[0]
    assert probes[0]["source"] == "198.51.100.3"


@pytest.mark.parametrize("vips, interface, sources, error", [
    ([VIP], "eth9", [], "interface: no such interface 'eth9' on this host"),
    ([VIP], "eth0", ["203.0.113.2"], "source: 203.0.113.2 is not an address of eth0"),
    ([VIP6], "eth1", [], "vips: 2001:db8:100::100 needs another IPv6 address on eth1 to ask from, and it has none "
                         "(give source)"),
    (["203.0.113.2"], "eth1", [], "vips: 203.0.113.2 needs another IPv4 address on eth1 to ask from, and it has none "
                                  "(it is the interface's own address: probe it from another host)"),
])
def test_plan_errors(vips, interface, sources, error):
    probes, _warnings, errors = wire.plan(ips(*vips), interface, HOST, ips(*sources))
    assert len(errors) == 1 and errors[0].startswith(error)
