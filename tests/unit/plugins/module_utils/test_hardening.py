# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 15: crash-safe writes and restores, odd things at managed paths, install directories,
the host lock, whole-string validation, the boot unit's interpreter and file markers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _files as files
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan
from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="chown to root needs root")

OLD = "# Managed by lvs.realserver\nnet.ipv4.conf.all.arp_ignore = 1\n" * 40
NEW = "# Managed by lvs.realserver\nnet.ipv4.conf.all.arp_ignore = 2\n" * 40


def run_limited(code, limit):
    """Run ``code`` in a child whose files cannot grow beyond ``limit`` bytes (EFBIG, like a full disk)."""
    prelude = textwrap.dedent("""
        import os, resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d))
        sys.path[:0] = %r
    """ % (limit, limit, sys.path))
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, check=False)


@needs_root
def test_restore_interrupted_by_a_full_disk_leaves_the_old_file(tmp_path):
    """The old restore() truncated the file in place: a failing write left it cut (issue 15, item 1)."""
    target = tmp_path / "99-zz-lvs-realserver.conf"
    target.write_text(OLD)
    done = run_limited("""
        from ansible_collections.lvs.realserver.plugins.module_utils import _files
        try:
            _files.restore(%r, %r)
        except _files.FileError as exc:
            print("FileError:", exc)
    """ % (str(target), NEW), limit=100)
    assert target.read_text() == OLD, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "FileError: cannot write %s" % target in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temp file left


@needs_root
def test_write_and_restore_fsync_the_file_and_the_directory(tmp_path):
    synced, renamed = [], []
    ops = files.os_ops()._replace(
        fsync=lambda fd: synced.append(os.readlink("/proc/self/fd/%d" % fd)) or os.fsync(fd),
        rename=lambda a, b: renamed.append((a, b)) or os.rename(a, b))
    target = tmp_path / "a.conf"
    target.write_text(OLD)
    files.restore(str(target), NEW, ops=ops)
    assert target.read_text() == NEW
    assert renamed and renamed[0][1] == str(target) and os.path.dirname(renamed[0][0]) == str(tmp_path)
    assert synced[-2].startswith(str(tmp_path / files.TEMP_PREFIX))  # the temp file, before the rename
    assert synced[-1] == str(tmp_path)  # the directory, after the rename
    files.restore(str(target), None, ops=ops)
    assert not target.exists() and synced[-1] == str(tmp_path)


@pytest.mark.parametrize("make, words", [
    (lambda p: os.symlink(str(p) + ".nowhere", str(p)), "symbolic link"),
    (lambda p: os.symlink(str(p), str(p)), "symbolic link"),
    (lambda p: os.mkdir(str(p)), "is a directory"),
    (lambda p: os.mkfifo(str(p)), "not a regular file"),
])
def test_odd_things_at_a_managed_path_are_refused_naming_it(tmp_path, make, words):
    target = tmp_path / "99-zz-lvs-realserver.conf"
    make(target)
    before = sorted(os.listdir(str(tmp_path)))
    for action in (lambda: files.read_text(str(target)), lambda: files.write_atomic(None, str(target), NEW, 0o644),
                   lambda: files.restore(str(target), NEW), lambda: files.remove(str(target))):
        with pytest.raises(files.FileError) as info:
            action()
        assert str(target) in str(info.value) and words in str(info.value)
    assert sorted(os.listdir(str(tmp_path))) == before
    assert os.path.lexists(str(target))


@needs_root
def test_temp_files_of_a_killed_run_are_swept_by_the_next_write(tmp_path):
    (tmp_path / ".lvs-realserver-abc123.tmp").write_text("half")
    (tmp_path / ".lvs-realserver-keep.conf").write_text("not ours to sweep")
    (tmp_path / "other.tmp").write_text("someone else's")
    files.write_atomic(None, str(tmp_path / "a.conf"), NEW, 0o644)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lvs-realserver-keep.conf", "a.conf", "other.tmp"]


@needs_root
def test_read_only_file_system_is_a_clear_error(tmp_path):
    target = tmp_path / "x.conf"

    def erofs(*args, **kwargs):
        raise OSError(30, "Read-only file system")
    with pytest.raises(files.FileError) as info:
        files.write_atomic(None, str(target), NEW, 0o644, ops=files.os_ops()._replace(mkstemp=erofs))
    assert str(target) in str(info.value) and "Read-only file system" in str(info.value)
    assert not target.exists()


@needs_root
@pytest.mark.parametrize("step", ["fsync", "rename"])
def test_a_write_failing_before_the_rename_leaves_the_old_file_and_no_temp_file(tmp_path, step):
    target = tmp_path / "99-zz-lvs-realserver.conf"
    target.write_text(OLD)

    def enospc(*args):
        raise OSError(28, "No space left on device")
    for action in (lambda ops: files.write_atomic(None, str(target), NEW, 0o644, ops=ops),
                   lambda ops: files.restore(str(target), NEW, ops=ops)):
        with pytest.raises(files.FileError) as info:
            action(files.os_ops()._replace(**{step: enospc}))
        assert "cannot write %s: No space left on device; it was left as it was" % target in str(info.value)
        assert target.read_text() == OLD
        assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@needs_root
def test_install_directories_are_made_root_owned_0755_or_refused(tmp_path):
    ours = tmp_path / "libexec"
    ours.mkdir()
    os.chown(str(ours), 65534, 65534)
    os.chmod(str(ours), 0o777)
    files.ensure_dir(str(ours), own=True)
    st = os.stat(str(ours))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o755)

    system = tmp_path / "system"
    system.mkdir()
    os.chmod(str(system), 0o777)
    with pytest.raises(files.FileError) as info:
        files.write_atomic(None, str(system / "unit.service"), NEW, 0o644)
    assert str(system) in str(info.value) and "writable by group or others" in str(info.value)
    assert os.listdir(str(system)) == []
    os.chmod(str(system), 0o755)
    os.chown(str(system), 65534, 0)
    with pytest.raises(files.FileError) as info:
        files.ensure_dir(str(system))
    assert "owned by uid 65534" in str(info.value)

    created = tmp_path / "new" / "deeper"
    files.ensure_dir(str(created), own=True)
    assert os.stat(str(created)).st_mode & 0o7777 == 0o755


def test_host_lock_serialises_processes_and_times_out_naming_the_lock(tmp_path):
    path = str(tmp_path / "lvs-realserver.lock")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               "f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True)\n"
                               "sys.stdin.read()", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(_runtime.LockTimeout) as info:
            _runtime.HostLock(path, timeout=0.3).acquire()
        assert path in str(info.value) and "nothing was changed" in str(info.value)
    finally:
        holder.stdin.close()
        holder.wait()
    with _runtime.HostLock(path, timeout=2):
        assert _runtime.HostLock(path, timeout=0).acquire()  # re-entrant within the process


@pytest.mark.parametrize("name", ["eth0\n", "lo\n", "eth0\r", "a\tb", "eth0 ", "\neth0"])
def test_interface_names_with_a_trailing_newline_are_refused(name):
    assert _iproute.interface_name_error(name)
    assert _sysctl_plan.conf_errors({name: {"arp_ignore": 1}})


@pytest.mark.parametrize("label", ["lo:lvs\n", "lo:lvs\r", "lo:l vs", "lo:\x00"])
def test_labels_with_a_trailing_newline_are_refused(label):
    errors, desired = _vip_plan.validate(["192.0.2.10"], "lo", "present", label, "host")
    assert desired is None and errors and repr(label) in errors[0]


@pytest.mark.parametrize("text, words", [
    ("2001:db8::10%eth0", "zone"),
    ("2001:db8::10%junk\n", "zone"),
    ("2001:db8::10%25/128", "zone"),
    ("192.0.2.10\n", "no whitespace, newline"),
    ("192.0.2.10/32\n", "no whitespace, newline"),
    ("192.0.2.10\t", "no whitespace, newline"),
])
def test_vips_with_a_zone_or_a_newline_are_refused(text, words):
    errors, desired = _vip_plan.validate([text], "lo", "present", None, "host")
    assert desired is None and repr(text) in errors[0] and words in errors[0]


def test_sysctl_path_with_a_newline_is_refused():
    assert "control character" in _sysctl_plan.path_error("/etc/sysctl.d/a\nb.conf")


@pytest.mark.parametrize("python", [
    "/usr/bin/python3\nExecStartPost=/bin/sh -c id", "/usr/bin/python3 -c x", "python3", "/usr/bin/py%n",
    "/usr/bin/python3\r", ""])
def test_render_unit_refuses_what_would_add_lines_or_words(python):
    with pytest.raises(ValueError):
        boot.render_unit(python)


def test_interpreter_must_be_absolute_existing_root_owned_and_not_writable(tmp_path):
    assert boot.interpreter_error(os.path.realpath(sys.executable) if ROOT else "/usr/bin/python3") in (None,) or not ROOT
    assert "absolute path" in boot.interpreter_error("python3")
    assert "absolute path" in boot.interpreter_error("/usr/bin/python3\nExecStartPost=/bin/id")
    assert "does not exist" in boot.interpreter_error("/nonexistent/python3")
    assert "normalized" in boot.interpreter_error("/usr/bin/../bin/python3")
    assert "not a regular file" in boot.interpreter_error("/usr/bin")
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\n")
    os.chmod(str(fake), 0o777)
    assert "writable by group or others" in boot.interpreter_error(str(fake))
    os.chmod(str(fake), 0o644)
    assert "not executable" in boot.interpreter_error(str(fake))
    if ROOT:
        os.chmod(str(fake), 0o755)
        os.chown(str(fake), 65534, 0)
        assert "owned by uid 65534" in boot.interpreter_error(str(fake))


def test_every_file_the_boot_unit_writes_carries_its_marker():
    library = dict((n, "# -*- coding: utf-8 -*-\nx = 1\n") for n in boot.LIBRARY + boot.METRICS_LIBRARY)
    wanted = boot.desired_files(["192.0.2.10"], "lo", "host", "lo:lvs", "tun", "/usr/bin/python3", library,
                                (60, boot.METRICS_DIR))
    # the .prom file is written by the installed timer, with the same marker (tests/unit/.../test_metrics.py)
    assert set(wanted) | set([boot.metrics_path(boot.METRICS_DIR)]) == set(boot.all_paths())
    for path, (text, _mode) in wanted.items():
        assert boot.is_managed(path, text), path
        assert not boot.is_managed(path, "foreign\n" + text.replace(boot.MANAGED_HEADER, "")
                                   .replace(boot.MANAGED_BY, "someone")), path
    assert _vipctl.load_data(wanted[_vipctl.DATA_FILE][0])["addresses"] == ["192.0.2.10"]
