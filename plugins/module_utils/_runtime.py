# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Thin I/O edges on the running kernel: ``/proc/sys/net/ipv4/conf`` values.

Values are read as signed integers with the literal interface name in the
path (no dot translation is needed under /proc). Standard library only: the
boot guard uses this file too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

try:
    import fcntl
except ImportError:  # not on Linux: the modules fail elsewhere first
    fcntl = None

PROC_CONF = "/proc/sys/net/ipv4/conf"
# One lock per host: arp_sysctl, loopback_vip, boot_unit and the boot controller hold it while they change
# files and the kernel, so that two runs never interleave. /run exists from the first moment of boot.
LOCK_PATH = "/run/lvs-realserver.lock"
LOCK_TIMEOUT = 60.0


class LockTimeout(Exception):
    """Another lvs.realserver run held the host lock for longer than the wait allows."""


class HostLock(object):
    """flock(2) on ``LOCK_PATH``; ``acquire()`` waits at most ``timeout`` seconds, then raises ``LockTimeout``.

    Re-entrant within one process (``acquire`` of a lock the process holds is a
    no-op). The lock goes with the process: a killed run never leaves it taken.
    """

    _held = {}  # path -> fd held by this process: the lock serialises processes, not objects

    def __init__(self, path=None, timeout=None):
        self.path = path or LOCK_PATH
        self.timeout = LOCK_TIMEOUT if timeout is None else timeout
        self.fd = None

    def acquire(self):
        if self.fd is not None or self.path in HostLock._held:
            return self
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
            if time.time() >= deadline:
                os.close(fd)
                raise LockTimeout(
                    "another lvs.realserver run (a playbook or lvs-realserver-vips.service) has held %s for more "
                    "than %d s; nothing was changed. Try again once it has finished" % (self.path, self.timeout))
            time.sleep(0.05)
        self.fd = fd
        HostLock._held[self.path] = fd
        return self

    def release(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            HostLock._held.pop(self.path, None)
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def conf_path(interface, key, proc_root=PROC_CONF):
    return os.path.join(proc_root, interface, key)


def read_conf(keys, proc_root=PROC_CONF):
    """Read ``keys`` for every interface under ``proc_root`` (``all`` and ``default`` included).

    Returns ``{interface: {key: int}}``; keys the kernel does not have are left out.
    """
    conf = {}
    for name in sorted(os.listdir(proc_root)):
        values = {}
        for key in keys:
            value = read_value(name, key, proc_root)
            if value is not None:
                values[key] = value
        conf[name] = values
    return conf


def read_value(interface, key, proc_root=PROC_CONF):
    """The running value, or None when the interface (or key) does not exist."""
    try:
        with open(conf_path(interface, key, proc_root)) as handle:
            return int(handle.read().strip())
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def write_value(interface, key, value, proc_root=PROC_CONF):
    with open(conf_path(interface, key, proc_root), "w") as handle:
        handle.write("%d\n" % value)


def unwritable(changes, proc_root=PROC_CONF):
    """The ``(interface, key)`` pairs of ``changes`` that this process cannot write (read-only /proc/sys)."""
    return [
        (interface, key)
        for interface, key in changes
        if not os.access(conf_path(interface, key, proc_root), os.W_OK)
    ]
