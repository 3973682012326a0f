# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What lvs.realserver.boot_unit installs, rendered by pure functions, and its systemctl plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import stat as stat_module

from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl as vipctl

UNIT_NAME = "lvs-realserver-vips.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
LIBEXEC = "/usr/libexec/lvs-realserver"
CLI_PATH = LIBEXEC + "/lvs-realserver-vips"
LIBRARY = ("_arp_rules.py", "_iproute.py", "_runtime.py", "_vipctl.py")
MODULES_LOAD_PATH = "/etc/modules-load.d/lvs-realserver.conf"
MANAGED_HEADER = "# Managed by lvs.realserver.boot_unit. Do not edit: changes are overwritten."
MANAGED_BY = "lvs.realserver.boot_unit"
# What an interpreter path may look like in ExecStart= (no whitespace, quotes, '%', '\\' or control characters)
_PYTHON_RE = re.compile(r"/[A-Za-z0-9_.+/-]*")
INTERPRETER_OPTIONS = "-I -S -B"


def render_unit(python):
    """The oneshot unit: after the sysctls and modules, before any network, failing closed."""
    if not isinstance(python, str) or not _PYTHON_RE.fullmatch(python):
        raise ValueError("python: %r cannot be written into a unit file (an absolute path of letters, digits "
                         "and '_.+/-' only)" % (python,))
    # -I: no environment or user site; -S: no site-packages (no collection copy can shadow the controller);
    # -B: no __pycache__ under /usr/libexec
    cli = "%s %s %s" % (python, INTERPRETER_OPTIONS, CLI_PATH)
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


def render_data(addresses, device, scope, label, mode):
    """The data file, marked as this module's (the controller ignores the extra key)."""
    data = json.loads(vipctl.render_data(addresses, device, scope, label, mode))
    data["managed_by"] = MANAGED_BY
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def desired_files(addresses, device, scope, label, mode, python, library_sources):
    """``{path: (text, mode)}`` to install; ``library_sources``: file name -> source text."""
    unit = render_unit(python)  # validates python for the entry script's shebang as well
    files = {
        vipctl.DATA_FILE: (render_data(addresses, device, scope, label, mode), 0o644),
        UNIT_PATH: (unit, 0o644),
        CLI_PATH: (vipctl.ENTRY_SCRIPT % {"python": python}, 0o755),
    }
    for name in LIBRARY:
        files[os.path.join(LIBEXEC, name)] = (MANAGED_HEADER + "\n" + library_sources[name], 0o644)
    if mode == "tun":
        files[MODULES_LOAD_PATH] = ("%s\nipip\n" % MANAGED_HEADER, 0o644)
    return files


def is_managed(path, text, cli_text=None):
    """True when ``text`` at ``path`` was written by this module (a marker, or a file of an older release).

    ``cli_text``: the installed controller, which vouches for library files of
    releases that wrote them without a marker.
    """
    lines = text.splitlines()
    if MANAGED_HEADER in lines[:2]:
        return True
    if path == vipctl.DATA_FILE:
        try:
            data = json.loads(text)
        except ValueError:
            return False
        legacy = sorted(data) == ["addresses", "device", "label", "mode", "scope"] if isinstance(data, dict) else False
        return legacy or (isinstance(data, dict) and data.get("managed_by") == MANAGED_BY)
    if os.path.dirname(path) == LIBEXEC and path != CLI_PATH and cli_text is not None:
        return MANAGED_HEADER in cli_text.splitlines()[:2]
    return False


def interpreter_error(python, lstat=os.lstat, stat=os.stat, realpath=os.path.realpath):
    """Why ``python`` must not run as root at every boot, or None; the message names the option and value."""
    if not isinstance(python, str) or not python:
        return "must be a non-empty absolute path"
    if not _PYTHON_RE.fullmatch(python):
        return "must be an absolute path of letters, digits and '_.+/-' (no whitespace, newline, quote or '%')"
    if os.path.normpath(python) != python:
        return "must be a normalized absolute path (no '..', '.' or '//')"
    try:
        lstat(python)  # the path itself, a symlink included
        target = realpath(python)
        found = stat(target)
    except OSError as exc:
        return "does not exist or cannot be examined (%s)" % (exc.strerror or exc)
    if not stat_module.S_ISREG(found.st_mode):
        return "resolves to %s, which is not a regular file" % target
    if not found.st_mode & 0o111:
        return "resolves to %s, which is not executable" % target
    for path in (target, os.path.dirname(target), os.path.dirname(python)):
        info = stat(path)
        if info.st_uid != 0:
            return "resolves to %s, and %s is owned by uid %d, not root" % (target, path, info.st_uid)
        if info.st_mode & 0o022:
            return "resolves to %s, and %s is writable by group or others (mode %04o)" % (
                target, path, info.st_mode & 0o7777)
    return None


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
