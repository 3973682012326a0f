# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _iproute

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_parse_real_ip_j_d_addr_output():
    """Captured from iproute2 6.1 in a netns: lo with VIPs, a veth with a secondary, a bridge and its port, NOARP."""
    interfaces = dict((i.name, i) for i in _iproute.parse_addr_json(fixture("ip-j-d-addr.json")))
    assert sorted(interfaces) == ["br0", "lo", "veth0", "veth1", "veth2", "veth3"]
    lo = interfaces["lo"]
    assert lo.loopback and lo.up and not lo.noarp
    vip = [a for a in lo.addresses if a.local == "198.51.100.100"][0]
    assert (vip.family, vip.prefixlen, vip.scope, vip.label) == ("inet", 32, "host", "lo:lvs")
    vip6 = [a for a in lo.addresses if a.local == "2001:db8::100"][0]
    assert (vip6.family, vip6.prefixlen, vip6.label, vip6.preferred_life_time) == ("inet6", 128, None, 0)
    assert [(a.local, a.secondary) for a in interfaces["veth0"].addresses if a.family == "inet"] == [
        ("198.51.100.21", False), ("198.51.100.22", True)]
    assert (interfaces["veth1"].slave_kind, interfaces["veth1"].master) == ("bridge", "br0")
    assert interfaces["br0"].link_kind == "bridge"
    assert interfaces["veth2"].noarp and not interfaces["veth2"].up


def test_parse_skips_the_empty_entries_of_a_filtered_listing():
    """`ip -j addr show label 'lo:*'` prints `{}` for filtered-out addresses and drops ifname."""
    assert _iproute.parse_addr_json(fixture("ip-j-addr-label-filter.json")) == []
    entry = json.loads(fixture("ip-j-addr-label-filter.json"))[0]
    entry.update(ifname="lo", flags=["LOOPBACK", "UP"])
    parsed = _iproute.parse_addr_json(json.dumps([entry]))
    assert [a.local for a in parsed[0].addresses] == ["198.51.100.100"]


def test_parse_empty_output():
    assert _iproute.parse_addr_json("") == []
    assert _iproute.parse_addr_json("[]") == []


@pytest.mark.parametrize("name, fragment", [
    ("", "non-empty"),
    ("a" * 16, "16 characters"),
    (".", "not a valid"),
    ("..", "not a valid"),
    ("eth0/1", "may only contain"),
    ("eth 0", "may only contain"),
    ("eth0;reboot", "may only contain"),
    ("$(id)", "may only contain"),
    ("lo:0", "may only contain"),
    (None, "non-empty"),
])
def test_bad_interface_names(name, fragment):
    assert fragment in _iproute.interface_name_error(name)


@pytest.mark.parametrize("name", ["eth0", "eth0.100", "enp0s31f6", "bond0", "a" * 15, "br-lan", "tunl0"])
def test_good_interface_names(name):
    assert _iproute.interface_name_error(name) is None


@pytest.mark.parametrize("label, fragment", [
    ("lo:" + "x" * 13, "16 characters"),
    ("lo:a b", "may only contain"),
    ("eth0:vip", "must start with the device name"),
])
def test_bad_labels(label, fragment):
    assert fragment in _iproute.label_error(label, "lo")


def test_good_label():
    assert _iproute.label_error("lo:lvs", "lo") is None
    assert _iproute.label_error("tunl0:lvs", "tunl0") is None


@pytest.mark.parametrize("text, expected", [
    ("198.51.100.100", ("198.51.100.100", 32)),
    ("198.51.100.100/32", ("198.51.100.100", 32)),
    (" 2001:db8::100 ", ("2001:db8::100", 128)),
    ("2001:db8::100/128", ("2001:db8::100", 128)),
])
def test_parse_vip(text, expected):
    ip, bits = _iproute.parse_vip(text)
    assert (str(ip), bits) == expected


@pytest.mark.parametrize("text, fragment", [
    ("198.51.100.100/24", "prefix length /24; a VIP must be /32"),
    ("2001:db8::100/64", "prefix length /64; a VIP must be /128"),
    ("127.0.0.2", "loopback"),
    ("::1", "loopback"),
    ("::ffff:198.51.100.1", "IPv4-mapped IPv6 address; give the IPv4 address 198.51.100.1"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("255.255.255.255", "broadcast"),
    ("not-an-ip", "not an IPv4 or IPv6"),
    ("198.51.100.300", "not an IPv4 or IPv6"),
    ("198.51.100.1; rm -rf /", "not an IPv4 or IPv6"),
])
def test_parse_vip_rejects_unsafe_addresses(text, fragment):
    with pytest.raises(ValueError, match=fragment.replace("/", ".")):
        _iproute.parse_vip(text)


def test_argv_builders_are_lists_without_flush():
    ip4 = ipaddress.ip_address("198.51.100.100")
    ip6 = ipaddress.ip_address("2001:db8::100")
    assert _iproute.addr_replace_argv("/usr/sbin/ip", ip4, "lo", "host", "lo:lvs") == [
        "/usr/sbin/ip", "-4", "addr", "replace", "198.51.100.100/32", "dev", "lo", "scope", "host", "label", "lo:lvs"]
    assert _iproute.addr_replace_argv("/usr/sbin/ip", ip4, "lo", "global", None) == [
        "/usr/sbin/ip", "-4", "addr", "replace", "198.51.100.100/32", "dev", "lo", "scope", "global"]
    assert _iproute.addr_replace_argv("/usr/sbin/ip", ip6, "lo", "host", "lo:lvs") == [
        "/usr/sbin/ip", "-6", "addr", "replace", "2001:db8::100/128", "dev", "lo", "preferred_lft", "0"]
    assert _iproute.addr_del_argv("ip", "198.51.100.100", 32, "lo") == [
        "ip", "-4", "addr", "del", "198.51.100.100/32", "dev", "lo"]
    assert _iproute.addr_del_argv("ip", "2001:db8::100", 128, "lo") == [
        "ip", "-6", "addr", "del", "2001:db8::100/128", "dev", "lo"]
    assert _iproute.addr_show_argv("ip", "lo") == ["ip", "-j", "-d", "addr", "show", "dev", "lo"]
