# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parts of the LVS-DR lab (lab/): frame parsing, addressing, output.

No root, no podman: `python -m pytest tests/lab`. The lab itself is tested
end to end by the molecule `cluster` scenario and by lab/demo.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "lab" / "playbooks" / "files"))

import demo  # noqa: E402  pylint: disable=wrong-import-position
import lvsrs_lab  # noqa: E402  pylint: disable=wrong-import-position
import lvsrs_probe  # noqa: E402  pylint: disable=wrong-import-position

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def arp_frame(op, sha, spa, tpa, tha=b"\x00" * 6, dst=b"\xff" * 6):
    return (dst + sha + struct.pack("!H", 0x0806) + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op)
            + sha + socket.inet_aton(spa) + tha + socket.inet_aton(tpa))


def test_parse_arp_request_and_reply():
    req = arp_frame(1, MAC_A, "198.51.100.10", "198.51.100.100")
    assert lvsrs_probe.parse_arp(req) == (1, "02:00:00:00:00:01", "198.51.100.10", "198.51.100.100")
    rep = arp_frame(2, MAC_B, "198.51.100.100", "198.51.100.10", tha=MAC_A, dst=MAC_A)
    assert lvsrs_probe.parse_arp(rep)[:3] == (2, "02:00:00:00:00:02", "198.51.100.100")


@pytest.mark.parametrize("frame", [
    b"",
    b"\x00" * 41,
    # IPv4, not ARP
    b"\xff" * 6 + MAC_A + struct.pack("!H", 0x0800) + b"\x00" * 40,
    # ARP for another protocol type
    b"\xff" * 6 + MAC_A + struct.pack("!HHHBBH", 0x0806, 1, 0x86DD, 6, 4, 1) + b"\x00" * 20,
])
def test_parse_arp_rejects_other_frames(frame):
    assert lvsrs_probe.parse_arp(frame) is None


def test_arp_request_of_skips_own_requests_and_replies():
    own = "02:00:00:00:00:01"
    mine = arp_frame(1, MAC_A, "198.51.100.10", "198.51.100.100")
    theirs = arp_frame(1, MAC_B, "198.51.100.100", "198.51.100.10")
    reply = arp_frame(2, MAC_B, "198.51.100.100", "198.51.100.10")
    assert lvsrs_probe.arp_request_of(mine, own) is None  # hairpin copy of our own
    assert lvsrs_probe.arp_request_of(reply, own) is None
    assert lvsrs_probe.arp_request_of(theirs, own) == {
        "sender_mac": "02:00:00:00:00:02", "sender_ip": "198.51.100.100", "target_ip": "198.51.100.10"}


@pytest.mark.parametrize("prefix, subnet, vip, client, rs2", [
    ("lvsrs-demo", "198.51.100.0/25", "198.51.100.100", "198.51.100.10", "198.51.100.12"),
    ("lvsrs-mc", "198.51.100.128/25", "198.51.100.228", "198.51.100.138", "198.51.100.140"),
])
def test_lab_layout(prefix, subnet, vip, client, rs2):
    lab = lvsrs_lab.Lab(prefix, subnet)
    assert lab.vip == vip
    assert lab.ip("client") == client
    assert lab.ip("rs2") == rs2
    assert lab.network == prefix + "-net"
    assert all(n.startswith("lvsrs-") for n in lab.names + [lab.network])
    assert ipaddress_in(vip, subnet) and ipaddress_in(rs2, subnet)


def ipaddress_in(addr, net):
    return ipaddress.ip_address(addr) in ipaddress.ip_network(net)


def test_molecule_scenario_matches_the_lab_layout():
    """molecule/cluster/molecule.yml hard-codes the VIP of lvsrs_lab's layout."""
    text = (ROOT / "molecule" / "cluster" / "molecule.yml").read_text()
    lab = lvsrs_lab.Lab("lvsrs-mc", "198.51.100.128/25")
    assert "lab_prefix: lvsrs-mc" in text
    assert "lab_subnet: 198.51.100.128/25" in text
    assert "lab_vip: %s" % lab.vip in text
    for name in lab.names:
        assert "- name: %s\n" % name in text


def test_lab_refuses_names_outside_lvsrs():
    with pytest.raises(lvsrs_lab.LabError):
        lvsrs_lab.Lab("demo", "198.51.100.0/25")


def test_inventory(tmp_path):
    lab = lvsrs_lab.Lab("lvsrs-demo", "198.51.100.0/25")
    inv = tmp_path / "inv.ini"
    lab.inventory(inv)
    text = inv.read_text()
    assert "[realservers]\nlvsrs-demo-rs1\nlvsrs-demo-rs2\n" in text
    assert "[director]\nlvsrs-demo-director\n" in text
    assert "ansible_connection=containers.podman.podman" in text
    assert "lab_vip=198.51.100.100" in text


def test_parse_json_takes_the_last_line_and_explains_garbage():
    assert lvsrs_lab.parse_json('noise\n{"a": 1}\n', "x") == {"a": 1}
    with pytest.raises(lvsrs_lab.LabError, match="printed no JSON: boom"):
        lvsrs_lab.parse_json("boom\n", "x")


def test_recap_and_failure_lines():
    out = """TASK [Put the VIPs on lo] ***
fatal: [lvsrs-demo-rs1]: FAILED! => {"msg": "arp_ignore is 0"}

PLAY RECAP *********
lvsrs-demo-rs1             : ok=3    changed=1    unreachable=0    failed=1
lvsrs-demo-rs2             : ok=4    changed=2    unreachable=0    failed=0
"""
    assert demo.recap(out, "changed") == {"lvsrs-demo-rs1": 1, "lvsrs-demo-rs2": 2}
    assert demo.recap(out, "failed") == {"lvsrs-demo-rs1": 1, "lvsrs-demo-rs2": 0}
    lines = demo.failure_lines(out)
    assert lines[0] == "TASK [Put the VIPs on lo]"
    assert lines[1].startswith("fatal: [lvsrs-demo-rs1]")


def test_print_table(capsys):
    hosts = [
        {"host": "lvsrs-demo-rs1", "status": "compliant",
         "facts": {"vips": [{"local": "198.51.100.100"}], "violations": [],
                   "at_boot": {"state": "compliant", "compliant": True}}},
        {"host": "lvsrs-demo-rs2", "status": "exposed",
         "facts": {"vips": [{"local": "198.51.100.100"}],
                   "violations": [{"code": "vip_exposed", "interface": None},
                                  {"code": "arp_ignore_leak", "interface": "eth0"}],
                   "at_boot": {"state": "exposed", "compliant": False}}},
    ]
    demo.print_table(hosts, "lvsrs-demo-")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["host", "status", "VIPs", "at", "boot", "violations"]
    assert out[2].split() == ["rs1", "compliant", "198.51.100.100", "compliant", "none"]
    assert out[3].split()[:4] == ["rs2", "exposed", "198.51.100.100", "exposed"]
    assert out[3].endswith("vip_exposed, arp_ignore_leak(eth0)")
