# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""File edges shared by the modules: read, compare and write atomically, owned by root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes


def read_text(path):
    """``(text, stat)`` of ``path``, or ``(None, None)`` when it does not exist."""
    if not os.path.lexists(path):
        return None, None
    stat = os.stat(path)
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace"), stat


def needs_write(current_text, stat, text, mode):
    """True when ``path`` must be (re)written: other content, other mode, or not owned by root."""
    if current_text != text:
        return True
    return (stat.st_mode & 0o7777) != mode or stat.st_uid != 0 or stat.st_gid != 0


def write_atomic(module, path, text, mode):
    """Write ``text`` to ``path`` through a temp file in the same directory and ``atomic_move``."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=".lvs-realserver-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(text))
        os.chmod(tmp, mode)
        os.chown(tmp, 0, 0)
        module.atomic_move(tmp, path, unsafe_writes=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    os.chmod(path, mode)
    os.chown(path, 0, 0)


def restore(path, old_text):
    """Put back what ``path`` held before (``None``: it did not exist)."""
    if old_text is None:
        if os.path.lexists(path):
            os.unlink(path)
        return
    with open(path, "wb") as handle:
        handle.write(to_bytes(old_text))
