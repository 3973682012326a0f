# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""lvs.realserver.arp_facts against the wire: its verdict must agree with what the kernel does.

For every configuration (each row of the reference's E1 arp_ignore and E2
arp_announce tables, E2b, a seeded random sample of all/interface values, and
the second-NIC and bridge layouts of E11/E13) the values are written in the
real-server namespace, the fact module runs there (directly with python, no
ansible-playbook), and then:

* the client broadcasts "who-has VIP" and "who-has RIP" (scapy) and the
  module's arp_ignore verdict must predict REPLY/NOREPLY: ``leak`` <=> the
  VIP is answered, ``broken`` <=> the RIP is not;
* for arp_ignore 2 the RIP is also asked from a sender outside the subnet
  (the module's note says such senders get no answer);
* the real server sends one datagram from the VIP and the ``tell`` address of
  its ARP request is captured: the module's arp_announce verdict ``leak``
  <=> the VIP is the sender.

Each comparison counts once; the count is printed as ``agree N/N`` and must be
total. ``LVS_GT_SEED`` fixes the random sample (the seed is printed either
way), ``LVS_GT_SAMPLES`` sets its size (default 24).

Also here: the module's ``boot`` prediction against what systemd-sysctl really
applies from the namespace's private sysctl.d tree, and a networkd hazard read
from a real (private) /etc/systemd/network.
"""

import os
import random
import time

import pytest
from real_tier import unavailable

import lab as _lab
from lab import CL_IP, RS_IP, ns_exec, ns_sysctl, run_module

pytestmark = pytest.mark.usefixtures("lvs_python", "arp_tools")

MODULE = "lvs.realserver.arp_facts"
VIP_ON = "198.51.100.100"          # inside eth0's 198.51.100.0/24: the normal DR layout
VIP_OFF = "203.0.113.100"          # in no subnet of the real server
OFF_SUBNET_SENDER = "203.0.113.5"  # an ARP sender outside eth0's subnet (E1, arp_ignore=2)
KEYS = ("arp_ignore", "arp_announce", "arp_filter")
PROBE_TIMEOUT = 0.5                # a veth answers within milliseconds

# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------


def case(name, ignore=(0, 0, 0), announce=(2, 0, 0), vip=VIP_ON, scope="global", arp_filter=0,
         probes=("vip", "rip"), unnumbered=False):
    """``ignore``/``announce``: (all, eth0, lo) raw values."""
    return dict(name=name, ignore=ignore, announce=announce, vip=vip, scope=scope, arp_filter=arp_filter,
                probes=probes, unnumbered=unnumbered)


# E1: (all, eth0, lo) arp_ignore; the VIP on lo; asked by the client (in subnet)
E1 = [
    case("E1 all=1", (1, 0, 0)),
    case("E1 eth0=1", (0, 1, 0)),
    case("E1 all=2", (2, 0, 0)),
    case("E1 eth0=2", (0, 2, 0)),
    case("E1 all=-1 eth0=1", (-1, 1, 0)),
    case("E1 all=0", (0, 0, 0)),
    case("E1 lo=1 only", (0, 0, 1)),
    case("E1 all=3 VIP scope global", (3, 0, 0)),
    case("E1 eth0=4", (0, 4, 0)),
    case("E1 eth0=5", (0, 5, 0)),
    case("E1 eth0=6", (0, 6, 0)),
    case("E1 eth0=7", (0, 7, 0)),
    case("E1 all=9", (9, 0, 0)),
    case("E1 all=100", (100, 0, 0)),
    case("E1 all=1 eth0=4", (1, 4, 0)),
    case("E1 all=8", (8, 0, 0)),
    case("E1 all=2 RIP from off-subnet sender", (2, 0, 0), probes=("vip", "rip", "rip_off")),
    case("E1 all=1 RIP from off-subnet sender", (1, 0, 0), probes=("vip", "rip", "rip_off")),
    case("E1 all=3 VIP scope link", (3, 0, 0), scope="link"),
    case("E1 all=3 VIP scope host", (3, 0, 0), scope="host"),
    case("E1 arp_filter all=1 alone", (0, 0, 0), arp_filter=1),
]

# E2: (all, eth0, lo) arp_announce; the real server sends from the VIP to the client
E2 = [
    case("E2 all=0", announce=(0, 0, 0), probes=("announce",)),
    case("E2 lo=2 only", announce=(0, 0, 2), probes=("announce",)),
    case("E2 all=1 VIP on-subnet", announce=(1, 0, 0), probes=("announce",)),
    case("E2 all=1 VIP in another subnet", announce=(1, 0, 0), vip=VIP_OFF, probes=("announce",)),
    case("E2 all=2", announce=(2, 0, 0), probes=("announce",)),
    case("E2 eth0=2", announce=(0, 2, 0), probes=("announce",)),
    case("E2 all=2 eth0=0", announce=(2, 0, 0), probes=("announce",)),
    case("E2 all=3", announce=(3, 0, 0), probes=("announce",)),
    case("E2 eth0=5", announce=(0, 5, 0), probes=("announce",)),
    # E2b: eth0 without an IPv4 address (onlink route to the client)
    case("E2b unnumbered eth0, all=2, VIP global", announce=(2, 0, 0), probes=("announce",), unnumbered=True),
    case("E2b unnumbered eth0, all=2, VIP scope host", announce=(2, 0, 0), scope="host", probes=("announce",),
         unnumbered=True),
]

IGNORE_VALUES = (-1, 0, 1, 2, 3, 4, 5, 7, 8, 9)
ANNOUNCE_VALUES = (-1, 0, 1, 2, 3, 5)


def random_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        cases.append(case(
            "random #%d" % i,
            ignore=(rng.choice(IGNORE_VALUES), rng.choice(IGNORE_VALUES), rng.choice(IGNORE_VALUES)),
            announce=(rng.choice(ANNOUNCE_VALUES), rng.choice(ANNOUNCE_VALUES), rng.choice(ANNOUNCE_VALUES)),
            vip=rng.choice((VIP_ON, VIP_OFF)),
            scope=rng.choice(("global", "host")),
            arp_filter=rng.choice((0, 0, 1)),
            probes=("vip", "rip", "rip_off", "announce"),
        ))
    return cases


# --------------------------------------------------------------------------
# the real server
# --------------------------------------------------------------------------

class RealServer:
    """One rs/cl topology, reused: only values, the VIP and eth0's address change between cases."""

    def __init__(self, topo):
        self.t = topo
        self.rs = topo.rs
        self.vip = None
        self.route_default()

    def ip(self, *argv, check=True):
        return ns_exec(self.rs, ["ip", *argv], isolate_sysctl_dirs=False, check=check, timeout=10)

    def route_default(self):
        # the client doubles as the router, as in the reference harness: arp_filter needs a route back
        self.ip("route", "replace", "default", "via", CL_IP, "dev", "eth0")

    def set_values(self, c):
        values = {}
        for iface in ("all", "default", "lo", "eth0"):
            slot = {"all": 0, "lo": 2, "eth0": 1}.get(iface)
            values["net.ipv4.conf.%s.arp_ignore" % iface] = c["ignore"][slot] if slot is not None else 0
            values["net.ipv4.conf.%s.arp_announce" % iface] = c["announce"][slot] if slot is not None else 0
            values["net.ipv4.conf.%s.arp_filter" % iface] = c["arp_filter"] if iface == "all" else 0
        ns_sysctl(self.rs, values)

    def set_vip(self, address, scope):
        for old in (VIP_ON, VIP_OFF):
            self.ip("addr", "del", "%s/32" % old, "dev", "lo", check=False)
        self.ip("addr", "add", "%s/32" % address, "dev", "lo", "scope", scope, "label", "lo:lvs")
        self.vip = address

    def unnumber(self):
        self.ip("addr", "del", "%s/24" % RS_IP, "dev", "eth0")
        self.ip("route", "replace", "%s/32" % CL_IP, "dev", "eth0")

    def renumber(self):
        self.ip("route", "del", "%s/32" % CL_IP, "dev", "eth0", check=False)
        self.ip("addr", "replace", "%s/24" % RS_IP, "dev", "eth0")
        self.route_default()

    def facts(self, args=None):
        result = run_module(self.rs, MODULE, args or {})
        assert not result.get("failed"), result
        assert result.get("changed") is False
        return result["ansible_facts"]["lvs_realserver"]

    def flush(self):
        _lab.flush_neigh(self.rs)
        _lab.flush_neigh(self.t.cl)


def predictions(facts, iface="eth0"):
    """What the module's verdict claims the wire will show."""
    report = facts["interfaces"][iface]
    ignore, announce = report["arp_ignore"], report["arp_announce"]
    strict_subnet = ignore["verdict"] == "ok" and "subnet" in (ignore["note"] or "")
    return {
        "vip": "REPLY" if ignore["verdict"] == "leak" else "NOREPLY",
        "rip": "NOREPLY" if ignore["verdict"] == "broken" else "REPLY",
        "rip_off": "NOREPLY" if ignore["verdict"] == "broken" or strict_subnet else "REPLY",
        "announce": "VIP" if announce["verdict"] == "leak" else "not VIP",
    }


def observe(server, c, probe):
    t = server.t
    if probe == "announce":
        sender = _lab.arp_sender_for_traffic(t.rs, t.cl, c["vip"], CL_IP, client_iface=t.cl_if)
        assert sender is not None, "the real server sent no ARP request for %s" % CL_IP
        return ("VIP" if sender == c["vip"] else "not VIP"), sender
    server.flush()
    target, sender = {"vip": (c["vip"], CL_IP), "rip": (RS_IP, CL_IP), "rip_off": (RS_IP, OFF_SUBNET_SENDER)}[probe]
    answer, mac = _lab.arp_probe(t.cl, t.cl_if, target, sender, timeout=PROBE_TIMEOUT)
    return answer, mac


def run_cases(server, cases, label):
    agree = 0
    total = 0
    disagreements = []
    start = time.monotonic()
    for c in cases:
        if c["unnumbered"]:
            server.unnumber()
        try:
            server.set_values(c)
            server.set_vip(c["vip"], c["scope"])
            facts = server.facts()
            expected = predictions(facts)
            for probe in c["probes"]:
                seen, detail = observe(server, c, probe)
                total += 1
                if seen == expected[probe]:
                    agree += 1
                else:
                    disagreements.append("%s / %s: module predicts %s (%s), wire shows %s (%s)" % (
                        c["name"], probe, expected[probe], facts["interfaces"]["eth0"], seen, detail))
        finally:
            if c["unnumbered"]:
                server.renumber()
    print("%s: agree %d/%d (%.1fs)" % (label, agree, total, time.monotonic() - start))
    for line in disagreements:
        print("DISAGREE " + line)
    return agree, total, disagreements


@pytest.fixture(scope="module")
def server(netns_lab):
    lb = _lab.Lab()
    try:
        yield RealServer(lb.topology())
    finally:
        errors = lb.cleanup()
        assert not errors, errors


def test_e1_arp_ignore_table_agrees_with_the_wire(server):
    agree, total, bad = run_cases(server, E1, "E1 arp_ignore")
    assert total == sum(len(c["probes"]) for c in E1)
    assert agree == total, "\n".join(bad)


def test_e2_arp_announce_table_agrees_with_the_wire(server):
    agree, total, bad = run_cases(server, E2, "E2 arp_announce")
    assert total == len(E2)
    assert agree == total, "\n".join(bad)


def test_random_sample_agrees_with_the_wire(server):
    seed = int(os.environ.get("LVS_GT_SEED") or random.SystemRandom().randrange(1 << 32))
    count = int(os.environ.get("LVS_GT_SAMPLES") or 24)
    print("random sample: seed=%d samples=%d (LVS_GT_SEED=%d reproduces it)" % (seed, count, seed))
    cases = random_cases(seed, count)
    agree, total, bad = run_cases(server, cases, "random seed=%d" % seed)
    assert agree == total, "seed=%d\n%s" % (seed, "\n".join(bad))


# --------------------------------------------------------------------------
# E11 second NIC and E13 bridge: the verdict is per L3 interface
# --------------------------------------------------------------------------

class Ledger:
    def __init__(self):
        self.agree = self.total = 0
        self.bad = []

    def check(self, t, facts, iface, client_ns, client_if, sender):
        expected = predictions(facts, iface)["vip"]
        _lab.flush_neigh(t.rs)
        seen = _lab.arp_probe(client_ns, client_if, VIP_ON, sender, timeout=PROBE_TIMEOUT)[0]
        self.total += 1
        if seen == expected:
            self.agree += 1
        else:
            self.bad.append("%s: predicted %s, wire %s (%s)" % (iface, expected, seen, facts["interfaces"][iface]))


def test_e11_second_nic_agrees_with_the_wire(make_topology):
    ledger = Ledger()
    t = make_topology(second_nic=True)
    t.add_vip(VIP_ON)
    for all_value, eth0, eth1 in ((0, 1, 0), (0, 1, 1), (1, 0, 0), (1, 0, 4), (0, 0, 2)):
        ns_sysctl(t.rs, {"net.ipv4.conf.all.arp_ignore": all_value, "net.ipv4.conf.eth0.arp_ignore": eth0,
                         "net.ipv4.conf.eth1.arp_ignore": eth1})
        facts = run_module(t.rs, MODULE, {})["ansible_facts"]["lvs_realserver"]
        assert facts["arp_facing"] == ["eth0", "eth1"]
        ledger.check(t, facts, "eth0", t.cl, t.cl_if, CL_IP)
        ledger.check(t, facts, "eth1", t.p2, t.p2_if, _lab.P2_IP)
    print("E11 second NIC: agree %d/%d" % (ledger.agree, ledger.total))
    assert ledger.agree == ledger.total, "\n".join(ledger.bad)


def test_e13_bridge_agrees_with_the_wire(make_topology):
    ledger = Ledger()
    t = make_topology(bridge=True)
    t.add_vip(VIP_ON)
    for port, br0 in ((1, 0), (0, 1), (4, 1), (0, 0)):
        ns_sysctl(t.rs, {"net.ipv4.conf.eth0.arp_ignore": port, "net.ipv4.conf.br0.arp_ignore": br0})
        facts = run_module(t.rs, MODULE, {})["ansible_facts"]["lvs_realserver"]
        assert facts["arp_facing"] == ["br0"]  # the bridge port does not count
        ledger.check(t, facts, "br0", t.cl, t.cl_if, CL_IP)
    print("E13 bridge: agree %d/%d" % (ledger.agree, ledger.total))
    assert ledger.agree == ledger.total, "\n".join(ledger.bad)


# --------------------------------------------------------------------------
# boot: the module's prediction against what systemd-sysctl really applies
# --------------------------------------------------------------------------

VENDOR = """\
# like systemd's 50-default.conf
net.ipv4.conf.default.rp_filter = 2
net.ipv4.conf.*.rp_filter = 2
-net.ipv4.conf.all.rp_filter
"""
EARLY = "net.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.v0/100.arp_ignore = 1\n"
LATE = "net.ipv4.conf.all.arp_announce = 1\n"
OURS = """\
# Managed by lvs.realserver.arp_sysctl.
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.eth0.rp_filter = 0
"""


def test_boot_prediction_matches_what_systemd_sysctl_applies(lab):
    if not os.path.exists("/lib/systemd/systemd-sysctl"):
        unavailable("systemd-sysctl not installed (apt-get install systemd)")
    rs = lab.add_netns("rs")
    peer = lab.add_netns("pe")
    lab.veth(rs, "eth0", peer, "eth0", "0")
    # an interface with a dot in its name (a VLAN-like name; veth needs no extra kernel module)
    ns_exec(rs, ["ip", "link", "add", "v0.100", "type", "veth", "peer", "name", "v0p"], isolate_sysctl_dirs=False)
    ns_exec(rs, ["ip", "addr", "add", "%s/24" % RS_IP, "dev", "eth0"], isolate_sysctl_dirs=False)
    ns_exec(rs, ["ip", "addr", "add", "%s/32" % VIP_ON, "dev", "lo"], isolate_sysctl_dirs=False)
    vendor = _lab.vendor_sysctl_dir(rs)
    (vendor / "50-default.conf").write_text(VENDOR)
    (vendor / "60-late.conf").write_text(LATE)
    etc = _lab.private_path(rs, "/etc/sysctl.d")
    (etc / "10-early.conf").write_text(EARLY)
    (etc / "99-zz-lvs-realserver.conf").write_text(OURS)

    before = run_module(rs, MODULE, {})["ansible_facts"]["lvs_realserver"]
    boot = before["boot"]
    assert set(before["arp_facing"]) == {"eth0", "v0.100", "v0p"}
    assert boot["net.ipv4.conf.all.arp_ignore"] == {
        "value": 1, "file": "/etc/sysctl.d/99-zz-lvs-realserver.conf", "line": 2}
    assert boot["net.ipv4.conf.all.arp_announce"] == {"value": 1, "file": "/usr/lib/sysctl.d/60-late.conf", "line": 1}
    assert boot["net.ipv4.conf.v0/100.arp_ignore"] == {"value": 1, "file": "/etc/sysctl.d/10-early.conf", "line": 2}
    assert boot["net.ipv4.conf.eth0.rp_filter"]["value"] == 0
    assert boot["net.ipv4.conf.v0p.rp_filter"] == {"value": 2, "file": "/usr/lib/sysctl.d/50-default.conf", "line": 3}
    assert boot["net.ipv4.conf.all.rp_filter"]["value"] is None
    # arp_announce 1 with an on-subnet VIP: the boot verdict sees the leak before it happens
    assert before["at_boot"]["state"] == "exposed"
    assert "arp_announce_on_subnet" in [v["code"] for v in before["at_boot"]["violations"]]

    p = _lab.load_sysctl_config(rs, "systemd-sysctl")
    assert p.returncode == 0, p.stderr
    after = run_module(rs, MODULE, {})["ansible_facts"]["lvs_realserver"]
    checked = 0
    for name, entry in boot.items():
        if entry["value"] is None:
            continue
        interface, key = name[len("net.ipv4.conf."):].rsplit(".", 1)
        interface = interface.replace("/", ".")
        live = after["conf_all"] if interface == "all" else (
            after["conf_default"] if interface == "default" else None)
        value = live[key] if live is not None else after["interfaces"][interface][key]["interface"]
        assert value == entry["value"], (name, entry, value)
        checked += 1
    assert checked == 7
    # what is left as drift can only be inherited keys (interfaces that already had an address)
    assert all(d["basis"] == "default" for d in after["drift"]), after["drift"]
    assert after["state"] == "exposed" and after["at_boot"]["state"] == "exposed"
    print("boot prediction: %d keys agree with systemd-sysctl" % checked)


def test_networkd_hazard_read_from_a_real_directory(lab):
    if not os.path.isdir("/etc/systemd/network"):
        unavailable("no /etc/systemd/network to bind a private copy over (apt-get install systemd)")
    rs = lab.add_netns("rs")
    private = _lab.run_tmpdir() / ("network-" + rs)
    private.mkdir()
    (private / "99-all.network").write_text("[Match]\nName=*\n\n[Network]\nDHCP=yes\n")
    ns_exec(rs, ["ip", "addr", "add", "%s/32" % VIP_ON, "dev", "lo"], isolate_sysctl_dirs=False)
    facts = run_module(rs, MODULE, {}, extra_binds={"/etc/systemd/network": str(private)})
    facts = facts["ansible_facts"]["lvs_realserver"]
    found = [h for h in facts["hazards"] if h["code"] == "networkd_manages_lo"]
    # flagged, at info: systemd-networkd skips loopback when it drops foreign addresses (systemd 229 on; this
    # machine's systemd is newer), measured on a real networkd in tests/realboot (netstack phase)
    assert [(h["file"], h["line"], h["severity"]) for h in found] == [
        ("/etc/systemd/network/99-all.network", 2, "info")]
    (private / "99-all.network").write_text("[Match]\nName=!lo\n")
    facts = run_module(rs, MODULE, {}, extra_binds={"/etc/systemd/network": str(private)})
    assert not [h for h in facts["ansible_facts"]["lvs_realserver"]["hazards"] if h["code"] == "networkd_manages_lo"]
