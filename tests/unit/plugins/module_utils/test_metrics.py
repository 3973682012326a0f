# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The metrics exposition (_metrics), the controller's metrics command and the timer's files and plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _facts
from ansible_collections.lvs.realserver.plugins.module_utils import _metrics as metrics
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl as vipctl
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address, parse_addr_json
from ansible_collections.lvs.realserver.tests.unit.plugins.module_utils.utils import addr_json

DATA = vipctl.load_data(vipctl.render_data(["192.0.2.10", "2001:db8::10"], "lo", "host", "lo:lvs", "dr"))
PROTECTED = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {}}
LEAKING = {"all": {"arp_ignore": 0, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {}}
DROPIN = sysctl_d.ConfigFile("/etc/sysctl.d", "99-zz-lvs-realserver.conf", False,
                             "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n")
UNDO = sysctl_d.ConfigFile("/etc/sysctl.d", "zzz-undo.conf", False, "net.ipv4.conf.all.arp_ignore = 0\n")


def lo(*vips):
    return Interface("lo", True, True, False, None, None, None,
                     [address("127.0.0.1", 8, "host")] + [address(v, 32 if "." in v else 128, "host") for v in vips])


def eth0():
    return Interface("eth0", True, False, False, "veth", None, None, [address("192.0.2.21", 24)])


def test_escape_label_escapes_backslash_quote_and_newline():
    assert metrics.escape_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert metrics.escape_label(None) == "None"


def test_render_is_exact_with_help_type_and_sorted_samples():
    found = {"compliant": False, "boot_compliant": True,
             "violations": [(("arp_ignore_leak", "eth0"), 1), (("vip_exposed", ""), 1)],
             "boot_violations": [],
             "vips": [("192.0.2.10", True), ("2001:db8::10", False)]}
    text = metrics.render(found, 1796293733.9)
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert samples == [
        "lvs_realserver_compliant 0",
        "lvs_realserver_boot_compliant 1",
        'lvs_realserver_violation{code="arp_ignore_leak",interface="eth0"} 1',
        'lvs_realserver_violation{code="vip_exposed",interface=""} 1',
        'lvs_realserver_vip_present{vip="192.0.2.10"} 1',
        'lvs_realserver_vip_present{vip="2001:db8::10"} 0',
        "lvs_realserver_check_timestamp_seconds 1796293733",
    ]
    assert text.splitlines()[0] == metrics.HEADER == boot.MANAGED_HEADER
    for name, _help in metrics.SERIES:
        assert "# HELP %s " % name in text and "# TYPE %s gauge\n" % name in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_render_escapes_label_values():
    found = {"compliant": False, "boot_compliant": False, "violations": [(('odd"code', "eth\\0\n"), 2)],
             "boot_violations": [], "vips": []}
    assert 'lvs_realserver_violation{code="odd\\"code",interface="eth\\\\0\\n"} 2\n' in metrics.render(found, 0)


def facts_of(conf, interfaces, candidates, expected):
    report = _facts.assemble(conf, interfaces, "dr", expected, candidates=candidates)
    return report["compliant"], report["at_boot"]["compliant"], sorted(set(
        (v["code"], v["interface"] or "") for v in report["violations"]))


@pytest.mark.parametrize("conf, interfaces, candidates, want", [
    (PROTECTED, [lo("192.0.2.10", "2001:db8::10"), eth0()], [DROPIN], (True, True)),
    (LEAKING, [lo("192.0.2.10", "2001:db8::10"), eth0()], [DROPIN], (False, True)),
    (PROTECTED, [lo("192.0.2.10", "2001:db8::10"), eth0()], [DROPIN, UNDO], (True, False)),
    (PROTECTED, [lo("192.0.2.10"), eth0()], [DROPIN], (False, False)),  # a VIP missing (now and after the boot)
    (PROTECTED, [lo("192.0.2.10", "2001:db8::10"), eth0()], [], (True, False)),  # nothing in sysctl.d
], ids=["compliant", "runtime-drift", "boot-drift", "vip-missing", "no-dropin"])
def test_evaluate_agrees_with_arp_facts(conf, interfaces, candidates, want):
    found = metrics.evaluate(DATA, conf, interfaces, candidates)
    compliant, at_boot, violations = facts_of(conf, interfaces, candidates, DATA["addresses"])
    assert (found["compliant"], found["boot_compliant"]) == want == (compliant, at_boot)
    assert [labels for labels, _count in found["violations"]] == violations


def test_evaluate_reports_each_vip():
    found = metrics.evaluate(DATA, PROTECTED, [lo("192.0.2.10"), eth0()], [DROPIN])
    assert found["vips"] == [("192.0.2.10", True), ("2001:db8::10", False)]
    assert (("vip_missing", ""), 1) in found["violations"]


def test_write_atomic_replaces_and_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / "sub" / metrics.PROM_NAME)
    metrics.write_atomic(path, "one\n")
    metrics.write_atomic(path, "two\n")
    assert open(path).read() == "two\n" and os.stat(path).st_mode & 0o777 == 0o644
    assert os.listdir(str(tmp_path / "sub")) == [metrics.PROM_NAME]


def test_write_atomic_keeps_the_old_file_when_the_rename_fails(tmp_path):
    path = str(tmp_path / metrics.PROM_NAME)
    metrics.write_atomic(path, "old\n")

    def broken(_src, _dst):
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        metrics.write_atomic(path, "new\n", rename=broken)
    assert open(path).read() == "old\n" and os.listdir(str(tmp_path)) == [metrics.PROM_NAME]


def test_foreign(tmp_path):
    path = str(tmp_path / metrics.PROM_NAME)
    assert not metrics.foreign(path)
    open(path, "w").write("my_metric 1\n")
    assert metrics.foreign(path)
    open(path, "w").write(metrics.HEADER + "\nx 1\n")
    assert not metrics.foreign(path)


@pytest.mark.parametrize("argv, parsed", [
    (["guard"], ("guard", vipctl.DATA_FILE, None)),
    (["start", "--data", "/x.json"], ("start", "/x.json", None)),
    (["metrics", "--out", "/d/lvs_realserver.prom"], ("metrics", vipctl.DATA_FILE, "/d/lvs_realserver.prom")),
    (["metrics", "--data", "/x.json", "--out", "/o.prom"], ("metrics", "/x.json", "/o.prom")),
    (["metrics"], None),
    (["guard", "--out", "/o.prom"], None),
    (["start", "--data"], None),
    (["bogus"], None),
    ([], None),
])
def test_parse_args(argv, parsed):
    assert vipctl.parse_args(argv) == parsed


@pytest.mark.parametrize("candidates, boot_compliant", [([DROPIN], 1), ([DROPIN, UNDO], 0)])
def test_main_metrics_writes_the_file_and_refuses_a_foreign_one(tmp_path, candidates, boot_compliant):
    data_file = tmp_path / "vips.json"
    data_file.write_text(vipctl.render_data(["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    out = str(tmp_path / metrics.PROM_NAME)
    logged = []
    listing = addr_json([lo("192.0.2.10"), eth0()])
    assert parse_addr_json(listing) == [lo("192.0.2.10"), eth0()]
    edges = dict(read_conf=lambda: PROTECTED, find_bin=lambda name: "/sbin/" + name,
                 read_candidates=lambda unreadable: list(candidates))
    argv = ["metrics", "--data", str(data_file), "--out", out]
    assert vipctl.main(argv, logged.append, None, lambda a: listing, now=lambda: 1000, **edges) == 0
    text = open(out).read()
    assert "lvs_realserver_compliant 1\n" in text and "lvs_realserver_boot_compliant %d\n" % boot_compliant in text
    assert "lvs_realserver_check_timestamp_seconds 1000\n" in text
    open(out, "w").write("someone_else 1\n")
    assert vipctl.main(argv, logged.append, None, lambda a: listing, now=lambda: 1001, **edges) == 2
    assert open(out).read() == "someone_else 1\n" and "not written by lvs.realserver" in logged[-1]


def test_main_metrics_names_an_unreadable_sysctl_file_and_still_writes(tmp_path):
    """An unreadable sysctl.d file used to raise out of the metrics timer; it is now logged and left out."""
    tree = tmp_path / "etc" / "sysctl.d"
    tree.mkdir(parents=True)
    (tree / DROPIN.name).write_text(DROPIN.text)
    (tree / "50-secret.conf").symlink_to("/proc/self/mem")  # a regular file whose read fails (EIO)
    data_file = tmp_path / "vips.json"
    data_file.write_text(vipctl.render_data(["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    out = str(tmp_path / "out" / metrics.PROM_NAME)
    logged = []
    listing = addr_json([lo("192.0.2.10"), eth0()])
    edges = dict(read_conf=lambda: PROTECTED, find_bin=lambda name: "/sbin/" + name,
                 read_candidates=functools.partial(sysctl_d.read_candidates, str(tmp_path)))
    argv = ["metrics", "--data", str(data_file), "--out", out]
    assert vipctl.main(argv, logged.append, None, lambda a: listing, now=lambda: 1000, **edges) == 0
    assert logged == ["cannot read /etc/sysctl.d/50-secret.conf: the boot verdict leaves it out"]
    assert "lvs_realserver_boot_compliant 1\n" in open(out).read()


@pytest.mark.parametrize("interval, directory, fragments", [
    (60, boot.METRICS_DIR, []),
    (0, boot.METRICS_DIR, ["metrics_interval: 0 must be a whole number of seconds from 1 to 86400"]),
    (True, boot.METRICS_DIR, ["metrics_interval: True"]),
    (86401, boot.METRICS_DIR, ["metrics_interval: 86401"]),
    (60, "relative/dir", ["metrics_dir: 'relative/dir' must be"]),
    (60, "/var/lib/../tmp", ["metrics_dir: '/var/lib/../tmp'"]),
    (60, "/var/lib/a b", ["metrics_dir: '/var/lib/a b'"]),
    (60, "/", ["metrics_dir: '/'"]),
])
def test_metrics_errors_name_the_option_and_value(interval, directory, fragments):
    errors = boot.metrics_errors(interval, directory)
    assert len(errors) == len(fragments)
    for error, fragment in zip(errors, fragments):
        assert error.startswith(fragment)
    assert all(e.startswith("boot_unit_metrics_") for e in boot.metrics_errors(interval, directory, "boot_unit_"))


def test_timer_and_service_files():
    service = boot.render_metrics_service("/usr/bin/python3", "/var/lib/prometheus/node-exporter/lvs_realserver.prom")
    assert ("ExecStart=/usr/bin/python3 -I -S -B /usr/libexec/lvs-realserver/lvs-realserver-vips metrics "
            "--out /var/lib/prometheus/node-exporter/lvs_realserver.prom") in service.splitlines()
    assert boot.installed_metrics_path(service) == "/var/lib/prometheus/node-exporter/lvs_realserver.prom"
    assert boot.installed_metrics_path(None) is None
    timer = boot.render_metrics_timer(5).splitlines()
    assert "OnBootSec=5s" in timer and "OnUnitActiveSec=5s" in timer and "Unit=" + boot.METRICS_SERVICE in timer
    assert boot.is_managed(boot.METRICS_TIMER_PATH, "\n".join(timer))
    with pytest.raises(ValueError):
        boot.render_metrics_service("/usr/bin/python3", "/tmp/a b.prom")


T, S = boot.METRICS_TIMER, boot.METRICS_SERVICE


@pytest.mark.parametrize("want, changed, running, enabled, active, verbs", [
    (True, True, True, False, False, [["enable", T], ["start", S], ["start", T]]),
    (True, False, True, True, True, []),
    (True, True, True, True, True, [["start", S], ["restart", T]]),
    (True, True, False, False, False, [["enable", T]]),
    (False, False, True, True, True, [["stop", T], ["disable", T]]),
    (False, False, True, False, False, []),
    (False, False, False, True, False, [["disable", T]]),
])
def test_metrics_plan(want, changed, running, enabled, active, verbs):
    assert boot.companion_plan(T, want, changed, running, enabled, active, run_first=S) == verbs


def test_the_installed_library_gives_the_metrics_command_its_sysctl_d_reader(tmp_path):
    # as the boot unit installs it (LIBRARY + METRICS_LIBRARY in one directory, imported without the collection),
    # the metrics command's default reader is the library's own _sysctl_d (a regression once left it unimported)
    import shutil
    import subprocess
    import sys
    here = os.path.dirname(vipctl.__file__)
    for name in boot.LIBRARY + boot.METRICS_LIBRARY:
        shutil.copy(os.path.join(here, name), str(tmp_path))
    probe = ("import _vipctl; lib = _vipctl.metrics_library(); "
             "print(lib.sysctl_d.read_candidates.__module__, lib.sysctl_d.__file__.startswith(%r))" % str(tmp_path))
    out = subprocess.run([sys.executable, "-c", probe], cwd=str(tmp_path), capture_output=True, text=True, check=False,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["_sysctl_d", "True"]
