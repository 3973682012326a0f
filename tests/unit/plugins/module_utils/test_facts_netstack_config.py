# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network stacks that would remove the VIPs from lo (``_unit_files``, ``_netstack_config``), and that
``_facts`` imports their parsers only when a stack may take lo."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_config as netstack_config
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths as netstack_paths
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _unit_files as unit_files

VIP = "198.51.100.100"
NWD_ETC = "/etc/systemd/network"
NWD_USR = "/usr/lib/systemd/network"


# --------------------------------------------------------------------------
# hazards: systemd-networkd
# --------------------------------------------------------------------------

def nwd(name, text, directory=NWD_ETC, masked=False):
    return sysctl_d.ConfigFile(directory, name, masked, text)


@pytest.mark.parametrize("text, matches", [
    ("[Network]\nDHCP=yes\n", True),
    ("[Match]\n[Network]\nDHCP=yes\n", True),
    ("[Match]\nName=*\n", True),
    ("[Match]\nName=lo\n", True),
    ("[Match]\nName=en* lo\n", True),
    ("[Match]\nName=l?\n", True),
    ("[Match]\nName=!eth0\n", True),
    ("[Match]\nName=!lo\n", False),
    ("[Match]\nName=* !lo\n", False),
    ("[Match]\nName=en* eth*\n", False),
    ("[Match]\nName=eth0\nName=\n", True),  # an empty assignment resets the list
    ("[Match]\nType=loopback\n", True),
    ("[Match]\nType=ether\n", False),
    ("[Match]\nName=*\nType=!loopback\n", False),
    ("[Match]\nName=*\nDriver=e1000e\n", False),
    ("[Match]\nName=*\nDriver=!e1000e\n", True),
    ("[Match]\nName=*\nKind=vlan\n", False),
    ("[Match]\nMACAddress=52:54:00:12:34:56\n", False),
    ("[Match]\nMACAddress=00:00:00:00:00:00\n", True),
    ("[Match]\nPermanentMACAddress=52:54:00:12:34:56\n", False),
    ("[Match]\nVirtualization=container\n", True),  # host conditions are assumed to hold
    ("[Match]\nName=*\nPath=pci-0000:00:03.0\n", False),
    ("# comment\n; comment\n[Match]\nName=eth0 \\\n  lo\n", True),  # continuation line
])
def test_networkd_match_rules_for_lo(text, matches):
    found = netstack_config.networkd_hazards([nwd("80-x.network", text)], [], [])
    assert bool(found) is matches
    if matches:
        assert found[0]["code"] == "networkd_manages_lo"
        assert found[0]["severity"] == "warning"
        assert found[0]["file"] == NWD_ETC + "/80-x.network"
        assert found[0]["interface"] == "lo"
        assert "Name=!lo" in found[0]["fix"]


def test_networkd_reports_the_line_of_the_matching_name():
    found = netstack_config.networkd_hazards([nwd("99-all.network", "# catch-all\n[Match]\nName=*\n\n[Network]\nDHCP=yes\n")], [], [])
    assert (found[0]["file"], found[0]["line"]) == (NWD_ETC + "/99-all.network", 3)
    empty = netstack_config.networkd_hazards([nwd("99-all.network", "\n[Match]\n[Network]\nDHCP=yes\n")], [], [])
    assert empty[0]["line"] == 2 and "empty" in empty[0]["message"]


def test_networkd_only_the_first_matching_file_applies():
    files = [
        nwd("10-lo.network", "[Match]\nName=lo\n[Network]\nKeepConfiguration=static\n"),
        nwd("99-all.network", "[Match]\nName=*\n", NWD_USR),
    ]
    found = netstack_config.networkd_hazards(files, [], [])
    assert len(found) == 1 and found[0]["severity"] == "info"
    assert found[0]["file"] == NWD_ETC + "/10-lo.network"
    assert "KeepConfiguration=static" in found[0]["message"]
    # files sort by name across directories
    files = [nwd("50-eth.network", "[Match]\nName=eth0\n"), nwd("20-any.network", "[Match]\nName=*\n", NWD_USR)]
    assert netstack_config.networkd_hazards(files, [], [])[0]["file"] == NWD_USR + "/20-any.network"


def test_networkd_vips_declared_with_address_are_kept():
    vips = [{"local": VIP}]
    text = "[Match]\nName=lo\n[Network]\nAddress=%s/32\n" % VIP
    assert netstack_config.networkd_hazards([nwd("10-lo.network", text)], [], vips)[0]["severity"] == "info"
    text = "[Match]\nName=lo\n[Address]\nAddress=192.0.2.1/32\n"
    assert netstack_config.networkd_hazards([nwd("10-lo.network", text)], [], vips)[0]["severity"] == "warning"


def test_networkd_masking():
    vendor = nwd("99-all.network", "[Match]\nName=*\n", NWD_USR)
    assert netstack_config.networkd_hazards([vendor], [], [])
    assert not netstack_config.networkd_hazards([vendor, nwd("99-all.network", "", masked=True)], [], [])
    # /etc with different content replaces the vendor file
    assert not netstack_config.networkd_hazards([vendor, nwd("99-all.network", "[Match]\nName=eth0\n")], [], [])
    # only *.network files count
    assert not netstack_config.networkd_hazards([nwd("99-all.link", "[Match]\nOriginalName=*\n")], [], [])


def test_networkd_dropins_extend_the_match_section():
    unit = nwd("99-all.network", "[Network]\nDHCP=yes\n", NWD_USR)
    narrow = netstack_paths.DropIn("99-all.network", NWD_ETC + "/99-all.network.d", "10-eth.conf", False, "[Match]\nName=eth*\n")
    assert netstack_config.networkd_hazards([unit], [], [])
    assert not netstack_config.networkd_hazards([unit], [narrow], [])
    masked = narrow._replace(directory=NWD_ETC + "/99-all.network.d", masked=True)
    assert netstack_config.networkd_hazards([unit], [masked], [])
    other_unit = narrow._replace(unit="50-other.network")
    assert netstack_config.networkd_hazards([unit], [other_unit], [])
    # Name= lines accumulate: a drop-in cannot narrow Name=* without an empty Name= first
    catch_all = nwd("99-all.network", "[Match]\nName=*\n", NWD_USR)
    assert netstack_config.networkd_hazards([catch_all], [narrow], [])
    reset = narrow._replace(text="[Match]\nName=\nName=eth*\n")
    assert not netstack_config.networkd_hazards([catch_all], [reset], [])


def test_parse_unit_keeps_line_numbers():
    entries = unit_files.parse_unit("[Match]\n# x\nName=a \\\n b\n[Network]\nAddress=1\n")
    assert entries == [("Match", None, None, 1), ("Match", "Name", "a b", 3),
                       ("Network", None, None, 5), ("Network", "Address", "1", 6)]


# --------------------------------------------------------------------------
# hazards: netplan and NetworkManager
# --------------------------------------------------------------------------

NETPLAN_LO = """\
network:
  version: 2
  renderer: networkd
  ethernets:
    eth0:
      dhcp4: true
    lo:
      addresses: [127.0.0.1/8, ::1/128, 7.7.7.7/32]
"""

NETPLAN_MATCH = """\
network:
  version: 2
  ethernets:
    loopback0:
      match:
        name: lo
      addresses: [7.7.7.7/32]
"""

NETPLAN_GLOB = """\
network:
  ethernets:
    all-en:
      match:
        name: "l*"
      dhcp4: true
"""

NETPLAN_ETH = """\
network:
  version: 2
  ethernets:
    eth0:
      match:
        name: "en*"
      dhcp4: true
    bond-lo-ish:
      match:
        macaddress: "52:54:00:12:34:56"
"""


def npl(name, text, directory="/etc/netplan"):
    return sysctl_d.ConfigFile(directory, name, False, text)


@pytest.mark.parametrize("use_yaml", [True, False])
@pytest.mark.parametrize("text, line", [(NETPLAN_LO, 7), (NETPLAN_MATCH, 6), (NETPLAN_GLOB, 5), (NETPLAN_ETH, None)])
def test_netplan_listing_lo(use_yaml, text, line):
    no_yaml = None if use_yaml else (lambda text: None)
    found = netstack_config.netplan_hazards([npl("01-netcfg.yaml", text)], load_yaml=no_yaml)
    if line is None:
        assert found == []
        return
    assert len(found) == 1
    assert found[0]["code"] == "netplan_lists_lo"
    assert (found[0]["file"], found[0]["line"]) == ("/etc/netplan/01-netcfg.yaml", line)


def test_netplan_run_masks_etc_and_other_suffixes_are_ignored():
    files = [npl("01-netcfg.yaml", NETPLAN_LO), npl("01-netcfg.yaml", NETPLAN_ETH, "/run/netplan")]
    assert netstack_config.netplan_hazards(files) == []
    assert netstack_config.netplan_hazards([npl("01-netcfg.yaml.bak", NETPLAN_LO)]) == []


def test_netplan_broken_yaml_falls_back_to_line_heuristics():
    text = NETPLAN_LO + "  : [unbalanced\n"
    found = netstack_config.netplan_hazards([npl("01-netcfg.yaml", text)])
    assert [h["line"] for h in found] == [7]


NM_LOOPBACK = """\
[connection]
id=lo
uuid=3e1d2c4b-0000-4000-8000-000000000001
type=loopback
interface-name=lo

[ipv4]
address1=127.0.0.1/8
method=manual
"""


def test_networkmanager_loopback_profile():
    found = netstack_config.nm_hazards([sysctl_d.ConfigFile("/etc/NetworkManager/system-connections", "lo.nmconnection", False, NM_LOOPBACK)])
    assert len(found) == 1
    assert found[0]["code"] == "networkmanager_loopback_profile"
    assert (found[0]["file"], found[0]["line"]) == ("/etc/NetworkManager/system-connections/lo.nmconnection", 4)
    off = NM_LOOPBACK.replace("interface-name=lo", "autoconnect=false")
    found = netstack_config.nm_hazards([sysctl_d.ConfigFile("/run/NetworkManager/system-connections", "lo.nmconnection", False, off)])
    assert "autoconnect=false" in found[0]["message"]


def nm_profile(name, text):
    return [sysctl_d.ConfigFile("/run/NetworkManager/system-connections", name, False, text)]


def test_networkmanager_ethernet_profile_is_no_hazard_unless_bound_to_lo():
    text = NM_LOOPBACK.replace("type=loopback", "type=ethernet")
    assert netstack_config.nm_hazards(nm_profile("e.nmconnection", text.replace("interface-name=lo", "interface-name=eth0"))) == []
    # netplan (0.106) renders its lo entry for NetworkManager as an ethernet profile bound to lo (real-boot tier)
    netplan_lo = "[connection]\nid=netplan-lo\ntype=ethernet\ninterface-name=lo\n\n[ipv4]\nmethod=manual\n"
    found = netstack_config.nm_hazards(nm_profile("netplan-lo.nmconnection", netplan_lo))
    assert [(h["code"], h["line"]) for h in found] == [("networkmanager_loopback_profile", 4)]
    assert "is bound to lo" in found[0]["message"]


def test_networkmanagers_own_snapshot_of_an_external_lo_is_no_hazard():
    """NetworkManager 1.42 writes its view of a lo it does not manage to /run, type=loopback, external=true."""
    snapshot = ("[connection]\nid=lo\ntype=loopback\nautoconnect=false\ninterface-name=lo\n\n[ipv4]\n"
                "address1=192.0.2.100/32\nmethod=manual\n\n[.nmmeta]\nnm-generated=true\nvolatile=true\n"
                "external=true\n")
    assert netstack_config.nm_hazards(nm_profile("lo-38acdbf7.nmconnection", snapshot)) == []
    assert netstack_config.nm_hazards(nm_profile("lo.nmconnection", snapshot.replace("external=true", "external=false")))


LAZY_PROBE = """
import sys
from ansible_collections.lvs.realserver.plugins.module_utils import _facts, _netstack_paths, _sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address
lo = Interface("lo", True, True, False, None, None, None, [address("127.0.0.1", 8, scope="host")])
conf = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}}
kind, text = sys.argv[1], sys.argv[2]
files = {"networkd": (), "nm": ()}
directory = {"networkd": "/usr/lib/systemd/network", "nm": "/etc/NetworkManager/system-connections"}[kind]
files[kind] = [_sysctl_d.ConfigFile(directory, "80-x.network" if kind == "networkd" else "x.nmconnection", False, text)]
facts = _facts.assemble(conf, [lo], networkd=files["networkd"], nm=files["nm"])
print(sorted(h["code"] for h in facts["hazards"]), "_netstack_config" in str(sorted(sys.modules)))
"""


@pytest.mark.parametrize("kind, text, hazards, imported", [
    # Debian's own vendor files: none takes lo, so the netstack parsers are not even compiled
    ("networkd", "[Match]\nVirtualization=container\nName=host0\n\n[Network]\nDHCP=yes\n", "[]", "False"),
    ("networkd", "[Match]\nName=ve-*\nDriver=veth\n", "[]", "False"),
    # negative controls: a unit taking lo, or a NetworkManager profile, imports them and reports
    ("networkd", "[Match]\nName=lo\n", "['networkd_manages_lo']", "True"),
    ("nm", "[connection]\ntype=loopback\n", "['networkmanager_loopback_profile']", "True"),
])
def test_netstack_parsers_are_imported_only_when_a_stack_may_take_lo(kind, text, hazards, imported):
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.check_output([sys.executable, "-c", LAZY_PROBE, kind, text], env=env).decode().strip()
    assert out == "%s %s" % (hazards, imported)
