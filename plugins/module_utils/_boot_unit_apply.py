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
to run is decided by the pure functions of ``_boot_unit``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _files as files
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl

# Installed on the host beside the controller; importing them also puts them in the AnsiballZ payload.
LIBRARY_MODULES = {"_arp_rules.py": _arp_rules, "_iproute.py": _iproute, "_runtime.py": _runtime, "_vipctl.py": _vipctl}


def source_of(module):
    """The source text of one of this collection's module_utils (from a file or the AnsiballZ zip)."""
    loader = getattr(module, "__loader__", None)
    text = loader.get_source(module.__name__) if hasattr(loader, "get_source") else None
    if text is None:
        with open(module.__file__, "rb") as handle:
            text = handle.read()
    # Ansible's collection loader returns bytes, zipimport and files give text
    return text.decode("utf-8") if isinstance(text, bytes) else text


def unit_status(module, systemctl, systemd_running):
    """``(enabled, active)`` of the unit."""
    if not systemctl:
        return False, False
    rc, out, _err = module.run_command([systemctl, "is-enabled", boot.UNIT_NAME])
    enabled = rc == 0 and out.strip() in ("enabled", "enabled-runtime")
    active = False
    if systemd_running:
        rc, out, _err = module.run_command([systemctl, "is-active", boot.UNIT_NAME])
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


def converge(module, state, vips=(), device="lo", scope="host", label=None, mode="dr", python="/usr/bin/python3",
             enabled=True, start=True, outer=None):
    """Install (``present``) or remove (``absent``) the unit; returns the result fields, or fails the module.

    ``vips``, ``device``, ``scope`` and ``label`` must be validated already
    (``_vip_plan.validate``); in check mode nothing is written or run but
    the status queries. Warnings go through ``module.warn``. ``outer``: the
    calling module's own result (what it already did), which a failed
    systemctl call then reports, with the unit's fields under ``boot_unit``.
    """
    if state == "present":
        wanted = boot.desired_files(list(vips), device, scope, label, mode, python,
                                    dict((n, source_of(m)) for n, m in LIBRARY_MODULES.items()))
        stale = [] if mode == "tun" else [boot.MODULES_LOAD_PATH]
    else:
        wanted, stale = {}, boot.all_paths()

    current = dict((path, files.read_text(path)) for path in sorted(set(wanted) | set(stale)))
    writes = [path for path, (text, file_mode) in sorted(wanted.items()) if files.needs_write(
        current[path][0], current[path][1], text, file_mode)]
    removals = [path for path in stale if current[path][0] is not None]

    systemd_running = os.path.isdir("/run/systemd/system")
    systemctl = module.get_bin_path("systemctl")
    is_enabled, active = unit_status(module, systemctl, systemd_running)
    unit_changed = boot.UNIT_PATH in writes or boot.UNIT_PATH in removals
    verbs = boot.systemctl_plan(state, unit_changed, systemd_running, is_enabled, active,
                                enabled, start) if systemctl else []
    result = dict(changed=bool(writes or removals or verbs), unit=boot.UNIT_NAME,
                  systemd_running=systemd_running, files=writes + removals, systemctl=verbs)
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

    if state == "absent":
        # stop (which removes the VIPs) and disable while the unit file still exists, reload after
        run_verbs(module, systemctl, [v for v in verbs if v != ["daemon-reload"]], failure_fields(result, outer))
        for path in removals:
            os.unlink(path)
        remove_owned_dirs()
        run_verbs(module, systemctl, [v for v in verbs if v == ["daemon-reload"]], failure_fields(result, outer))
        return result
    for path in writes:
        files.write_atomic(module, path, wanted[path][0], wanted[path][1])
    for path in removals:
        os.unlink(path)
    run_verbs(module, systemctl, verbs, failure_fields(result, outer))
    return result


def failure_fields(result, outer):
    """What a failure reports: the unit's result, or the caller's with the unit's under ``boot_unit``."""
    if outer is None:
        return result
    return dict(outer, boot_unit=result, changed=bool(outer.get("changed") or result["changed"]))


def remove_owned_dirs():
    """Drop the module's directories once empty (a stale __pycache__ from older releases included)."""
    for directory in boot.owned_dirs():
        shutil.rmtree(os.path.join(directory, "__pycache__"), ignore_errors=True)
        if os.path.isdir(directory) and not os.listdir(directory):
            os.rmdir(directory)


def run_verbs(module, systemctl, verbs, result):
    for verb in verbs:
        argv = [systemctl] + verb
        rc, out, err = module.run_command(argv)
        if rc != 0:
            fail_systemctl(module, systemctl, argv, rc, out, err, result)
