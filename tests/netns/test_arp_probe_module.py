# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""lvs.realserver.arp_probe against real kernels answering on a real (namespaced) Ethernet segment.

The segment is ``segment.build``: a director owning the VIPs, two protected
real servers (VIP on lo), an unmanaged leaking host and a client, on one
bridge. Every responder the module reports is checked against the MACs of
the namespaces, and the same question is asked with scapy as an independent
ground truth.
"""

import threading

import pytest

import lab as _lab
import segment
from lab import ns_exec, ns_sysctl, run_module
from segment import LEAK, VIP, VIP6

pytestmark = pytest.mark.usefixtures("lvs_python")


@pytest.fixture
def seg(lab):
    return segment.build(lab)


def probe(seg, role="cl", check=False, **args):
    args.setdefault("interface", "eth0")
    args.setdefault("vips", [VIP, VIP6])
    return run_module(seg.ns[role], "lvs.realserver.arp_probe", args, check=check, isolate_sysctl_dirs=False)


def answered(result):
    """{vip: sorted responder MACs}."""
    return dict((p["vip"], sorted(r["mac"] for r in p["responders"])) for p in result["probes"])


def test_the_unmanaged_leaking_host_answers_next_to_the_director(seg, arp_tools):
    result = probe(seg)
    assert result.status == "ok", result
    both = sorted([seg.mac["dir"], seg.mac["rog"]])
    assert answered(result) == {VIP: both, VIP6: both}
    assert result["interface_mac"] == seg.mac["cl"] and result["requests_sent"] == 2
    v4, v6 = result["probes"]
    assert (v4["family"], v4["source"], v4["local"], v6["family"], v6["source"]) == (
        "ipv4", "198.51.100.10", False, "ipv6", "2001:db8:100::10")
    assert all(r["count"] == 1 and 0 <= r["first_seen"] < 0.5 for p in result["probes"] for r in p["responders"])
    # ground truth from an independent implementation (scapy) agrees
    assert sorted(_lab.arp_probe_macs(seg.ns["cl"], "eth0", VIP, "198.51.100.10", all_replies=True)) == both


def test_only_the_director_answers_when_everything_is_compliant(seg):
    """Negative control: the unmanaged host loses its VIPs; the protected real servers stay silent."""
    seg.del_vips("rog", "lo", (VIP,))
    seg.del_vips("rog", "eth0", (VIP6,))
    result = probe(seg)
    assert answered(result) == {VIP: [seg.mac["dir"]], VIP6: [seg.mac["dir"]]}
    assert all(p["unsolicited"] == [] for p in result["probes"])


def test_a_managed_real_server_made_to_leak_answers(seg):
    ns_sysctl(seg.ns["rs2"], LEAK)
    result = probe(seg, vips=[VIP])
    assert answered(result) == {VIP: sorted([seg.mac["dir"], seg.mac["rog"], seg.mac["rs2"]])}


def test_from_the_director_itself_the_vip_is_local(seg):
    """The director never answers its own request: it is flagged local, the others still show."""
    result = probe(seg, role="dir")
    assert answered(result) == {VIP: [seg.mac["rog"]], VIP6: [seg.mac["rog"]]}
    assert [p["local"] for p in result["probes"]] == [True, True]
    # the source is the director's subnet address, never the VIP it owns
    assert [p["source"] for p in result["probes"]] == ["198.51.100.2", "2001:db8:100::2"]


def test_check_mode_probes_the_same(seg):
    result = probe(seg, check=True)
    assert result.status == "ok" and result["changed"] is False
    assert answered(result) == {VIP: sorted([seg.mac["dir"], seg.mac["rog"]]),
                                VIP6: sorted([seg.mac["dir"], seg.mac["rog"]])}


def test_unsolicited_claims_during_the_window(seg):
    """Real kernel announcements: a MAC change with arp_notify/ndisc_notify sends gratuitous ARP and an
    unsolicited NA for the VIPs on eth0; a packet sent from the VIP with arp_announce=0 uses it as ARP sender."""
    rog = seg.ns["rog"]
    seg.add_vips("rog", "eth0", (VIP,))
    seg.del_vips("rog", "lo", (VIP,))
    ns_sysctl(rog, {"net.ipv4.conf.eth0.arp_notify": 1, "net.ipv6.conf.eth0.ndisc_notify": 1})
    new_mac = "02:00:5e:00:53:30"

    def trigger():
        # wait until the probe is listening: its request reaches the rogue host
        asked = _lab.capture_first(rog, "eth0", "arp[6:2] = 1 and arp[14:4] = %s" % _lab._ip_to_hex(seg.ip["cl"]),
                                   action=lambda: None, timeout=20)
        assert asked, "the probe's request never came"
        _lab._run(["ip", "-n", rog, "link", "set", "eth0", "address", new_mac], timeout=10)
        ns_exec(rog, [_lab.SYSTEM_PYTHON, "-I", "-c", _lab._UDP_SEND, VIP, "198.51.100.77"],
                isolate_sysctl_dirs=False, check=False, timeout=10)

    thread = threading.Thread(target=trigger)
    thread.start()
    try:
        result = probe(seg, timeout=2.0)
    finally:
        thread.join()
    by_vip = dict((p["vip"], p) for p in result["probes"])
    kinds = dict((vip, sorted((u["mac"], u["type"]) for u in p["unsolicited"])) for vip, p in by_vip.items())
    assert (new_mac, "gratuitous_arp_request") in kinds[VIP], result
    assert (new_mac, "arp_request_sender") in kinds[VIP], result
    assert (new_mac, "unsolicited_na") in kinds[VIP6], result
    assert all(u["first_seen"] > 0 for p in result["probes"] for u in p["unsolicited"])
    # before the change the old MAC answered the requests
    assert seg.mac["rog"] in answered(result)[VIP]


def test_many_vips_are_probed_in_parallel_within_the_bound(seg):
    vips = ["198.51.100.%d" % n for n in range(100, 140)]
    result = probe(seg, vips=vips, timeout=0.5, rate=200)
    assert result.status == "ok"
    assert answered(result)[VIP] == sorted([seg.mac["dir"], seg.mac["rog"]])
    assert all(answered(result)[v] == [] for v in vips[1:])
    assert result["requests_sent"] == 40
    assert result["elapsed"] < 0.5 + 40 / 200.0 + 0.3


@pytest.mark.parametrize("args, words", [
    ({"interface": "eth9"}, ["interface: no such interface 'eth9'"]),
    ({"interface": "lo"}, ["interface: lo is not an Ethernet interface"]),
    ({"interface": "eth0;x"}, ["interface: 'eth0;x' may only contain"]),
    ({"vips": ["198.51.100.0/24"]}, ["vips: '198.51.100.0/24' has prefix length /24"]),
    ({"source": ["203.0.113.5"]}, ["source: 203.0.113.5 is not an address of eth0"]),
    ({"vips": ["203.0.113.%d" % n for n in range(1, 201)], "rate": 10},
     ["max_time: probing 200 VIP(s)", "takes 20.9 s, more than max_time=10"]),
    ({"count": 0}, ["count: 0 is out of range"]),
])
def test_errors_name_the_option_and_send_nothing(seg, args, words):
    if "rate" in args:
        args["max_time"] = 10
    result = probe(seg, **args)
    assert result.status == "failed", result
    for word in words:
        assert word in result["msg"], result["msg"]


def test_a_vip_outside_the_subnets_is_a_warning(seg):
    result = probe(seg, vips=["203.0.113.9"])
    assert result.status == "ok" and answered(result) == {"203.0.113.9": []}
    assert any("203.0.113.9 is outside the subnets of eth0 (198.51.100.0/24)" in str(w) for w in result["warnings"])


def test_an_interface_that_is_down_fails(seg):
    _lab._run(["ip", "-n", seg.ns["cl"], "link", "set", "eth0", "down"], timeout=10)
    result = probe(seg)
    assert result.status == "failed" and "interface: eth0 is down" in result["msg"]


def test_without_raw_socket_permission_the_error_says_so(seg, lvs_python):
    """Root without CAP_NET_RAW (dropped from the bounding set) gets the permission error, not a traceback."""
    wrapper = _lab.run_tmpdir() / "python-no-net-raw"
    wrapper.write_text("#!/bin/sh\nexec setpriv --bounding-set=-net_raw --inh-caps=-net_raw %s \"$@\"\n" % lvs_python)
    wrapper.chmod(0o755)
    result = run_module(seg.ns["cl"], "lvs.realserver.arp_probe", {"interface": "eth0", "vips": [VIP]},
                        isolate_sysctl_dirs=False, python=str(wrapper))
    assert result.status == "failed", result
    assert "no permission to open a raw AF_PACKET socket: arp_probe needs CAP_NET_RAW" in result["msg"]
    # negative control: the same wrapper without the drop probes fine
    wrapper.write_text("#!/bin/sh\nexec %s \"$@\"\n" % lvs_python)
    assert run_module(seg.ns["cl"], "lvs.realserver.arp_probe", {"interface": "eth0", "vips": [VIP]},
                      isolate_sysctl_dirs=False, python=str(wrapper)).status == "ok"
