# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.realserver.arp_probe with the raw socket replaced by a fake segment (the real one is in tests/netns)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_wire as wire
from ansible_collections.lvs.realserver.plugins.modules import arp_probe
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    AnsibleExitJson,
    AnsibleFailJson,
    RunCommandMock,
    set_module_args,
)

IP = "/testbin/ip"
SHOW = [IP, "-j", "-d", "addr", "show"]
OWN = wire.mac_bytes("52:54:00:00:00:10")
DIRECTOR = wire.mac_bytes("52:54:00:00:00:02")
LEAKER = wire.mac_bytes("52:54:00:00:00:30")
VIP = "198.51.100.100"
VIP6 = "2001:db8:100::100"


def ip_json(up=True):
    def addr(local, plen, family="inet"):
        return {"family": family, "local": local, "prefixlen": plen, "scope": "global",
                "preferred_life_time": 4294967295}
    return json.dumps([
        {"ifname": "lo", "flags": ["LOOPBACK", "UP"], "addr_info": [addr("127.0.0.1", 8)]},
        {"ifname": "eth0", "flags": ["BROADCAST", "UP"] if up else ["BROADCAST"],
         "addr_info": [addr("198.51.100.10", 24), addr("2001:db8:100::10", 64, "inet6")]},
    ])


def arp_reply(mac, vip, to_ip="198.51.100.10"):
    body = bytes.fromhex("0001080006040002") + mac + bytes(map(int, vip.split("."))) + OWN
    return OWN + mac + b"\x08\x06" + body + bytes(map(int, to_ip.split(".")))


class FakeSegment(object):
    """A raw socket on a segment where ``answers`` (MAC -> VIPs) reply to each request."""

    def __init__(self, answers, hatype=wire.ARPHRD_ETHER, extra=()):
        self.answers, self.hatype = answers, hatype
        self.sent, self.queue, self.bound = [], list(extra), None
        self.options = []

    def __call__(self, family, kind, proto):
        assert (family, kind, proto) == (arp_probe.socket.AF_PACKET, arp_probe.socket.SOCK_RAW, 0)
        return self

    def setsockopt(self, level, name, value):
        self.options.append((level, name, len(value)))

    def bind(self, address):
        if address[0] != "eth0":
            raise OSError(errno.ENODEV, "No such device")
        self.bound = address

    def getsockname(self):
        return ("eth0", wire.ETH_P_ALL, 0, self.hatype, OWN)

    def send(self, frame):
        self.sent.append(frame)
        # our own frame comes back as outgoing (ignored), then the answers
        self.queue.append((frame, arp_probe.PACKET_OUTGOING))
        if frame[12:14] == b"\x08\x06":
            target = ".".join(str(b) for b in bytearray(frame[38:42]))
            for mac, vips in self.answers.items():
                if target in vips:
                    self.queue.append((arp_reply(mac, target), 0))
        return len(frame)

    def recvfrom(self, size, flags):
        if not self.queue:
            raise BlockingIOError()
        frame, pkttype = self.queue.pop(0)
        return frame, ("eth0", 0, pkttype, 1, b"")

    def fileno(self):
        return 99

    def close(self):
        pass


def if_nametoindex(name):
    if name not in ("lo", "eth0"):
        raise OSError(errno.ENODEV, "No such device")
    return 2


@pytest.fixture
def segment(get_bin_path):
    def install(answers, **kwargs):
        fake = FakeSegment(answers, **kwargs)
        fake.net = arp_probe.Net()  # the module's raw-socket edges over this segment
        fake.net.open_raw = fake
        fake.net.if_index = if_nametoindex
        fake.net.wait = lambda r, w, x, t: (r if fake.queue else [], [], [])
        return fake
    return install


def run(fake, monkeypatch, args, up=True, calls=True):
    mock = RunCommandMock([(SHOW, (0, ip_json(up), ""))] if calls else [])
    monkeypatch.setattr(basic.AnsibleModule, "run_command", mock)
    with set_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            arp_probe.main(fake.net)
    return info.value.result


def test_responders_and_the_frames_sent(segment, monkeypatch):
    fake = segment({DIRECTOR: [VIP], LEAKER: [VIP, "198.51.100.101"]})
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": [VIP, "198.51.100.101", VIP, "198.51.100.102"],
                                     "timeout": 0.05, "rate": 1000})
    assert result["changed"] is False and result["interface_mac"] == "52:54:00:00:00:10"
    assert [(p["vip"], [r["mac"] for r in p["responders"]]) for p in result["probes"]] == [
        (VIP, ["52:54:00:00:00:02", "52:54:00:00:00:30"]),
        ("198.51.100.101", ["52:54:00:00:00:30"]),
        ("198.51.100.102", []),
    ]
    assert result["requests_sent"] == 3 and [p["requests"] for p in result["probes"]] == [1, 1, 1]
    assert fake.sent[0] == wire.arp_request(OWN, "198.51.100.10", VIP)
    assert fake.bound == ("eth0", wire.ETH_P_ALL)
    assert fake.options == [(arp_probe.socket.SOL_SOCKET, arp_probe.SO_ATTACH_FILTER, 16)]


def test_ipv6_vips_are_asked_with_a_solicitation(segment, monkeypatch):
    fake = segment({})
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": [VIP6], "timeout": 0.02, "count": 2, "rate": 1000})
    assert fake.sent == [wire.neighbour_solicitation(OWN, "2001:db8:100::10", VIP6)] * 2
    assert result["probes"][0]["responders"] == [] and result["probes"][0]["requests"] == 2


def test_unsolicited_claims_and_own_frames(segment, monkeypatch):
    garp = arp_reply(LEAKER, VIP, to_ip=VIP)
    own = arp_reply(OWN, VIP)
    fake = segment({}, extra=[(garp, 0), (own, 0)])
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": [VIP], "timeout": 0.02})
    probe = result["probes"][0]
    assert probe["responders"] == []
    assert [(u["mac"], u["type"], u["count"]) for u in probe["unsolicited"]] == [
        ("52:54:00:00:00:30", "gratuitous_arp_reply", 1)]


@pytest.mark.parametrize("args, msg", [
    ({"interface": "eth0", "vips": ["198.51.100.0/24"]}, "vips: '198.51.100.0/24' has prefix length /24"),
    ({"interface": "eth0", "vips": []}, "vips: must not be empty"),
    ({"interface": "eth0/x", "vips": [VIP]}, "interface: 'eth0/x' may only contain"),
    ({"interface": "eth0", "vips": [VIP], "timeout": 0}, "timeout: 0.0 is out of range (0.01 to 60.0)"),
    ({"interface": "eth0", "vips": [VIP], "rate": 0}, "rate: 0 is out of range"),
    ({"interface": "eth0", "vips": [VIP], "source": ["x"]}, "source: 'x' is not an IPv4 or IPv6 address"),
    ({"interface": "eth0", "vips": [VIP], "source": ["198.51.100.10", "198.51.100.11"]},
     "source: give at most one IPv4 and one IPv6 address"),
])
def test_bad_options_fail_before_anything_is_read(segment, monkeypatch, args, msg):
    fake = segment({})
    result = run(fake, monkeypatch, args, calls=False)
    assert result["failed"] is True and msg in result["msg"], result["msg"]
    assert fake.sent == []


def test_no_such_interface(segment, monkeypatch):
    fake = segment({})
    result = run(fake, monkeypatch, {"interface": "eth9", "vips": [VIP]}, calls=False)
    assert result["msg"] == "interface: no such interface 'eth9' on this host" and fake.sent == []


def test_interface_down(segment, monkeypatch):
    fake = segment({})
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": [VIP]}, up=False)
    assert result["msg"] == "interface: eth0 is down; nothing can be probed on it" and fake.sent == []


def test_schedule_longer_than_max_time(segment, monkeypatch):
    fake = segment({})
    vips = ["198.51.100.%d" % n for n in range(100, 150)]
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": vips, "rate": 10, "max_time": 5})
    assert result["msg"].startswith("max_time: probing 50 VIP(s) with count=1, timeout=1.0 and rate=10 takes 5.9 s")
    assert fake.sent == []


def test_no_raw_socket_permission(segment, monkeypatch, get_bin_path):
    fake = segment({})

    def denied(*args):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    fake.net.open_raw = denied
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": [VIP]})
    assert result["msg"].startswith("no permission to open a raw AF_PACKET socket: arp_probe needs CAP_NET_RAW")


def test_not_an_ethernet_interface(segment, monkeypatch):
    fake = segment({}, hatype=772)
    result = run(fake, monkeypatch, {"interface": "eth0", "vips": [VIP]})
    assert result["msg"] == "interface: eth0 is not an Ethernet interface (link type 772): ARP cannot be probed on it"
    assert fake.sent == []


def test_a_warning_for_a_vip_outside_the_subnets(segment, monkeypatch):
    fake = segment({})
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    run(fake, monkeypatch, {"interface": "eth0", "vips": ["203.0.113.9"], "timeout": 0.02})
    assert warnings == ["vips: 203.0.113.9 is outside the subnets of eth0 (198.51.100.0/24): no host on this "
                        "segment is expected to answer for it"]
