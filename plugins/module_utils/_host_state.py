# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Thin I/O edges the modules share to read a host: its interfaces, its ARP values, its configuration files.

One ``ip -j -d addr show`` process gives the topology; /proc/sys gives the
running values; /proc/net/route the default routes; the sysctl.d, networkd, netplan and NetworkManager files give
the boot state and the hazards. Every path is read below ``root`` (``/`` on a
host; unit tests point it at a fake tree). ``gather_facts`` turns what was
read into ``ansible_facts['lvs_realserver']`` with the one evaluator.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import os
import re
from collections import namedtuple

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _facts
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths
from ansible_collections.lvs.realserver.plugins.module_utils import _routes
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# How the readers below reach the files under ``root``: ``read_text(path) -> str`` and ``listdir(path)``
# (both raise IOError/OSError). ``reader=None`` is ``host_reader()``; a test passes one that refuses a path.
Reader = namedtuple("Reader", "read_text listdir")


def host_reader():
    """The real ``Reader``: ``_sysctl_d.read_text`` and ``os.listdir``."""
    return Reader(sysctl_d.read_text, os.listdir)


def read_interfaces(module, ip_bin):
    """Every interface with its addresses, from one ``ip -j -d addr show``; fails the module when that fails."""
    argv = _iproute.addr_show_argv(ip_bin)
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="'%s' failed (rc=%d): %s" % (" ".join(argv), rc, err.strip()),
                         rc=rc, stdout=out, stderr=err, cmd=argv)
    try:
        return _iproute.parse_addr_json(out)
    except (ValueError, KeyError, TypeError) as exc:
        module.fail_json(msg="cannot parse the JSON of '%s': %s (iproute2 too old for -j?)" % (" ".join(argv), exc),
                         rc=rc, stdout=out, stderr=err, cmd=argv)


def read_arp_conf(module, root="/"):
    """The running values of every key the evaluator reads; fails the module when /proc cannot be read."""
    proc_root = sysctl_d.under(root, _runtime.PROC_CONF)
    try:
        return _runtime.read_conf(rules.READ_KEYS, proc_root=proc_root)
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT and not os.path.isdir(proc_root):
            module.fail_json(msg="%s does not exist: IPv4 is not available here" % _runtime.PROC_CONF)
        module.fail_json(msg="cannot read the running ARP settings under %s: %s" % (_runtime.PROC_CONF, exc))


def read_config_files(root, directories, suffix, unreadable, reader=None, empty_masks=False):
    """``sysctl_d.read_config_files`` (the one directory reader) through ``reader`` (None: ``host_reader()``)."""
    reader = reader or host_reader()
    return sysctl_d.read_config_files(root, directories, suffix, unreadable, empty_masks=empty_masks,
                                      listdir=reader.listdir, read_text=reader.read_text)


def read_networkd_dropins(root, units, unreadable, reader=None):
    """The ``<unit>.d/*.conf`` drop-ins of every networkd unit name in ``units``."""
    dropins = []
    for unit in sorted(set(units)):
        directories = [os.path.join(d, unit + ".d") for d in _netstack_paths.NETWORKD_DIRS]
        for f in read_config_files(root, directories, ".conf", unreadable, reader, empty_masks=True):
            dropins.append(_netstack_paths.DropIn(unit, f.directory, f.name, f.masked, f.text))
    return dropins


def read_default_routes(root, unreadable, reader=None):
    """The default routes of the main table from /proc/net/route; None when it cannot be read (not judged then).

    A missing file (a tree without IPv4, or a test's fake root) is not
    reported; an unreadable one is collected in ``unreadable``.
    """
    try:
        text = (reader or host_reader()).read_text(sysctl_d.under(root, _routes.PROC_NET_ROUTE))
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) != errno.ENOENT:
            unreadable.append(_routes.PROC_NET_ROUTE)
        return None
    return _routes.parse_default_routes(text)


def read_fact_sources(root="/", reader=None):
    """The files behind the boot state and the hazards, as ``_facts.assemble`` keyword arguments.

    ``reader``: how the network stacks' files are read (``Reader``; None: ``host_reader()``).
    """
    reader = reader or host_reader()
    unreadable = []
    networkd = read_config_files(root, _netstack_paths.NETWORKD_DIRS, ".network", unreadable, reader,
                                 empty_masks=True)
    return dict(
        candidates=sysctl_d.read_candidates(root, unreadable=unreadable),
        sysctl_conf_text=sysctl_d.read_sysctl_conf(root),
        networkd=networkd,
        networkd_dropins=read_networkd_dropins(root, [f.name for f in networkd], unreadable, reader),
        netplan=read_config_files(root, _netstack_paths.NETPLAN_DIRS, ".yaml", unreadable, reader),
        nm=read_config_files(root, _netstack_paths.NM_DIRS, ".nmconnection", unreadable, reader),
        ifupdown=read_ifupdown(root, unreadable, reader),
        default_routes=read_default_routes(root, unreadable, reader),
        unreadable=unreadable,
        watched=watch_running(root, reader),
        systemd_version=systemd_version(root, reader),
    )


SYSTEMD_LIBDIRS = ("/usr/lib/systemd", "/usr/lib/x86_64-linux-gnu/systemd", "/usr/lib/aarch64-linux-gnu/systemd",
                   "/usr/lib64/systemd", "/lib/systemd")


def systemd_version(root="/", reader=None):
    """systemd's version from its shared library's name (``libsystemd-shared-252.so``), or None."""
    reader = reader or host_reader()
    for directory in SYSTEMD_LIBDIRS:
        try:
            names = reader.listdir(sysctl_d.under(root, directory))
        except (IOError, OSError):
            continue
        for name in names:
            match = re.match(r"libsystemd-shared-(\d+)(?:[.~-][^/]*)?\.so$", name)
            if match:
                return int(match.group(1))
    return None


WATCH_PID = "/run/lvs-realserver-watch.pid"


def read_ifupdown(root, unreadable, reader=None):
    """/etc/network/interfaces and the files of /etc/network/interfaces.d (what Debian's default sources)."""
    reader = reader or host_reader()
    found = []
    for path in _netstack_paths.IFUPDOWN_FILES:
        try:
            found.append(sysctl_d.ConfigFile(os.path.dirname(path), os.path.basename(path), False,
                                             reader.read_text(sysctl_d.under(root, path))))
        except (IOError, OSError) as exc:
            if getattr(exc, "errno", None) != errno.ENOENT:
                unreadable.append(path)
    for directory in _netstack_paths.IFUPDOWN_DIRS:
        found.extend(read_config_files(root, (directory,), "", unreadable, reader))
    return found


def watch_running(root="/", reader=None):
    """Whether the boot unit's watch runs: its pid file names a live ``lvs-realserver-vips watch`` process."""
    try:
        pid = int((reader or host_reader()).read_text(sysctl_d.under(root, WATCH_PID)).strip())
        with open(sysctl_d.under(root, "/proc/%d/cmdline" % pid), "rb") as handle:
            argv = handle.read().split(b"\0")
    except (IOError, OSError, ValueError):
        return False
    return any(a.endswith(b"/lvs-realserver-vips") for a in argv) and b"watch" in argv


def gather_facts(conf, interfaces, mode="dr", expected_vips=None, judge=None, root="/", boot_interfaces=None,
                 now=None, reader=None):
    """``ansible_facts['lvs_realserver']`` for the running values and topology given, plus the files below ``root``.

    ``now() -> str``: the ``collected_at`` time (None: ``utc_now``); ``reader``: see ``read_fact_sources``.
    """
    # (called with ``root`` alone unless a reader is given: a module test's stand-in takes only that)
    sources = read_fact_sources(root, reader=reader) if reader else read_fact_sources(root)
    return _facts.assemble(conf, interfaces, mode=mode, expected_vips=expected_vips, judge=judge,
                           collected_at=(now or utc_now)(), boot_interfaces=boot_interfaces, **sources)
