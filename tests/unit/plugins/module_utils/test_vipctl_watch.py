# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's watch mode: netlink parsing, the check and its guard, the rate limit (no kernel here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct

from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl as vipctl
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address
from ansible_collections.lvs.realserver.tests.unit.plugins.module_utils.utils import addr_json

PROTECTED = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {}}
LEAKING = {"all": {"arp_ignore": 0, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {}}
IP = "/usr/sbin/ip"


def addr_msg(kind, index, family=2):
    body = struct.pack("=BBBBI", family, 32, 0, 254, index) + struct.pack("=HH4s", 8, 2, b"\xc0\x00\x02\x0a")
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def link_msg(kind, index):
    body = struct.pack("=BxHiII", 0, 772, index, 0x49, 0)
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def test_parse_netlink_reads_every_message_of_a_datagram():
    buf = addr_msg(vipctl.RTM_DELADDR, 1) + addr_msg(vipctl.RTM_NEWADDR, 2, 10) + link_msg(vipctl.RTM_NEWLINK, 1)
    assert vipctl.parse_netlink(buf) == [(vipctl.RTM_DELADDR, 1), (vipctl.RTM_NEWADDR, 2), (vipctl.RTM_NEWLINK, 1)]
    assert vipctl.parse_netlink(b"") == []
    assert vipctl.parse_netlink(struct.pack("=IHHII", 3, 20, 0, 0, 0)) == []  # a bogus length stops the parse


def test_only_removals_and_link_changes_of_the_device_want_a_check():
    assert vipctl.wants_check([(vipctl.RTM_DELADDR, 1)], 1)
    assert vipctl.wants_check([(vipctl.RTM_NEWLINK, 1)], 1)
    assert not vipctl.wants_check([(vipctl.RTM_NEWADDR, 1)], 1)  # an address added takes nothing away
    assert not vipctl.wants_check([(vipctl.RTM_DELADDR, 2)], 1)  # DHCP churn on the NIC
    assert vipctl.wants_check([(vipctl.RTM_DELADDR, 2)], None)  # the device is not there: anything counts
    assert vipctl.wants_check([(vipctl.NLMSG_OVERRUN, 0)], 1)  # events lost
    assert not vipctl.wants_check([], 1)


def data(addresses=("192.0.2.10", "2001:db8::10")):
    return vipctl.load_data(vipctl.render_data(list(addresses), "lo", "host", "lo:lvs", "dr"))


LOOPBACK = [address("127.0.0.1", 8, "host"), address("::1", 128, "host")]


def lo(*extra, **kw):
    own = kw.get("own", LOOPBACK)
    return Interface("lo", kw.get("up", True), True, False, None, None, None, list(own) + list(extra))


def eth0():
    return Interface("eth0", True, False, False, "veth", None, None, [address("192.0.2.21", 24)])


def test_missing_vips_and_their_repair_with_scope_and_label():
    missing = vipctl.missing_vips(data(), [lo(address("2001:db8::10", 128, "global")), eth0()])
    assert [(str(ip), bits) for ip, bits in missing] == [("192.0.2.10", 32)]
    assert vipctl.repair_argvs(data(), IP, missing) == [
        [IP, "-4", "addr", "replace", "192.0.2.10/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]]
    assert vipctl.missing_vips(data(), [lo(address("192.0.2.10", 32, "host"), address("2001:db8::10", 128)),
                                        eth0()]) == []


def test_rate_limit_allows_a_burst_per_window():
    limit = vipctl.RateLimit(burst=2, window=10.0)
    assert limit.wait(0.0) == 0.0
    limit.take(0.0)
    limit.take(1.0)
    assert limit.wait(2.0) == 8.0
    assert limit.wait(10.5) == 0.0  # the first one left the window


class Host(object):
    def __init__(self, tmp_path, conf, interfaces, content=None):
        self.path = tmp_path / "vips.json"
        if content is not None:
            self.path.write_text(content)
        self.conf, self.interfaces, self.ran, self.logs, self.fail = conf, interfaces, [], [], None

    def capture(self, argv):
        return addr_json(self.interfaces)

    def run(self, argv):
        if self.fail:
            raise OSError(self.fail)
        self.ran.append(argv)

    def check(self, limit=None, said=None, ipv6_on=lambda _device: True):
        return vipctl.check_once(str(self.path), IP, self.logs.append, self.run, self.capture,
                                 lambda: self.conf, limit or vipctl.RateLimit(), lambda: 100.0,
                                 {} if said is None else said, ipv6_on=ipv6_on)


def test_check_re_adds_only_the_missing_vips_behind_the_guard(tmp_path):
    host = Host(tmp_path, PROTECTED, [lo(address("2001:db8::10", 128)), eth0()], vipctl.render_data(
        ["192.0.2.10", "2001:db8::10"], "lo", "host", "lo:lvs", "dr"))
    assert host.check() == ("restored", None, "lo")
    assert host.ran == [[IP, "-4", "addr", "replace", "192.0.2.10/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]]
    assert "re-added 192.0.2.10/32 on lo" in host.logs[-1]


def test_check_never_adds_while_the_guard_fails_and_says_so_once(tmp_path):
    host = Host(tmp_path, LEAKING, [lo(), eth0()], vipctl.render_data(["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    said = {}
    assert host.check(said=said)[0] == "refused"
    assert host.check(said=said)[0] == "refused"
    assert host.ran == []
    assert len([line for line in host.logs if line.startswith("REFUSED: eth0 arp_ignore: effective 0")]) == 1
    host.conf = PROTECTED
    assert host.check(said=said)[0] == "restored" and len(host.ran) == 1


def test_check_stops_at_the_rate_limit(tmp_path):
    host = Host(tmp_path, PROTECTED, [lo(), eth0()], vipctl.render_data(["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    limit = vipctl.RateLimit(burst=1, window=10.0)
    assert host.check(limit)[0] == "restored"
    status, retry, _device = host.check(limit)
    assert status == "limited" and retry == 10.0 and len(host.ran) == 1
    assert "rate limit" in host.logs[-1]


def test_check_without_data_does_nothing(tmp_path):
    host = Host(tmp_path, PROTECTED, [lo(), eth0()])
    said = {}
    assert host.check(said=said) == ("nodata", None, None)
    assert host.check(said=said) == ("nodata", None, None)
    assert host.ran == [] and len(host.logs) == 1


def test_a_failed_add_is_logged_and_retried_later(tmp_path):
    host = Host(tmp_path, PROTECTED, [lo(), eth0()], vipctl.render_data(["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    host.fail = "RTNETLINK answers: Network is down"
    assert host.check()[0] == "failed"
    assert "Network is down" in host.logs[-1]


def test_parse_args_accepts_watch():
    assert vipctl.parse_args(["watch"]) == ("watch", vipctl.DATA_FILE, None)
    assert vipctl.parse_args(["watch", "--out", "x"]) is None


class SteppingClock(object):
    """A clock that advances ``step`` seconds at each reading (the settle window without real waiting)."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_read_events_stops_settling_after_settle_max_while_events_keep_coming():
    """A stack that changes addresses without pause must not hold the check back (SETTLE_MAX)."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for _n in range(50):  # always something ready: only the deadline can end the settling
            writer.send(addr_msg(vipctl.RTM_DELADDR, 1))
        clock = SteppingClock(0.02)
        events = vipctl.read_events(reader, 1.0, clock=clock)
        assert 1 < len(events) < 50
        assert clock.now <= vipctl.SETTLE_MAX + 0.1
    finally:
        reader.close()
        writer.close()


def test_read_events_returns_the_burst_once_it_is_quiet():
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for _n in range(3):
            writer.send(addr_msg(vipctl.RTM_DELADDR, 1))
        assert vipctl.read_events(reader, 1.0) == [(vipctl.RTM_DELADDR, 1)] * 3
        assert vipctl.read_events(reader, 0.01) == []  # nothing within the first wait
    finally:
        reader.close()
        writer.close()


LO_OWN_V4 = [IP, "-4", "addr", "replace", "127.0.0.1/8", "dev", "lo", "scope", "host"]
LO_OWN_V6 = [IP, "-6", "addr", "replace", "::1/128", "dev", "lo", "scope", "host"]


def test_missing_loopback_only_on_an_up_loopback_and_v6_only_where_ipv6_runs():
    assert vipctl.missing_loopback("lo", [lo(own=[])], lambda _d: True) == [("127.0.0.1", 8), ("::1", 128)]
    assert vipctl.missing_loopback("lo", [lo(own=[])], lambda _d: False) == [("127.0.0.1", 8)]
    assert vipctl.missing_loopback("lo", [lo(own=[], up=False)], lambda _d: True) == []  # the kernel's business
    assert vipctl.missing_loopback("lo", [lo()], lambda _d: True) == []
    assert vipctl.missing_loopback("tunl0", [lo(own=[])], lambda _d: True) == []


def test_check_puts_back_los_own_addresses_a_stack_flushed(tmp_path):
    """netplan apply with lo rendered to NetworkManager removed 127.0.0.1 and ::1 with the VIPs (real-boot tier)."""
    host = Host(tmp_path, PROTECTED, [lo(own=[]), eth0()], vipctl.render_data(
        ["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    assert host.check() == ("restored", None, "lo")
    assert host.ran == [LO_OWN_V4, LO_OWN_V6,
                        [IP, "-4", "addr", "replace", "192.0.2.10/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]]
    assert any("127.0.0.1/8, ::1/128, lo's own" in line for line in host.logs)


def test_los_own_addresses_need_no_guard_the_vips_still_do(tmp_path):
    host = Host(tmp_path, LEAKING, [lo(own=[address("::1", 128, "host")]), eth0()], vipctl.render_data(
        ["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    assert host.check() == ("refused", None, "lo")
    assert host.ran == [LO_OWN_V4]
    assert any(line.startswith("REFUSED: ") for line in host.logs)
