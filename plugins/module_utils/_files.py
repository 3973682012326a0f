# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""File edges shared by the modules: read, compare and write crash-safely, owned by root.

Every write and every restore goes through a temp file in the same
directory: written, fsync'd, renamed over the target, then the directory
fsync'd. A crash at any point leaves the old file or the new one, never a
cut one. Odd things at a managed path (a symlink, a directory, a FIFO) and
file-system errors (read-only, full) raise ``FileError`` naming the path,
with nothing changed.

The operations that make a write crash-safe and root-owned (``mkstemp``,
``fsync``, ``rename``, ``fchown``, ``chown``) enter as a ``FileOps`` (``ops``;
None: ``os_ops()``), so a test can watch them or make one fail.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import errno
import os
import stat as stat_module
import tempfile

from ansible.module_utils.common.text.converters import to_bytes

TEMP_PREFIX = ".lvs-realserver-"
DIR_MODE = 0o755

FileOps = collections.namedtuple("FileOps", "mkstemp fsync rename fchown chown")


def os_ops():
    """The real ``FileOps`` (``tempfile.mkstemp`` and ``os``' ``fsync``, ``rename``, ``fchown``, ``chown``)."""
    return FileOps(tempfile.mkstemp, os.fsync, os.rename, os.fchown, os.chown)


class FileError(Exception):
    """A managed path cannot be read or written; the message names the path."""


def _describe(exc):
    return exc.strerror or str(exc)


def check_regular(path, stat):
    """Raise ``FileError`` unless ``stat`` (an lstat of ``path``) is a regular file."""
    if stat_module.S_ISLNK(stat.st_mode):
        target = os.readlink(path)
        raise FileError("%s is a symbolic link (to %s); a managed file must be a regular file: "
                        "remove the link first" % (path, target))
    if stat_module.S_ISDIR(stat.st_mode):
        raise FileError("%s is a directory; a managed file must be a regular file" % path)
    if not stat_module.S_ISREG(stat.st_mode):
        raise FileError("%s is not a regular file (mode %o)" % (path, stat_module.S_IFMT(stat.st_mode)))


def read_text(path):
    """``(text, stat)`` of ``path``, or ``(None, None)`` when it does not exist.

    Never follows a symbolic link: a link (dangling or looping included) or a
    directory at ``path`` raises ``FileError``.
    """
    try:
        stat = os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, None
        raise FileError("cannot examine %s: %s" % (path, _describe(exc)))
    check_regular(path, stat)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            return handle.read().decode("utf-8", "replace"), os.fstat(handle.fileno())
    except OSError as exc:
        raise FileError("cannot read %s: %s" % (path, _describe(exc)))


def needs_write(current_text, stat, text, mode):
    """True when ``path`` must be (re)written: other content, other mode, or not owned by root."""
    if current_text != text:
        return True
    return (stat.st_mode & 0o7777) != mode or stat.st_uid != 0 or stat.st_gid != 0


def dir_problem(directory, stat):
    """Why root must not write into ``directory`` as found, or None."""
    if not stat_module.S_ISDIR(stat.st_mode):
        return "%s is not a directory" % directory
    if stat.st_uid != 0:
        return "%s is owned by uid %d, not root" % (directory, stat.st_uid)
    if stat.st_mode & 0o022:
        return "%s is writable by group or others (mode %04o)" % (directory, stat.st_mode & 0o7777)
    return None


def ensure_dir(directory, own=False, ops=None):
    """Make sure ``directory`` is a root-owned directory nobody else can write to.

    Missing directories (and parents) are created root-owned 0755. With
    ``own`` (a directory this collection owns, such as its libexec
    directory) a directory found with another owner or a loose mode is made
    root-owned 0755; otherwise (a system directory) the run is refused.
    Raises ``FileError`` naming the directory.
    """
    ops = ops or os_ops()
    try:
        stat = os.lstat(directory)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise FileError("cannot examine %s: %s" % (directory, _describe(exc)))
        parent = os.path.dirname(directory)
        if parent and parent != directory:
            ensure_dir(parent, own=False, ops=ops)
        try:
            os.mkdir(directory, DIR_MODE)
            ops.chown(directory, 0, 0)
            os.chmod(directory, DIR_MODE)
            fsync_dir(parent, ops)
        except OSError as exc:
            raise FileError("cannot create %s: %s" % (directory, _describe(exc)))
        return
    if stat_module.S_ISLNK(stat.st_mode):
        raise FileError("%s is a symbolic link; refusing to install through it" % directory)
    problem = dir_problem(directory, stat)
    if problem is None:
        return
    if not own or not stat_module.S_ISDIR(stat.st_mode):
        raise FileError("refusing to write into %s: it must be a root-owned directory that only root can write to "
                        "(0755)" % problem)
    try:
        ops.chown(directory, 0, 0)
        os.chmod(directory, DIR_MODE)
    except OSError as exc:
        raise FileError("%s, and making it root-owned 0755 failed: %s" % (problem, _describe(exc)))


def fsync_dir(directory, ops=None):
    """fsync a directory so that a rename or unlink in it survives a crash."""
    ops = ops or os_ops()
    fd = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        ops.fsync(fd)
    finally:
        os.close(fd)


def sweep_temp(directory):
    """Remove the temp files a killed run left in ``directory``.

    Only called by writers that hold the host lock (``_runtime.HostLock``), so
    no live run can own one of them. Returns the paths removed.
    """
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(TEMP_PREFIX) and name.endswith(".tmp")):
            continue
        path = os.path.join(directory, name)
        try:
            if stat_module.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                removed.append(path)
        except OSError:
            pass
    return removed


def _replace(path, data, mode, ops=None):
    """temp file in the same directory, fsync, rename, directory fsync; cleans the temp file on failure."""
    ops = ops or os_ops()
    directory = os.path.dirname(path)
    sweep_temp(directory)
    try:
        check_regular(path, os.lstat(path))
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise FileError("cannot examine %s: %s" % (path, _describe(exc)))
    tmp = None
    try:
        fd, tmp = ops.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            ops.fchown(handle.fileno(), 0, 0)
            ops.fsync(handle.fileno())
        ops.rename(tmp, path)
        tmp = None
        fsync_dir(directory, ops)
    except OSError as exc:
        raise FileError("cannot write %s: %s; it was left as it was" % (path, _describe(exc)))
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_atomic(module, path, text, mode, own_dir=False, ops=None):  # pylint: disable=unused-argument
    """Write ``text`` to ``path`` crash-safely (``module`` is kept for the callers' signature).

    The directory is checked (or created) with ``ensure_dir``; an odd thing at
    ``path`` (a symlink, a directory) raises ``FileError`` before anything is written.
    """
    ensure_dir(os.path.dirname(path), own=own_dir, ops=ops)
    _replace(path, to_bytes(text), mode, ops)


def remove(path, ops=None):
    """Remove ``path`` (a regular file) and fsync its directory; a missing file is fine."""
    try:
        stat = os.lstat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return
        raise FileError("cannot examine %s: %s" % (path, _describe(exc)))
    check_regular(path, stat)
    try:
        os.unlink(path)
        fsync_dir(os.path.dirname(path), ops)
    except OSError as exc:
        raise FileError("cannot remove %s: %s" % (path, _describe(exc)))


def restore(path, old_text, mode=0o644, ops=None):
    """Put back what ``path`` held before (``None``: it did not exist), crash-safely as well."""
    if old_text is None:
        remove(path, ops)
        return
    _replace(path, to_bytes(old_text), mode, ops)
