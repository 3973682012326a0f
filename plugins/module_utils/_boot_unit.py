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
# metrics: true (node_exporter's textfile collector): a timer runs the controller's ``metrics`` command
METRICS_SERVICE = "lvs-realserver-metrics.service"
METRICS_TIMER = "lvs-realserver-metrics.timer"
METRICS_SERVICE_PATH = "/etc/systemd/system/" + METRICS_SERVICE
METRICS_TIMER_PATH = "/etc/systemd/system/" + METRICS_TIMER
METRICS_LIBRARY = ("_boot_model.py", "_metrics.py", "_sysctl_d.py")
METRICS_DIR = "/var/lib/prometheus/node-exporter"
METRICS_FILE = "lvs_realserver.prom"  # _metrics.PROM_NAME
METRICS_INTERVAL = 60
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


def metrics_errors(interval, directory, prefix=""):
    """Why the metrics options cannot be used (one message each, naming the option and the value), or [].

    ``prefix``: of the option names (``boot_unit_`` in loopback_vip).
    """
    errors = []
    if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= 86400:
        errors.append(prefix + "metrics_interval: %r must be a whole number of seconds from 1 to 86400" % (interval,))
    if (not isinstance(directory, str) or not _PYTHON_RE.fullmatch(directory)
            or os.path.normpath(directory) != directory or directory == "/"):
        errors.append(prefix + "metrics_dir: %r must be a normalized absolute directory path of letters, digits and "
                      "'_.+/-' only (no '..', '//' or trailing '/')" % (directory,))
    return errors


def metrics_path(directory):
    """The file the timer writes in ``directory``."""
    return os.path.join(directory, METRICS_FILE)


def render_metrics_service(python, out):
    """The oneshot service the timer starts: the installed controller's ``metrics`` command."""
    render_unit(python)  # validates python
    if not _PYTHON_RE.fullmatch(out):
        raise ValueError("metrics file %r cannot be written into a unit file" % (out,))
    return "\n".join([
        MANAGED_HEADER,
        "[Unit]",
        "Description=LVS real-server ARP compliance for node_exporter's textfile collector",
        "Documentation=file://%s" % vipctl.DATA_FILE,
        "After=systemd-sysctl.service %s" % UNIT_NAME,
        "ConditionPathExists=%s" % vipctl.DATA_FILE,
        "",
        "[Service]",
        "Type=oneshot",
        "# Reads /proc, ip addr and sysctl.d; writes only %s (atomically)." % out,
        "ExecStart=%s %s %s metrics --out %s" % (python, INTERPRETER_OPTIONS, CLI_PATH, out),
        "",
    ])


def render_metrics_timer(interval):
    """The timer: first run ``interval`` seconds after boot, then ``interval`` seconds after each run starts."""
    return "\n".join([
        MANAGED_HEADER,
        "[Unit]",
        "Description=LVS real-server ARP compliance metrics every %d s" % interval,
        "",
        "[Timer]",
        "OnBootSec=%ds" % interval,
        "OnUnitActiveSec=%ds" % interval,
        "AccuracySec=1s",
        "Unit=%s" % METRICS_SERVICE,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])


def installed_metrics_path(service_text):
    """The ``--out`` file of an installed metrics service, or None."""
    for line in (service_text or "").splitlines():
        if line.startswith("ExecStart=") and " metrics --out " in line:
            return line.rsplit(" ", 1)[1]
    return None


def metrics_paths(directory=METRICS_DIR):
    """Every path the metrics part owns (the generated .prom file included)."""
    return ([METRICS_SERVICE_PATH, METRICS_TIMER_PATH] + [os.path.join(LIBEXEC, n) for n in METRICS_LIBRARY]
            + [metrics_path(directory)])


def render_data(addresses, device, scope, label, mode):
    """The data file, marked as this module's (the controller ignores the extra key)."""
    data = json.loads(vipctl.render_data(addresses, device, scope, label, mode))
    data["managed_by"] = MANAGED_BY
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def desired_files(addresses, device, scope, label, mode, python, library_sources, metrics=None):
    """``{path: (text, mode)}`` to install; ``library_sources``: file name -> source text.

    ``metrics``: ``(interval, directory)`` to add the metrics timer, its service and their library, or None.
    """
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
    if metrics is not None:
        interval, directory = metrics
        files[METRICS_SERVICE_PATH] = (render_metrics_service(python, metrics_path(directory)), 0o644)
        files[METRICS_TIMER_PATH] = (render_metrics_timer(interval), 0o644)
        for name in METRICS_LIBRARY:
            files[os.path.join(LIBEXEC, name)] = (MANAGED_HEADER + "\n" + library_sources[name], 0o644)
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


def all_paths(metrics_dir=METRICS_DIR):
    """Every path the module may own, for removal."""
    return ([vipctl.DATA_FILE, UNIT_PATH, CLI_PATH, MODULES_LOAD_PATH] + [os.path.join(LIBEXEC, n) for n in LIBRARY]
            + metrics_paths(metrics_dir))


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


def companion_plan(unit, want, changed, systemd_running, enabled, active, run_first=None):
    """The systemctl verbs for a unit that follows the boot unit (the metrics timer, the watch).

    Planned after the boot unit's verbs, whose daemon-reload covers it.
    ``want``: the unit should run; ``changed``: a file it runs was written.
    Unwanted, it is stopped and disabled; wanted, it is enabled, and
    (re)started after every change. ``run_first``: a unit started
    synchronously before that (the metrics service, so that the .prom file
    exists when the module returns).
    """
    verbs = []
    if not want:
        if systemd_running and active:
            verbs.append(["stop", unit])
        if enabled:
            verbs.append(["disable", unit])
        return verbs
    if not enabled:
        verbs.append(["enable", unit])
    if systemd_running and (changed or not active):
        if run_first:
            verbs.append(["start", run_first])
        verbs.append(["restart" if active else "start", unit])
    return verbs


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
