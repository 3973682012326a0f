# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_sysctl_apply.converge with its host edges passed in (``edges=``, ``detector=``): order, rollback, runtime mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _files
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_apply as apply
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d

PATH = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
CONF = {"all": {"arp_ignore": 1, "arp_announce": 2}}
OURS = _sysctl_d.render_dropin(CONF, ("arp_ignore", "arp_announce"))
OPEN = {"all": {"arp_ignore": 0, "arp_announce": 0}}
SET = {"all": {"arp_ignore": 1, "arp_announce": 2}}


class Failed(Exception):
    pass


class Module(object):
    """What converge asks of the AnsibleModule it is given."""
    check_mode = False
    _diff = False

    def __init__(self):
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class Host(object):
    """The drop-in and /proc/sys in memory, behind ``apply.Edges``; ``log`` holds every change in order."""

    def __init__(self, text=None, kernel=None, failing=(), unremovable=False):
        self.text, self.kernel = text, dict((i, dict(v)) for i, v in (kernel or OPEN).items())
        self.failing, self.unremovable, self.log = set(failing), unremovable, []
        self.edges = apply.Edges(self.read_state, self.write_file, self.restore_file, self.remove_file,
                                 lambda directory: self.log.append(("sweep", directory)),
                                 lambda i, k: self.kernel[i][k], self.write_value, lambda pairs: [])

    def read_state(self, path):
        stat = os.stat_result((0o100644, 0, 0, 1, 0, 0, len(self.text), 0, 0, 0)) if self.text is not None else None
        return {"current_text": self.text, "file_stat": stat, "candidates": [], "sysctl_conf_text": None,
                "running": dict((i, dict(v)) for i, v in self.kernel.items())}

    def write_file(self, module, path, text):
        self.log.append(("write", path))
        self.text = text

    def restore_file(self, path, text, mode):
        self.log.append(("restore", path, text, oct(mode)))
        self.text = text

    def remove_file(self, path):
        if self.unremovable:
            raise _files.FileError("cannot remove %s: Read-only file system" % path)
        self.log.append(("remove", path))
        self.text = None

    def write_value(self, interface, key, value):
        if (interface, key) in self.failing:
            raise IOError(22, "Invalid argument")
        self.log.append(("set", interface, key, value))
        self.kernel[interface][key] = value


def converge(host, state="present", **kwargs):
    return apply.converge(Module(), state, CONF, PATH, edges=host.edges, **kwargs)


def test_present_writes_the_file_then_the_values():
    host = Host()
    result = converge(host)
    assert result["changed"] and result["file_changed"] and result["runtime"] == "applied"
    assert host.log == [("write", PATH), ("set", "all", "arp_ignore", 1), ("set", "all", "arp_announce", 2)]
    assert host.text == OURS and host.kernel == SET
    assert converge(host)["changed"] is False  # converged: the second run reads its own file and values


def test_a_value_that_cannot_be_written_puts_the_file_and_the_values_back():
    old = OURS.replace("arp_announce = 2", "arp_announce = 1")
    host = Host(text=old, failing=[("all", "arp_announce")])
    with pytest.raises(Failed) as info:
        converge(host)
    failure = info.value.args[0]
    assert "rolled back" in failure["msg"] and "net.ipv4.conf.all.arp_announce" in failure["msg"]
    assert failure["changed"] is False and failure["file_changed"] is False
    assert host.log[-2:] == [("set", "all", "arp_ignore", 0), ("restore", PATH, old, "0o644")]
    assert host.text == old and host.kernel == OPEN


def test_absent_restores_the_values_before_it_removes_the_drop_in():
    host = Host(text=OURS, kernel=SET)
    result = converge(host, "absent")
    assert result["changed"] and host.text is None and host.kernel == OPEN
    assert host.log == [("set", "all", "arp_ignore", 0), ("set", "all", "arp_announce", 0), ("remove", PATH)]


def test_absent_puts_the_values_back_when_the_drop_in_cannot_be_removed():
    host = Host(text=OURS, kernel=SET, unremovable=True)
    with pytest.raises(Failed) as info:
        converge(host, "absent")
    assert "Read-only file system" in info.value.args[0]["msg"] and info.value.args[0]["changed"] is False
    assert host.text == OURS and host.kernel == SET


def test_a_sweep_runs_only_under_the_lock():
    host = Host()
    converge(host)
    assert ("sweep", os.path.dirname(PATH)) not in host.log
    host = Host()
    converge(host, lock=object())
    assert host.log[0] == ("sweep", os.path.dirname(PATH))


@pytest.mark.parametrize("runtime, detected, writes", [
    ("auto", ["/proc/sys is mounted read-only, so the running ARP values cannot be written"], False),
    ("auto", [], True),
    ("apply", None, True),  # apply never asks: the detector would raise
    ("skip", None, False),
])
def test_the_runtime_mode_asks_the_injected_detector(runtime, detected, writes):
    def detector():
        if detected is None:
            raise AssertionError("the detector was asked for runtime=%s" % runtime)
        return list(detected)
    host = Host()
    result = converge(host, runtime=runtime, detector=detector if runtime != "skip" else None)
    assert result["runtime"] == ("applied" if writes else "skipped")
    assert host.text == OURS and (host.kernel == SET) is writes
    assert result["runtime_reasons"] == (detected or ([] if runtime != "skip" else ["runtime=skip was requested"]))


def test_the_default_edges_are_the_hosts():
    edges = apply.host_edges()
    assert (edges.read_state, edges.write_file, edges.restore_file, edges.remove_file) == (
        apply.read_state, apply.write_file, _files.restore, _files.remove)
    assert (edges.sweep_temp, edges.read_value, edges.write_value, edges.unwritable) == (
        _files.sweep_temp, _runtime.read_value, _runtime.write_value, _runtime.unwritable)


@pytest.mark.skipif(os.geteuid() != 0, reason="_files refuses a directory not owned by root")
def test_read_state_and_write_file_on_a_real_tree(tmp_path):
    """The two file edges for real below tmp_path: fsync'd and renamed into place, read back with the tree."""
    synced, owned = [], []
    ops = _files.os_ops()._replace(fsync=lambda fd: synced.append(fd) or os.fsync(fd),
                                   fchown=lambda fd, uid, gid: owned.append((uid, gid)),
                                   chown=lambda path, uid, gid: owned.append((uid, gid)))
    target = tmp_path / "etc" / "sysctl.d" / "99-zz-lvs-realserver.conf"
    target.parent.mkdir(parents=True)
    (tmp_path / "etc" / "sysctl.d" / "50-other.conf").write_text("net.ipv4.conf.all.arp_ignore = 0\n")
    for name, value in (("all", 0), ("lo", 0)):
        (tmp_path / "proc/sys/net/ipv4/conf" / name).mkdir(parents=True)
        (tmp_path / "proc/sys/net/ipv4/conf" / name / "arp_ignore").write_text("%d\n" % value)
    apply.write_file(None, str(target), OURS, ops=ops)
    assert target.read_text() == OURS and oct(target.stat().st_mode & 0o777) == "0o644"
    assert len(synced) >= 2 and owned == [(0, 0)]  # the temp file and its directory; root-owned
    assert sorted(p.name for p in target.parent.iterdir()) == ["50-other.conf", target.name]
    state = apply.read_state(str(target), root=str(tmp_path))
    assert state["current_text"] == OURS and state["file_stat"].st_size == len(OURS)
    assert sorted(c.name for c in state["candidates"]) == ["50-other.conf", target.name]
    assert state["running"] == {"all": {"arp_ignore": 0}, "lo": {"arp_ignore": 0}}
    assert state["sysctl_conf_text"] is None
    assert apply.read_state(str(tmp_path / "missing.conf"), root=str(tmp_path))["current_text"] is None
