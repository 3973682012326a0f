# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The I/O edge that puts the boot unit in place: files, systemctl, and what it did.

``converge`` is shared by ``lvs.realserver.boot_unit`` and by
``lvs.realserver.loopback_vip`` (``boot_unit: true``, which installs the unit
in the same module run as the VIPs). What to write and which systemctl verbs
to run is decided by the pure functions of ``_boot_unit``. The file edges
enter as ``fs`` (an object with ``_files``' functions; None: ``_files``
itself), so a test passes a fake file system rather than patching this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _files as files
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _metrics
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl

# Installed on the host beside the controller; importing them also puts them in the AnsiballZ payload.
LIBRARY_MODULES = {"_arp_rules.py": _arp_rules, "_iproute.py": _iproute, "_runtime.py": _runtime, "_vipctl.py": _vipctl}
# Installed as well with metrics enabled (the boot model and the exposition)
METRICS_MODULES = {"_boot_model.py": _boot_model, "_metrics.py": _metrics, "_sysctl_d.py": _sysctl_d}


def source_of(module):
    """The source text of one of this collection's module_utils (from a file or the AnsiballZ zip)."""
    loader = getattr(module, "__loader__", None)
    text = loader.get_source(module.__name__) if hasattr(loader, "get_source") else None
    if text is None:
        with open(module.__file__, "rb") as handle:
            text = handle.read()
    # Ansible's collection loader returns bytes, zipimport and files give text
    return text.decode("utf-8") if isinstance(text, bytes) else text


def unit_status(module, systemctl, systemd_running, name=boot.UNIT_NAME):
    """``(enabled, active)`` of the unit ``name``."""
    if not systemctl:
        return False, False
    rc, out, _err = module.run_command([systemctl, "is-enabled", name])
    enabled = rc == 0 and out.strip() in ("enabled", "enabled-runtime")
    active = False
    if systemd_running:
        rc, out, _err = module.run_command([systemctl, "is-active", name])
        active = out.strip() in ("active", "activating", "reloading")
    return enabled, active


def fail_systemctl(module, systemctl, argv, rc, out, err, result):
    journal = ""
    journalctl = module.get_bin_path("journalctl")
    if journalctl and argv[1:2] == ["start"]:
        journal = module.run_command([journalctl, "--no-pager", "-n", "20", "-u", boot.UNIT_NAME])[1]
    module.fail_json(
        msg="%s failed (rc=%d): %s%s" % (
            " ".join(argv), rc, (err or out).strip(), "; journal:\n" + journal if journal else ""),
        rc=rc, stdout=out, stderr=err, cmd=argv, **result)


def foreign_paths(paths, current):
    """The ``paths`` that hold a file this module did not write (``current``: path -> (text, stat))."""
    cli_text = current.get(boot.CLI_PATH, (None, None))[0]
    return [path for path in paths
            if current[path][0] is not None and not boot.is_managed(path, current[path][0], cli_text)]


def foreign_message(state, paths, force_hint="force: true"):
    return ("%s: not written by lvs.realserver.boot_unit (no marker); nothing was changed. "
            "Use %s to %s them" % (", ".join(paths), force_hint, "remove" if state == "absent" else "replace"))


def install_dirs(paths, fs=None):
    """Check or make the directories of ``paths``: ours made root-owned 0755, system ones refused when loose."""
    for directory in sorted(set(os.path.dirname(path) for path in paths)):
        (fs or files).ensure_dir(directory, own=directory in boot.owned_dirs())


def write_all(module, writes, wanted, current, fs=None):
    """Write every path; on a failure put back the ones already written and re-raise."""
    fs = fs or files
    done = []
    try:
        install_dirs(writes, fs)
        for path in writes:
            fs.write_atomic(module, path, wanted[path][0], wanted[path][1], own_dir=os.path.dirname(path) in boot.owned_dirs())
            done.append(path)
    except files.FileError:
        for path in reversed(done):
            old_text, old_stat = current[path]
            fs.restore(path, old_text, old_stat.st_mode & 0o7777 if old_stat else 0o644)
        raise


def netstack_files(netstack, python, device, root="/"):
    """``(detected, chosen, {path: (text, mode)}, stale)``: what ``netstack`` installs here, and our files
    found that it no longer wants (drop-ins beside .network files that no longer match lo, or every one)."""
    def exists(path):
        return os.path.lexists(_sysctl_d.under(root, path))

    unreadable = []
    netplan = _sysctl_d.read_config_files(root, _netstack_paths.NETPLAN_DIRS, ".yaml", unreadable)
    detected = _netstack.detect(exists, netplan)
    stacks = _netstack.chosen(netstack or "none", detected)
    wanted = {}
    if stacks:
        networks = _sysctl_d.read_config_files(root, _netstack_paths.NETWORKD_DIRS, ".network", unreadable,
                                               empty_masks=True)
        dropins = _host_state.read_networkd_dropins(root, [f.name for f in networks], unreadable)
        wanted = _netstack.desired_files(stacks, python, boot.CLI_PATH, device,
                                         _netstack.lo_networks(networks, dropins),
                                         exists("/etc/NetworkManager"))
    listing = {}
    base = os.path.join(root, "etc/systemd/network")
    for name in (os.listdir(base) if os.path.isdir(base) else []):
        if name.endswith(".network.d") and os.path.isdir(os.path.join(base, name)):
            listing[name] = os.listdir(os.path.join(base, name))
    ours = _netstack.fixed_paths() + _netstack.installed_dropins(listing)
    return detected, stacks, wanted, [p for p in ours if p not in wanted]


def converge(module, state, vips=(), device="lo", scope="host", label=None, mode="dr", python="/usr/bin/python3",
             enabled=True, start=True, outer=None, force=False, lock=None, metrics=None, metrics_dir=boot.METRICS_DIR,
             force_hint="force: true", netstack=None, fs=None, root="/"):
    """Install (``present``) or remove (``absent``) the unit; returns the result fields, or fails the module.

    ``vips``, ``device``, ``scope`` and ``label`` must be validated already
    (``_vip_plan.validate``), ``python`` too (``boot.interpreter_error``); in
    check mode nothing is written or run but the status queries. Warnings go
    through ``module.warn``. ``outer``: the calling module's own result (what
    it already did), which a failed systemctl call then reports, with the
    unit's fields under ``boot_unit``. A file at one of the unit's paths that
    this module did not write is never replaced or removed without ``force``
    (``force_hint``: how the caller's user sets it, for the message).
    ``lock``: the held host lock (``_runtime.HostLock``), released while
    systemctl runs the controller (which takes it itself).
    ``metrics``: ``(interval, directory)`` (validated, ``boot.metrics_errors``) to install the metrics timer,
    or None to remove it and the .prom file in ``metrics_dir`` (and in the directory the installed timer used).
    ``netstack``: ``_netstack.CHOICES`` (None: ``none``): the watch unit and the network stack's hooks
    (``_netstack``); ``none`` removes the ones an earlier run installed.
    ``fs``: the file edges (``read_text``, ``write_atomic``, ``restore``, ``remove``, ``ensure_dir``,
    ``sweep_temp`` as in ``_files``; None: ``_files``); ``root``: where systemd's run state, the network
    stacks' files and the module's directories (to drop once empty) are looked up (the files ``fs`` handles
    keep their absolute paths).
    """
    fs = fs or files
    base = failure_fields(dict(changed=False, unit=boot.UNIT_NAME, files=[], systemctl=[]), outer)
    try:
        old_out = boot.installed_metrics_path(fs.read_text(boot.METRICS_SERVICE_PATH)[0])
    except files.FileError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc, **base)
    if state == "present":
        sources = dict((n, source_of(m)) for n, m in list(LIBRARY_MODULES.items()) + list(METRICS_MODULES.items()))
        wanted = boot.desired_files(list(vips), device, scope, label, mode, python, sources, metrics)
        stale = [] if mode == "tun" else [boot.MODULES_LOAD_PATH]
        stale += boot.metrics_paths(metrics_dir) if metrics is None else []
    else:
        metrics = None
        wanted, stale = {}, boot.all_paths(metrics_dir)
    detected, stacks, stack_files, stack_stale = netstack_files(netstack if state == "present" else "none", python,
                                                                device, root)
    wanted.update(stack_files)
    stale += [path for path in stack_stale if path not in stale]
    out = boot.metrics_path(metrics[1]) if metrics is not None else None
    stale += [path for path in (old_out, out) if path and path not in stale and path not in wanted]

    try:
        current = dict((path, fs.read_text(path)) for path in sorted(set(wanted) | set(stale)))
    except files.FileError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc, **base)
    writes = [path for path, (text, file_mode) in sorted(wanted.items()) if files.needs_write(
        current[path][0], current[path][1], text, file_mode)]
    # the .prom file the timer writes stays while it is wanted (only a foreign one is in the way)
    removals = [path for path in stale if current[path][0] is not None and (
        path != out or not boot.is_managed(path, current[path][0]))]
    foreign = foreign_paths(writes + removals, current)
    if foreign and not force:
        module.fail_json(msg=foreign_message(state, foreign, force_hint), foreign=foreign, **base)

    systemd_running = os.path.isdir(_sysctl_d.under(root, "/run/systemd/system"))
    systemctl = module.get_bin_path("systemctl")
    is_enabled, active = unit_status(module, systemctl, systemd_running)
    # (queried only when wanted or installed: two fewer commands on every run of a host without metrics)
    timer_enabled, timer_active = unit_status(module, systemctl, systemd_running, boot.METRICS_TIMER) if (
        metrics is not None or current.get(boot.METRICS_TIMER_PATH, (None,))[0] is not None) else (False, False)
    units = (boot.UNIT_PATH, boot.METRICS_SERVICE_PATH, boot.METRICS_TIMER_PATH, _netstack.WATCH_UNIT_PATH)
    unit_changed = any(path in writes or path in removals for path in units)
    metrics_changed = any(path in writes for path in boot.metrics_paths())
    verbs = boot.systemctl_plan(state, unit_changed, systemd_running, is_enabled, active,
                                enabled, start) if systemctl else []
    timer_verbs = boot.companion_plan(boot.METRICS_TIMER, metrics is not None, metrics_changed, systemd_running,
                                      timer_enabled, timer_active, run_first=boot.METRICS_SERVICE) if systemctl else []
    want_watch = _netstack.WATCH_UNIT_PATH in wanted
    watch_enabled, watch_active = unit_status(module, systemctl, systemd_running, _netstack.WATCH_UNIT) if (
        want_watch or current.get(_netstack.WATCH_UNIT_PATH, (None,))[0] is not None) else (False, False)
    watch_changed = _netstack.WATCH_UNIT_PATH in writes or any(boot.is_code(path) for path in writes)
    # (a new controller or unit restarts the watch: that never touches the VIPs)
    watch_verbs = boot.companion_plan(_netstack.WATCH_UNIT, want_watch and enabled and start, watch_changed,
                                      systemd_running, watch_enabled, watch_active) if systemctl else []
    # a timer no longer wanted is stopped and disabled while its files still exist
    before, after = (timer_verbs, []) if metrics is None else ([], timer_verbs)
    # the watch stops before the VIP unit does (it would put back what the stop removes), starts after it
    before, after = (watch_verbs + before, after) if not want_watch else (before, after + watch_verbs)
    verbs = before + verbs + after
    # networkd reads a new or removed drop-in only when told (reconfigure alone does not re-read files)
    networkctl = module.get_bin_path("networkctl")
    reload_networkd = bool(networkctl and os.path.exists(_sysctl_d.under(root, "/run/systemd/netif/state")) and any(
        path.endswith("/" + _netstack.NETWORKD_DROPIN) for path in writes + removals))
    result = dict(changed=bool(writes or removals or verbs), unit=boot.UNIT_NAME,
                  systemd_running=systemd_running, files=writes + removals, systemctl=verbs,
                  netstack=dict(detected=detected, chosen=stacks, networkd_reload=reload_networkd))
    if not systemctl:
        module.warn("systemctl not found: the unit files are installed but cannot be enabled")
    elif not systemd_running and state == "present" and start:
        module.warn("systemd is not running here: %s is enabled for the next boot but not started now (no running systemd)"
                    % boot.UNIT_NAME)
    if module._diff:
        result["diff"] = [
            dict(before=boot.diff_text(path, current[path][0]),
                 after=boot.diff_text(path, wanted[path][0] if path in wanted else None),
                 before_header=path, after_header=path)
            for path in writes + removals
        ]
    if module.check_mode:
        return result

    for directory in sorted(set(os.path.dirname(path) for path in current)):
        fs.sweep_temp(directory)  # what a killed run left; no live run owns one under the lock
    if state == "absent":
        # stop (which removes the VIPs) and disable while the unit file still exists, reload after
        if lock is not None:
            lock.release()
        run_verbs(module, systemctl, [v for v in verbs if v != ["daemon-reload"]], failure_fields(result, outer))
        if lock is not None:
            lock.acquire()
        remove_all(module, removals, result, outer, fs)
        remove_owned_dirs(removals, root=root)
        run_verbs(module, systemctl, [v for v in verbs if v == ["daemon-reload"]], failure_fields(result, outer))
        reload_networkd_now(module, networkctl, reload_networkd)
        return result
    run_verbs(module, systemctl, before, failure_fields(result, outer))
    try:
        write_all(module, writes, wanted, current, fs)
    except files.FileError as exc:
        module.fail_json(msg="%s; the unit's files were put back as they were" % exc,
                         **failure_fields(dict(result, changed=False, files=[], systemctl=[]), outer))
    remove_all(module, removals, result, outer, fs)
    remove_owned_dirs(removals, ours_only=True, root=root)
    if lock is not None:
        lock.release()  # systemctl start runs the controller, which takes the lock itself
    run_verbs(module, systemctl, verbs[len(before):], failure_fields(result, outer))
    reload_networkd_now(module, networkctl, reload_networkd)
    return result


def reload_networkd_now(module, networkctl, wanted):
    """``networkctl reload`` (networkd reads a drop-in only then); a failure is a warning: the files are right,
    the watch covers the VIPs, and the next networkd start reads them."""
    if not wanted:
        return
    rc, out, err = module.run_command([networkctl, "reload"])
    if rc != 0:
        module.warn("networkctl reload failed (rc=%d): %s; systemd-networkd reads %s at its next start or reload"
                    % (rc, (err or out).strip(), _netstack.NETWORKD_DROPIN))


def remove_all(module, removals, result, outer, fs=None):
    for path in removals:
        try:
            (fs or files).remove(path)
        except files.FileError as exc:
            module.fail_json(msg=str(exc), **failure_fields(result, outer))


def failure_fields(result, outer):
    """What a failure reports: the unit's result, or the caller's with the unit's under ``boot_unit``."""
    if outer is None:
        return result
    return dict(outer, boot_unit=result, changed=bool(outer.get("changed") or result["changed"]))


def remove_owned_dirs(removals=(), ours_only=False, dirs=None, root="/"):
    """Drop the module's directories once empty (a stale __pycache__ from older releases included),
    and the networkd drop-in directories whose drop-in it removed, once empty.
    ``dirs``: the module's directories (None: ``_boot_unit.owned_dirs()``); all of them below ``root``."""
    for path in removals:
        directory = _sysctl_d.under(root, os.path.dirname(path))
        if path.endswith("/" + _netstack.NETWORKD_DROPIN) and os.path.isdir(directory) and not os.listdir(directory):
            os.rmdir(directory)
    if ours_only:
        return
    for directory in boot.owned_dirs() if dirs is None else dirs:
        directory = _sysctl_d.under(root, directory)
        shutil.rmtree(os.path.join(directory, "__pycache__"), ignore_errors=True)
        if os.path.isdir(directory) and not os.listdir(directory):
            os.rmdir(directory)


def run_verbs(module, systemctl, verbs, result):
    for verb in verbs:
        argv = [systemctl] + verb
        rc, out, err = module.run_command(argv)
        if rc != 0:
            fail_systemctl(module, systemctl, argv, rc, out, err, result)
