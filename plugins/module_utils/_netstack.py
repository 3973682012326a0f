# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The host's network stack: which one runs (from evidence on disk), and what the boot unit installs for it.

Pure functions; the I/O edge is ``_boot_unit_apply``. What each stack does to
the VIPs on ``lo`` and what is installed against it (issue 14):

* every stack but ``none``: ``lvs-realserver-watch.service``, the controller's
  ``watch`` mode (rtnetlink), which re-adds a VIP that disappeared from its
  device, behind the same guard as the boot unit, within well under a second;
* ``networkd`` (and ``netplan`` rendering to networkd): a ``.network`` file
  that matches ``lo`` makes networkd drop foreign addresses (the VIPs) when it
  starts, reloads or reconfigures the link; a drop-in
  ``KeepConfiguration=static`` beside every such file tells it to keep them;
* ``networkmanager`` (and ``netplan`` rendering to it): a dispatcher script
  runs the guarded ``start`` after NetworkManager brought a device up or
  reapplied its profile (``nmcli connection up`` on a loopback profile deletes
  the VIPs);
* ``ifupdown``: an ``if-up.d`` hook runs the guarded ``start`` after ``ifup lo``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _unit_files

STACKS = ("networkmanager", "networkd", "netplan", "ifupdown")
CHOICES = ("auto",) + STACKS + ("none",)
MANAGED_HEADER = "# Managed by lvs.realserver.boot_unit. Do not edit: changes are overwritten."

WATCH_UNIT = "lvs-realserver-watch.service"
WATCH_UNIT_PATH = "/etc/systemd/system/" + WATCH_UNIT
VIP_UNIT = "lvs-realserver-vips.service"
NETWORKD_DROPIN = "90-lvs-realserver.conf"
NM_DISPATCHER_PATH = "/etc/NetworkManager/dispatcher.d/90-lvs-realserver"
IFUPDOWN_HOOK_PATH = "/etc/network/if-up.d/lvs-realserver"

# What shows that a stack is in use: its unit enabled, or its state in /run (it ran since boot)
EVIDENCE = {
    "networkmanager": ("/etc/systemd/system/multi-user.target.wants/NetworkManager.service", "/run/NetworkManager"),
    "networkd": ("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service", "/run/systemd/netif/state"),
    "ifupdown": ("/etc/systemd/system/multi-user.target.wants/networking.service", "/run/network/ifstate"),
}
NETPLAN_BINARIES = ("/usr/sbin/netplan", "/sbin/netplan")


def detect(exists, netplan_files):
    """The stacks in use, in ``STACKS`` order: ``exists(path)`` answers for the evidence paths,
    ``netplan_files``: the effective netplan YAML files (``_sysctl_d.ConfigFile``)."""
    found = []
    for stack in STACKS:
        if stack == "netplan":
            if any(exists(b) for b in NETPLAN_BINARIES) and _sysctl_d.effective_files(
                    netplan_files, _netstack_paths.NETPLAN_DIRS, ".yaml"):
                found.append(stack)
        elif any(exists(path) for path in EVIDENCE[stack]):
            found.append(stack)
    return found


def chosen(netstack, detected):
    """The stacks to cooperate with: the detected ones for ``auto``, none for ``none``, else the one named."""
    if netstack == "auto":
        return list(detected)
    if netstack == "none":
        return []
    return [netstack]


def lo_networks(networks, dropins):
    """The effective networkd ``.network`` files that match ``lo``, as ``(directory, name)``.

    Our own drop-in is left out of the merge, so the answer does not depend on whether it is installed.
    """
    found = _unit_files.networkd_lo_unit(networks, dropins, skip_dropin=NETWORKD_DROPIN)
    return [] if found is None else [(found.unit.directory, found.unit.name)]


def dropin_path(network_name):
    """Our drop-in for the ``.network`` file ``network_name`` (in /etc: it applies to a file in any directory)."""
    return os.path.join("/etc/systemd/network", network_name + ".d", NETWORKD_DROPIN)


def render_networkd_dropin(network_path):
    return "\n".join([
        MANAGED_HEADER,
        "# %s matches lo: without this, systemd-networkd removes the LVS VIPs (foreign addresses)" % network_path,
        "# whenever it starts, reloads or reconfigures lo.",
        "[Network]",
        "KeepConfiguration=static",
        "",
    ])


def _hook(python, cli, intro, condition):
    return "\n".join([
        "#!/bin/sh",
        MANAGED_HEADER,
        intro,
        condition,
        "[ -e /etc/lvs-realserver/vips.json ] || exit 0",
        "# the watch already puts the VIPs back (within a second): a second writer would only wait for the lock.",
        "# Its pid file and /proc, not systemctl: the hook runs while the stack is busy, every fork counts",
        'pid=$(cat %s 2>/dev/null) && { tr "\\0" "\\n" <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qx watch && exit 0'
        % _host_state.WATCH_PID,
        "systemctl is-active --quiet %s || exit 0" % VIP_UNIT,
        "# the same guarded start as at boot: no VIP while ARP protection is not in effect",
        "exec %s -I -S -B %s start" % (python, cli),
        "",
    ])


def render_nm_dispatcher(python, cli):
    return _hook(python, cli, "# NetworkManager dispatcher: after a device came up or its profile was reapplied,\n"
                 "# put back the LVS VIPs NetworkManager removed.",
                 'case "$2" in up|reapply|dhcp4-change|dhcp6-change) ;; *) exit 0 ;; esac')


def render_ifupdown_hook(python, cli, device):
    return _hook(python, cli, "# ifupdown: after ifup %s, put back the LVS VIPs (its loopback method flushes lo)." % device,
                 'case "$IFACE" in %s|--all) ;; *) exit 0 ;; esac' % device)


def render_watch_unit(python, cli):
    return "\n".join([
        MANAGED_HEADER,
        "[Unit]",
        "Description=LVS real-server VIP watch: re-adds a VIP the network stack removed, only while ARP protection "
        "is in effect",
        "Documentation=file:///etc/lvs-realserver/vips.json",
        "DefaultDependencies=no",
        "After=%s" % VIP_UNIT,
        "BindsTo=%s" % VIP_UNIT,
        "# a restart of the VIP unit restarts the watch too (BindsTo= alone would leave it stopped)",
        "PartOf=%s" % VIP_UNIT,
        "Before=shutdown.target",
        "Conflicts=shutdown.target",
        "ConditionPathExists=/etc/lvs-realserver/vips.json",
        "",
        "[Service]",
        "Type=simple",
        "# rtnetlink address and link events; each check takes the host lock and asks the boot guard first",
        "ExecStart=%s -I -S -B %s watch" % (python, cli),
        "# the stack that just removed the VIPs keeps the CPUs busy (netplan apply, NetworkManager's activation):",
        "# the repair goes first, or the VIPs stay away for as long as the stack computes",
        "Nice=-10",
        "Restart=on-failure",
        "RestartSec=2",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def desired_files(stacks, python, cli, device, lo_network_files, nm_present):
    """``{path: (text, mode)}`` for the stacks chosen (empty for none).

    ``lo_network_files``: ``lo_networks()``; ``nm_present``: /etc/NetworkManager exists
    (netplan can render to NetworkManager).
    """
    if not stacks:
        return {}
    files = {WATCH_UNIT_PATH: (render_watch_unit(python, cli), 0o644)}
    if "networkd" in stacks or "netplan" in stacks:
        for directory, name in lo_network_files:
            files[dropin_path(name)] = (render_networkd_dropin(os.path.join(directory, name)), 0o644)
    if "networkmanager" in stacks or ("netplan" in stacks and nm_present):
        files[NM_DISPATCHER_PATH] = (render_nm_dispatcher(python, cli), 0o755)
    if "ifupdown" in stacks and device == "lo":
        files[IFUPDOWN_HOOK_PATH] = (render_ifupdown_hook(python, cli, device), 0o755)
    return files


def fixed_paths():
    """The paths that do not depend on the host's files (drop-ins are found with ``installed_dropins``)."""
    return [WATCH_UNIT_PATH, NM_DISPATCHER_PATH, IFUPDOWN_HOOK_PATH]


def installed_dropins(listing):
    """Our networkd drop-ins among ``listing`` (``{directory: [names]}`` of /etc/systemd/network)."""
    return sorted(
        os.path.join("/etc/systemd/network", d, NETWORKD_DROPIN)
        for d, names in listing.items()
        if d.endswith(".network.d") and NETWORKD_DROPIN in names)
