# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_host_state's file readers below a tmp_path root, with a ``Reader`` passed in that refuses one path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lvs.realserver.plugins.module_utils import _host_state as host
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

NM_FILE = "/etc/NetworkManager/system-connections/lo.nmconnection"
ROUTES = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\t\n"
          "eth0\t00000000\t017100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
PROTECTED = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}}


def put(root, path, text):
    full = sysctl_d.under(str(root), path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    return full


def refusing(path, call):
    """The host's ``Reader`` except that ``call`` (``read_text`` or ``listdir``) of ``path`` raises EACCES."""
    real = host.host_reader()

    def deny(full):
        if full == path:
            raise IOError(13, "Permission denied")
        return getattr(real, call)(full)
    return real._replace(**{call: deny})


def test_an_unreadable_file_is_collected_not_fatal(tmp_path):
    full = put(tmp_path, NM_FILE, "[connection]\ntype=loopback\n")
    sources = host.read_fact_sources(str(tmp_path))
    assert [f.name for f in sources["nm"]] == ["lo.nmconnection"] and sources["unreadable"] == []
    sources = host.read_fact_sources(str(tmp_path), refusing(full, "read_text"))
    assert sources["nm"] == [] and sources["unreadable"] == [NM_FILE]


def test_an_unlistable_directory_is_collected_not_fatal(tmp_path):
    full = put(tmp_path, NM_FILE, "")
    sources = host.read_fact_sources(str(tmp_path), refusing(os.path.dirname(full), "listdir"))
    assert sources["nm"] == [] and sources["unreadable"] == [os.path.dirname(NM_FILE)]


def test_proc_net_route_unreadable_is_collected_missing_is_not(tmp_path):
    full = put(tmp_path, "/proc/net/route", ROUTES)
    assert host.read_default_routes(str(tmp_path), []) is not None
    unreadable = []
    assert host.read_default_routes(str(tmp_path), unreadable, refusing(full, "read_text")) is None
    assert unreadable == ["/proc/net/route"]
    os.unlink(full)
    unreadable = []
    assert host.read_default_routes(str(tmp_path), unreadable) is None and unreadable == []


def test_systemd_version_and_watch_pid_through_the_reader(tmp_path):
    lib = put(tmp_path, "/usr/lib/systemd/libsystemd-shared-252.so", "")
    assert host.systemd_version(str(tmp_path)) == 252
    assert host.systemd_version(str(tmp_path), refusing(os.path.dirname(lib), "listdir")) is None
    pid_file = put(tmp_path, host.WATCH_PID, "%d\n" % os.getpid())
    put(tmp_path, "/proc/%d/cmdline" % os.getpid(), "/usr/bin/python3\0/usr/libexec/lvs-realserver/lvs-realserver-vips\0watch\0")
    assert host.watch_running(str(tmp_path)) is True
    assert host.watch_running(str(tmp_path), refusing(pid_file, "read_text")) is False


def test_gather_facts_takes_the_clock_and_the_reader(tmp_path):
    full = put(tmp_path, NM_FILE, "[connection]\ntype=loopback\n")
    facts = host.gather_facts(PROTECTED, [], root=str(tmp_path), now=lambda: "2026-01-01T00:00:00Z",
                              reader=refusing(full, "read_text"))
    assert facts["collected_at"] == "2026-01-01T00:00:00Z"
    assert any(NM_FILE in w and "not readable" in w for w in facts["warnings"])
