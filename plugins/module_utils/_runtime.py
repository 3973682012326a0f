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

PROC_CONF = "/proc/sys/net/ipv4/conf"


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
