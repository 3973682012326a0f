# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_runtime_mode: detection (the edge injected), the decision, and the file-only VIP plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode as rm
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan as planner

# /proc/self/status of root in podman's and Docker's default container (no CAP_NET_ADMIN), and privileged.
STATUS_UNPRIVILEGED = "Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n"
STATUS_PRIVILEGED = "Name:\tcat\nCapEff:\t000001ffffffffff\n"


# --------------------------------------------------------------------------
# pure pieces
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text, mask", [
    (STATUS_UNPRIVILEGED, 0xa80425fb),
    (STATUS_PRIVILEGED, 0x1ffffffffff),
    ("Name:\tcat\n", None),
    ("CapEff:\tnot-hex\n", None),
])
def test_cap_effective(text, mask):
    assert rm.cap_effective(text) == mask


@pytest.mark.parametrize("mask, expected", [
    (0xa80425fb, False),        # podman/Docker default: bit 13 (NET_RAW) set, bit 12 (NET_ADMIN) clear
    (0x1000, True),
    (0x1ffffffffff, True),
    (0xffffffff & ~0x1000, False),
    (None, True),               # nothing to go on: do not guess a restriction
])
def test_has_cap_net_admin(mask, expected):
    assert rm.has_capability(mask, rm.CAP_NET_ADMIN) is expected


def test_read_only_flag():
    assert rm.is_read_only(os.ST_RDONLY | os.ST_NOSUID) is True
    assert rm.is_read_only(os.ST_NOSUID) is False


def test_reasons_name_each_cause():
    assert rm.reasons(False, 0x1ffffffffff) == []
    both = rm.reasons(True, 0xa80425fb)
    assert len(both) == 2
    assert "read-only" in both[0] and "CAP_NET_ADMIN" in both[1] and "00000000a80425fb" in both[1]
    assert rm.reasons(False, 0xa80425fb) == [both[1]]
    assert rm.reasons(True, None) == [both[0]]


@pytest.mark.parametrize("requested, detected, expected", [
    ("apply", ["/proc/sys is read-only"], ("applied", [])),
    ("apply", None, ("applied", [])),
    ("skip", None, ("skipped", [rm.SKIP_REQUESTED])),
    ("skip", [], ("skipped", [rm.SKIP_REQUESTED])),
    ("skip", ["x"], ("skipped", ["x"])),  # the role passes skip on after auto skipped: keep the real reasons
    ("auto", [], ("applied", [])),
    ("auto", ["x", "y"], ("skipped", ["x", "y"])),
])
def test_decide(requested, detected, expected):
    assert rm.decide(requested, detected) == expected


def test_resolve_detects_except_for_apply_and_warns_only_for_auto():
    calls = []

    def detector():
        calls.append(1)
        return ["/proc/sys is mounted read-only"]

    assert rm.resolve("apply", detector) == ("applied", [], False)
    assert calls == []
    assert rm.resolve("skip", detector) == ("skipped", ["/proc/sys is mounted read-only"], False)
    assert rm.resolve("skip", lambda: []) == ("skipped", [rm.SKIP_REQUESTED], False)
    assert rm.resolve("auto", detector) == ("skipped", ["/proc/sys is mounted read-only"], True)
    assert rm.resolve("auto", lambda: []) == ("applied", [], False)
    assert calls == [1, 1]


def test_warning_names_the_reasons_what_was_converged_and_the_way_out():
    text = rm.warning(["/proc/sys is mounted read-only, so the running ARP values cannot be written"])
    for part in ("runtime skipped", "/proc/sys is mounted read-only", "sysctl drop-in", "boot unit",
                 "live VIPs were left alone", "next boot", "runtime: skipped", "realserver_runtime: apply"):
        assert part in text, part


# --------------------------------------------------------------------------
# the edge, with statvfs/access injected and the status file and probe under tmp_path
# --------------------------------------------------------------------------

def mount(flags):
    """A ``statvfs`` that reports ``flags`` for every path (a real ``os.statvfs_result``)."""
    return lambda path: os.statvfs_result((4096, 4096, 0, 0, 0, 0, 0, 0, flags, 255))


def allowed(answer):
    return lambda path, mode: answer


@pytest.fixture
def status_file(tmp_path):
    def make(text):
        path = tmp_path / "status"
        path.write_text(text)
        return str(path)
    return make


@pytest.fixture
def probe(tmp_path):
    """An existing directory standing in for /proc/sys/net/ipv4/conf/all."""
    path = tmp_path / "conf" / "all"
    path.mkdir(parents=True)
    return str(path)


def test_detect_unprivileged_container(status_file, probe):
    found = rm.detect(probe, status_file(STATUS_UNPRIVILEGED), statvfs=mount(os.ST_RDONLY | os.ST_NOSUID))
    assert len(found) == 2 and "read-only" in found[0] and "CAP_NET_ADMIN" in found[1]


def test_detect_privileged_host(status_file, probe):
    assert rm.detect(probe, status_file(STATUS_PRIVILEGED), statvfs=mount(os.ST_NOSUID), access=allowed(True)) == []


def test_detect_writable_mount_that_refuses_this_process(status_file, probe):
    """Negative control for statvfs alone: a rw mount whose keys this process may not write counts as read-only."""
    found = rm.detect(probe, status_file(STATUS_PRIVILEGED), statvfs=mount(0), access=allowed(False))
    assert len(found) == 1 and "read-only" in found[0]


def test_detect_without_ipv4_or_status_finds_nothing(tmp_path):
    def missing(path):
        raise OSError(2, "No such file or directory")
    assert rm.detect(str(tmp_path / "no-ipv4"), str(tmp_path / "absent"), statvfs=missing,
                     access=allowed(False)) == []


def test_detect_defaults_read_this_process_for_real():
    """The production edges (os.statvfs, os.access, /proc/self/status): a list of known reasons, nothing raised."""
    found = rm.detect()
    assert isinstance(found, list) and all("read-only" in r or "CAP_NET_ADMIN" in r for r in found)


# --------------------------------------------------------------------------
# the file-only VIP plan
# --------------------------------------------------------------------------

def _iface(name, addresses, loopback=False):
    return _iproute.Interface(name, True, loopback, loopback, None, None, None, addresses)


LO = _iface("lo", [_iproute.address("127.0.0.1", 8, scope="host", label="lo")], loopback=True)
ETH0 = _iface("eth0", [_iproute.address("198.51.100.21", 24, scope="global", label="eth0")])
LEAKING = {"all": {"arp_ignore": 0, "arp_announce": 0}, "default": {}, "lo": {},
           "eth0": {"arp_ignore": 0, "arp_announce": 0}}


def _plan(addresses, state="exact", interfaces=(LO, ETH0), conf=None):
    errors, desired = planner.validate(addresses, "lo", state, None, "host")
    assert errors == []
    plan = planner.plan(desired, list(interfaces), conf or LEAKING, "/testbin/ip", require_arp_protection=False)
    return desired, plan


def test_skip_plan_runs_nothing_and_keeps_the_boot_view():
    _desired, plan = _plan(["198.51.100.100", "2001:db8::100"])
    assert [op["action"] for op in plan["operations"]] == ["add", "add"]
    skipped = rm.skip_vip_plan(plan)
    assert skipped["operations"] == [] and skipped["added"] == [] and skipped["removed"] == []
    assert skipped["after"] == plan["before"]
    assert skipped["boot_after"] == plan["after"]
    assert skipped["runtime_skipped"] == ["add 198.51.100.100/32", "add 2001:db8::100/128"]
    assert skipped["guard"]["verdict"] == rm.GUARD_SKIPPED
    # the override's warning about adding a VIP now, and the live evaluator's, are gone
    assert plan["warnings"] and skipped["warnings"] == []
    # the input is left alone
    assert plan["guard"]["verdict"] == planner.OVERRIDDEN and plan["operations"]


def test_skip_plan_keeps_the_warning_about_a_vip_on_another_interface():
    eth0 = _iface("eth0", ETH0.addresses + [_iproute.address("198.51.100.100", 32, scope="global", label="eth0")])
    _desired, plan = _plan(["198.51.100.100"], interfaces=(LO, eth0))
    skipped = rm.skip_vip_plan(plan)
    assert skipped["warnings"] == ["198.51.100.100 is also on eth0, where the kernel answers ARP/NDP for it"]


def test_skip_plan_of_a_removal():
    vip = _iproute.address("198.51.100.100", 32, scope="host", label="lo:lvs")
    lo = LO._replace(addresses=LO.addresses + [vip])
    _desired, plan = _plan([], interfaces=(lo, ETH0))
    skipped = rm.skip_vip_plan(plan)
    assert skipped["runtime_skipped"] == ["del 198.51.100.100/32"]
    assert vip in skipped["after"] and vip not in skipped["boot_after"]


def test_on_device_replaces_only_that_device():
    new = [_iproute.address("192.0.2.10", 32, scope="host", label="lo:lvs")]
    lo, eth0 = rm.on_device([LO, ETH0], "lo", new)
    assert lo.addresses == new and eth0 == ETH0


DATA = {"addresses": ["192.0.2.10", "2001:db8::10"], "device": "lo", "label": "lo:lvs", "scope": "host",
        "mode": "dr"}


def test_unit_addresses_are_what_loopback_vip_would_add():
    got = rm.unit_addresses(DATA)
    assert got == [planner.desired_address(ipaddress.ip_address("192.0.2.10"), "lo", "lo:lvs", "host"),
                   planner.desired_address(ipaddress.ip_address("2001:db8::10"), "lo", "lo:lvs", "host")]


def test_with_unit_vips_adds_the_units_vips_and_replaces_same_ip_forms():
    stale = _iproute.address("192.0.2.10", 32, scope="global", label="lo")
    lo = LO._replace(addresses=LO.addresses + [stale])
    result = dict((i.name, i) for i in rm.with_unit_vips([lo, ETH0], DATA))
    locals_ = [(a.local, a.scope) for a in result["lo"].addresses]
    assert locals_ == [("127.0.0.1", "host"), ("192.0.2.10", "host"), ("2001:db8::10", "global")]
    assert result["eth0"] == ETH0
    assert rm.with_unit_vips([lo, ETH0], None) == [lo, ETH0]
