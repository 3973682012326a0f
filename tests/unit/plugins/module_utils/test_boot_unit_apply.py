# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_boot_unit_apply's file steps with the file edges passed in (``fs=``, ``dirs=``): rollback and clean-up."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit_apply as apply
from ansible_collections.lvs.realserver.plugins.module_utils import _files


class Disk(object):
    """``_files``' write edges over a dict; ``full`` names the path whose write fails (ENOSPC)."""

    def __init__(self, files, full=None):
        self.files, self.full, self.log = dict(files), full, []

    def ensure_dir(self, directory, own=False):
        self.log.append(("dir", directory, own))

    def write_atomic(self, module, path, text, mode, own_dir=False):
        if path == self.full:
            raise _files.FileError("cannot write %s: No space left on device; it was left as it was" % path)
        self.log.append(("write", path))
        self.files[path] = (text, mode)

    def restore(self, path, text, mode=0o644):
        self.log.append(("restore", path, oct(mode)))
        if text is None:
            self.files.pop(path, None)
        else:
            self.files[path] = (text, mode)


def stat(mode):
    return os.stat_result((0o100000 | mode, 0, 0, 1, 0, 0, 0, 0, 0, 0))


def test_a_failed_write_puts_back_the_files_written_before_it():
    old = {boot.CLI_PATH: ("#!old controller\n", 0o755), boot.UNIT_PATH: ("[Unit]\nold\n", 0o644)}
    disk = Disk(old, full=boot.UNIT_PATH)
    writes = [boot.CLI_PATH, boot.MODULES_LOAD_PATH, boot.UNIT_PATH]
    wanted = dict((path, ("new %s\n" % path, 0o644)) for path in writes)
    current = {boot.CLI_PATH: (old[boot.CLI_PATH][0], stat(0o755)), boot.MODULES_LOAD_PATH: (None, None),
               boot.UNIT_PATH: (old[boot.UNIT_PATH][0], stat(0o644))}
    with pytest.raises(_files.FileError) as info:
        apply.write_all(None, writes, wanted, current, fs=disk)
    assert "No space left on device" in str(info.value) and boot.UNIT_PATH in str(info.value)
    assert disk.files == old  # the controller back as it was (mode too), the new modules-load file gone
    assert disk.log[-2:] == [("restore", boot.MODULES_LOAD_PATH, "0o644"), ("restore", boot.CLI_PATH, "0o755")]
    assert ("dir", boot.LIBEXEC, True) in disk.log and ("dir", os.path.dirname(boot.UNIT_PATH), False) in disk.log


def test_writes_that_succeed_leave_nothing_to_restore():
    disk = Disk({})
    wanted = {boot.UNIT_PATH: ("[Unit]\n", 0o644)}
    apply.write_all(None, [boot.UNIT_PATH], wanted, {boot.UNIT_PATH: (None, None)}, fs=disk)
    assert disk.files == wanted and [e for e in disk.log if e[0] == "restore"] == []


def test_remove_owned_dirs_only_when_empty(tmp_path):
    libexec, etc = tmp_path / "libexec", tmp_path / "etc"
    (libexec / "__pycache__").mkdir(parents=True)
    etc.mkdir()
    (etc / "local-notes.txt").write_text("keep me\n")
    apply.remove_owned_dirs(ours_only=True, dirs=[str(libexec), str(etc)])
    assert libexec.exists()  # ours_only: only the networkd drop-in directories
    apply.remove_owned_dirs(dirs=[str(libexec), str(etc)])
    assert not libexec.exists()
    assert (etc / "local-notes.txt").read_text() == "keep me\n"
