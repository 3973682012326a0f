# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""arp_facts' ``dr_rp_filter_asymmetric`` hazard against real traffic (kernel-semantics rule 10).

The real server has two NICs: eth0 faces the director's LAN, eth1 a router
that carries the default route. The director's namespace sends what an LVS-DR
director forwards: an ICMP echo request from a client behind the router
(``CLIENT``) to the VIP, in a frame addressed to eth0's MAC. The router's
namespace captures the echo reply, which leaves through eth1 because that is
the route back to the client. For each layout:

* the wire: a reply seen (delivered), or none and the real server's
  ``TcpExtIPReversePathFilter`` counter up by one (dropped by rp_filter);
* the module, run inside the real server: a ``dr_rp_filter_asymmetric``
  hazard on eth0 <=> dropped; ``compliant`` stays true in every layout.

Strict filtering with the route back on eth1 is the positive case; loose
filtering, the max rule (``all=1`` with ``eth0=2``), the symmetric layout and
a higher-metric backup default route on eth0 are its controls.
"""

import pytest

import lab as _lab
from lab import RS_IP, ns_exec, ns_sysctl, run_module

pytestmark = pytest.mark.usefixtures("lvs_python", "arp_tools")

MODULE = "lvs.realserver.arp_facts"
VIP = "198.51.100.100"
DIRECTOR = "198.51.100.10"    # on eth0's LAN; the gateway of the symmetric layout
ROUTER = "203.0.113.1"        # on eth1's network; the gateway of the default route
RS_UPLINK = "203.0.113.21"
CLIENT = "192.0.2.50"         # behind the router: only the default route reaches it
NO_REPLY_WAIT = 1.5           # a veth answers within milliseconds

# One echo request from CLIENT to the VIP, sent to eth0's MAC as a DR director does (scapy, Debian's python).
_FORWARD = (
    "import sys\n"
    "from scapy.config import conf\n"
    "from scapy.layers.l2 import Ether\n"
    "from scapy.layers.inet import IP, ICMP\n"
    "from scapy.sendrecv import sendp\n"
    "conf.verb = 0\n"
    "iface, mac, src, dst, seq = sys.argv[1:6]\n"
    "sendp(Ether(dst=mac) / IP(src=src, dst=dst) / ICMP(id=0x1010, seq=int(seq)), iface=iface)\n"
)

ROUTES = {
    "via eth1": [("default", "via", ROUTER, "dev", "eth1")],
    "via eth1, backup via eth0": [("default", "via", ROUTER, "dev", "eth1", "metric", "100"),
                                  ("default", "via", DIRECTOR, "dev", "eth0", "metric", "200")],
    "via eth0": [("default", "via", DIRECTOR, "dev", "eth0")],
}


def row(name, all_value, eth0, routes="via eth1", numbered=True, delivered=True):
    return pytest.param(dict(all=all_value, eth0=eth0, routes=routes, numbered=numbered, delivered=delivered), id=name)


ROWS = [
    row("strict eth0, route back via eth1", 0, 1, delivered=False),
    row("all=1 eth0=0, max rule", 1, 0, delivered=False),
    row("loose eth0", 0, 2),
    row("all=1 eth0=2, max(1, 2) is loose", 1, 2),
    row("no filtering", 0, 0),
    row("strict eth0, backup default via eth0 (higher metric)", 0, 1, routes="via eth1, backup via eth0", delivered=False),
    row("strict eth0, symmetric: default via eth0", 0, 1, routes="via eth0"),
    row("loose eth0 without an IPv4 address", 0, 2, numbered=False, delivered=False),
    row("no filtering, eth0 without an IPv4 address", 0, 0, numbered=False),
]


class DirectRouting:
    """rs (eth0 -- lan, eth1 -- rtr), the VIP on lo with arp_ignore=1/arp_announce=2."""

    def __init__(self, lb):
        self.rs, self.lan, self.rtr = lb.add_netns("rs"), lb.add_netns("lan"), lb.add_netns("rtr")
        lb.veth(self.rs, "eth0", self.lan, "eth0", "0")
        lb.veth(self.rs, "eth1", self.rtr, "eth0", "1")
        self.ip(self.lan, "addr", "add", DIRECTOR + "/24", "dev", "eth0")
        self.ip(self.rtr, "addr", "add", ROUTER + "/24", "dev", "eth0")
        self.ip(self.rs, "addr", "add", RS_UPLINK + "/24", "dev", "eth1")
        self.ip(self.rs, "addr", "add", VIP + "/32", "dev", "lo", "scope", "host", "label", "lo:lvs")
        ns_sysctl(self.rs, {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2})
        self.eth0_mac = _lab.link_mac(self.rs, "eth0")
        self.seq = 0

    @staticmethod
    def ip(ns, *argv, check=True):
        return ns_exec(ns, ["ip", *argv], isolate_sysctl_dirs=False, check=check, timeout=10)

    def lay_out(self, c):
        while self.ip(self.rs, "route", "del", "default", check=False).returncode == 0:
            pass
        if c["numbered"]:
            self.ip(self.rs, "addr", "replace", RS_IP + "/24", "dev", "eth0")
        else:
            self.ip(self.rs, "-4", "addr", "flush", "dev", "eth0")
        for route in ROUTES[c["routes"]]:
            self.ip(self.rs, "route", "add", *route)
        ns_sysctl(self.rs, {"net.ipv4.conf.all.rp_filter": c["all"], "net.ipv4.conf.eth0.rp_filter": c["eth0"]})
        _lab.flush_neigh(self.rs)

    def rp_filter_drops(self):
        """The real server's TcpExtIPReversePathFilter counter (/proc/net/netstat is per namespace)."""
        lines = ns_exec(self.rs, ["cat", "/proc/net/netstat"], isolate_sysctl_dirs=False).stdout.splitlines()
        names, values = (line.split()[1:] for line in lines if line.startswith("TcpExt:"))
        return int(dict(zip(names, values))["IPReversePathFilter"])

    def forward_from_client(self, capture_ns):
        """Send the client's echo request into eth0; return the captured reply line, or None."""
        self.seq += 1
        forward = [_lab.SYSTEM_PYTHON, "-I", "-c", _FORWARD, "eth0", self.eth0_mac, CLIENT, VIP, str(self.seq)]
        reply = "icmp[icmptype] = icmp-echoreply and src host %s and dst host %s" % (VIP, CLIENT)
        return _lab.capture_first(capture_ns, "eth0", reply, timeout=NO_REPLY_WAIT, action=lambda: ns_exec(
            self.lan, forward, isolate_sysctl_dirs=False, timeout=15, cwd="/"))


@pytest.fixture(scope="module")
def layout(netns_lab):
    lb = _lab.Lab()
    try:
        yield DirectRouting(lb)
    finally:
        errors = lb.cleanup()
        assert not errors, errors


@pytest.mark.parametrize("c", ROWS)
def test_hazard_on_eth0_iff_the_kernel_drops_the_clients_packet(layout, c, request):
    layout.lay_out(c)
    facts = run_module(layout.rs, MODULE, {})
    assert not facts.get("failed"), facts
    facts = facts["ansible_facts"]["lvs_realserver"]
    flagged = [h["interface"] for h in facts["hazards"] if h["code"] == "dr_rp_filter_asymmetric"]
    assert facts["compliant"] is True, facts["violations"]  # a warning, never a verdict change

    before = layout.rp_filter_drops()
    reply = layout.forward_from_client(layout.rtr if c["routes"] != "via eth0" else layout.lan)
    dropped = layout.rp_filter_drops() - before
    print("%s: all=%d eth0=%d, default %s: wire %s; IPReversePathFilter +%d; hazard on %s" % (
        request.node.callspec.id, c["all"], c["eth0"], c["routes"], (reply or "no reply").strip(), dropped,
        flagged or "none"))

    if c["delivered"]:
        assert reply and "%s > %s: ICMP echo reply" % (VIP, CLIENT) in reply
        assert dropped == 0
        assert flagged == []
    else:
        assert reply is None
        assert dropped == 1
        assert flagged == ["eth0"]
