# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An LVS-DR segment of namespaces on one bridge, for the wire probe tests and the bench.

    dir  (director)   198.51.100.2   2001:db8:100::2    VIPs on eth0 (it owns them)
    rs1, rs2 (managed real servers) .21/.22  ::21/::22   VIPs on lo, arp_ignore=1, arp_announce=2
    rog  (unmanaged, not in any inventory) .30  ::30     IPv4 VIP on lo with arp_ignore=0 (answers),
                                                         IPv6 VIP on eth0 (answers NS)
    cl   (a client/router)  198.51.100.10  2001:db8:100::10

All hang off ``br0`` in the ``seg`` namespace (multicast snooping off, so an
NS reaches every port like on a plain switch). Documentation addresses only;
nothing leaves the namespaces. IPv6 addresses are added ``nodad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lab as _lab
from lab import _run, ns_sysctl

VIP = "198.51.100.100"
VIP6 = "2001:db8:100::100"
PROTECT = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2}
LEAK = {"net.ipv4.conf.all.arp_ignore": 0, "net.ipv4.conf.all.arp_announce": 0}
HOSTS = (("dir", 2), ("rs1", 21), ("rs2", 22), ("rog", 30), ("cl", 10))


@dataclass
class Segment:
    ns: dict = field(default_factory=dict)        # role -> namespace
    mac: dict = field(default_factory=dict)       # role -> eth0 MAC
    ip: dict = field(default_factory=dict)        # role -> IPv4 address

    def ip_cmd(self, role, *argv):
        _run(["ip", "-n", self.ns[role], *argv], timeout=10)

    def add_vips(self, role, dev, vips=(VIP, VIP6)):
        for vip in vips:
            if ":" in vip:
                self.ip_cmd(role, "-6", "addr", "add", vip + "/128", "dev", dev, "nodad")
            else:
                self.ip_cmd(role, "addr", "add", vip + "/32", "dev", dev)

    def del_vips(self, role, dev, vips=(VIP, VIP6)):
        for vip in vips:
            self.ip_cmd(role, "addr", "del", vip + ("/128" if ":" in vip else "/32"), "dev", dev)


def build(lb: _lab.Lab, extra_vips=()) -> Segment:
    """The segment above in ``lb``'s namespaces; ``extra_vips`` are owned by the director too (bench)."""
    seg = Segment()
    hub = lb.add_netns("seg")
    _run(["ip", "-n", hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"], timeout=10)
    _run(["ip", "-n", hub, "link", "set", "br0", "up"], timeout=10)
    for index, (role, last) in enumerate(HOSTS):
        ns = lb.add_netns(role)
        lb.veth(ns, "eth0", hub, "p%d" % index, "v%d" % index)
        _run(["ip", "-n", hub, "link", "set", "p%d" % index, "master", "br0"], timeout=10)
        seg.ns[role] = ns
        seg.ip[role] = "198.51.100.%d" % last
        seg.ip_cmd(role, "addr", "add", "198.51.100.%d/24" % last, "dev", "eth0")
        seg.ip_cmd(role, "-6", "addr", "add", "2001:db8:100::%d/64" % last, "dev", "eth0", "nodad")
        seg.mac[role] = _lab.link_mac(ns, "eth0")
    seg.add_vips("dir", "eth0", (VIP, VIP6) + tuple(extra_vips))
    for role in ("rs1", "rs2"):
        ns_sysctl(seg.ns[role], PROTECT)
        seg.add_vips(role, "lo")
    seg.add_vips("rog", "lo", (VIP,))
    seg.add_vips("rog", "eth0", (VIP6,))
    return seg
