# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What lvs.realserver.boot_unit installs, rendered by pure functions, and its systemctl plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl as vipctl

UNIT_NAME = "lvs-realserver-vips.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
LIBEXEC = "/usr/libexec/lvs-realserver"
CLI_PATH = LIBEXEC + "/lvs-realserver-vips"
LIBRARY = ("_arp_rules.py", "_iproute.py", "_runtime.py", "_vipctl.py")
MODULES_LOAD_PATH = "/etc/modules-load.d/lvs-realserver.conf"
MANAGED_HEADER = "# Managed by lvs.realserver.boot_unit. Do not edit: changes are overwritten."


def render_unit(python):
    """The oneshot unit: after the sysctls and modules, before any network, failing closed."""
    # -I: no environment or user site at boot; -B: no __pycache__ under /usr/libexec
    cli = "%s -I -B %s" % (python, CLI_PATH)
    return "\n".join([
        MANAGED_HEADER,
        "[Unit]",
        "Description=LVS real-server VIPs, added only once ARP protection is in effect",
        "Documentation=file://%s" % vipctl.DATA_FILE,
        "DefaultDependencies=no",
        "After=local-fs.target systemd-sysctl.service systemd-modules-load.service",
        "Wants=network-pre.target",
        "Before=network-pre.target shutdown.target",
        "Conflicts=shutdown.target",
        "ConditionPathExists=%s" % vipctl.DATA_FILE,
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "# Fails closed: no VIP is better than a poisoned LAN.",
        "ExecStartPre=%s guard" % cli,
        "ExecStart=%s start" % cli,
        "ExecStop=%s stop" % cli,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def desired_files(addresses, device, scope, label, mode, python, library_sources):
    """``{path: (text, mode)}`` to install; ``library_sources``: file name -> source text."""
    files = {
        vipctl.DATA_FILE: (vipctl.render_data(addresses, device, scope, label, mode), 0o644),
        UNIT_PATH: (render_unit(python), 0o644),
        CLI_PATH: (vipctl.ENTRY_SCRIPT % {"python": python}, 0o755),
    }
    for name in LIBRARY:
        files[os.path.join(LIBEXEC, name)] = (library_sources[name], 0o644)
    if mode == "tun":
        files[MODULES_LOAD_PATH] = ("%s\nipip\n" % MANAGED_HEADER, 0o644)
    return files


def all_paths():
    """Every path the module may own, for removal."""
    return [vipctl.DATA_FILE, UNIT_PATH, CLI_PATH, MODULES_LOAD_PATH] + [os.path.join(LIBEXEC, n) for n in LIBRARY]


def owned_dirs():
    """Directories the module creates, removed on ``absent`` once empty."""
    return [LIBEXEC, os.path.dirname(vipctl.DATA_FILE)]


def is_code(path):
    """The controller and its library: shipped code, summarized rather than shown line by line in diffs."""
    return path == CLI_PATH or os.path.dirname(path) == LIBEXEC


def diff_text(path, text):
    if not text or not is_code(path):
        return text or ""
    first = text.splitlines()[0] if text.splitlines() else ""
    return "%s\n... lvs.realserver code, %d lines\n" % (first, len(text.splitlines()))


def systemctl_plan(state, unit_changed, systemd_running, enabled, active, want_enabled, want_started):
    """The systemctl verbs to run, in order, given the unit's current state."""
    verbs = []
    if state == "absent":
        if systemd_running and active:
            verbs.append(["stop", UNIT_NAME])
        if enabled:
            verbs.append(["disable", UNIT_NAME])
        if systemd_running and unit_changed:
            verbs.append(["daemon-reload"])
        return verbs
    if systemd_running and unit_changed:
        verbs.append(["daemon-reload"])
    if want_enabled and not enabled:
        verbs.append(["enable", UNIT_NAME])
    if not want_enabled and enabled:
        verbs.append(["disable", UNIT_NAME])
    if systemd_running and want_started and not active:
        verbs.append(["start", UNIT_NAME])
    return verbs
