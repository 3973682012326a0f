# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl as vipctl
from ansible_collections.lvs.realserver.plugins.module_utils._iproute import Interface, address
from ansible_collections.lvs.realserver.tests.unit.plugins.module_utils.utils import addr_json

DATA = vipctl.load_data(vipctl.render_data(["192.0.2.10/32", "2001:db8::10"], "lo", "host", "lo:lvs", "dr"))


def lo(*extra):
    return Interface("lo", True, True, False, None, None, None, [address("127.0.0.1", 8, "host")] + list(extra))


def eth0():
    return Interface("eth0", True, False, False, "veth", None, None, [address("192.0.2.21", 24)])


PROTECTED = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {}}
LEAKING = {"all": {"arp_ignore": 1, "arp_announce": 2}, "default": {}, "lo": {}, "eth0": {"arp_ignore": 4}}


def test_render_data_is_deterministic_and_normalized():
    text = vipctl.render_data(["192.0.2.10/32", "2001:db8:0::10"], "lo", "host", "lo:lvs", "dr")
    assert json.loads(text) == {"addresses": ["192.0.2.10", "2001:db8::10"], "device": "lo",
                                "label": "lo:lvs", "mode": "dr", "scope": "host"}
    assert text == vipctl.render_data(["192.0.2.10", "2001:db8::10/128"], "lo", "host", "lo:lvs", "dr")


def test_load_data_rejects_incomplete_files():
    with pytest.raises(ValueError, match="'mode'"):
        vipctl.load_data('{"addresses": [], "device": "lo", "scope": "host", "label": "lo:lvs"}')


def test_guard_passes_when_protected_and_names_the_leak_otherwise():
    assert vipctl.guard_problems(DATA, PROTECTED, [lo(), eth0()]) == []
    problems = vipctl.guard_problems(DATA, LEAKING, [lo(), eth0()])
    assert len(problems) == 1
    assert problems[0].startswith("eth0 arp_ignore: effective 4, expected 1 or 2")
    assert "net.ipv4.conf.eth0.arp_ignore = 1" in problems[0]


def test_guard_ignores_ipv6_only_data():
    data = vipctl.load_data(vipctl.render_data(["2001:db8::10"], "lo", "host", "lo:lvs", "dr"))
    assert vipctl.guard_problems(data, LEAKING, [lo(), eth0()]) == []


def test_guard_judges_the_state_after_adding_the_vips():
    """arp_announce=1 is only unsafe once a VIP sits inside eth0's subnet."""
    conf = {"all": {"arp_ignore": 1, "arp_announce": 1}, "eth0": {}}
    assert vipctl.guard_problems(DATA, conf, [lo(), eth0()])[0].startswith("eth0 arp_announce")
    off_subnet = vipctl.load_data(vipctl.render_data(["203.0.113.10"], "lo", "host", "lo:lvs", "dr"))
    assert vipctl.guard_problems(off_subnet, conf, [lo(), eth0()]) == []


def test_start_and_stop_argvs():
    assert vipctl.start_argvs(DATA, "/sbin/ip", [lo(), eth0()]) == [
        ["/sbin/ip", "-4", "addr", "replace", "192.0.2.10/32", "dev", "lo", "scope", "host", "label", "lo:lvs"],
        ["/sbin/ip", "-6", "addr", "replace", "2001:db8::10/128", "dev", "lo", "preferred_lft", "0"],
    ]
    present = lo(address("192.0.2.10", 32, "host", "lo:lvs"), address("192.0.2.99", 32))
    assert vipctl.stop_argvs(DATA, "/sbin/ip", [present, eth0()]) == [
        ["/sbin/ip", "-4", "addr", "del", "192.0.2.10/32", "dev", "lo"]]


def test_tun_start_loads_ipip_and_brings_tunl0_up():
    data = vipctl.load_data(vipctl.render_data(["192.0.2.20"], "lo", "host", "lo:lvs", "tun"))
    argvs = vipctl.start_argvs(data, "ip", [lo(), eth0()], modprobe_bin="/sbin/modprobe")
    assert argvs[:2] == [["/sbin/modprobe", "ipip"], ["ip", "link", "set", "tunl0", "up"]]
    tunl0 = Interface("tunl0", False, False, True, "ipip", None, None, [])
    assert vipctl.start_argvs(data, "ip", [lo(), tunl0], modprobe_bin="/sbin/modprobe")[0] == [
        "ip", "link", "set", "tunl0", "up"]


def run_main(argv, interfaces=None, conf=None):
    """main() with fake edges (the process, ``ip``'s listing, /proc/sys, the binaries); (status, messages, argvs run)."""
    messages, ran = [], []
    listing = addr_json(interfaces or [lo(), eth0()])
    status = vipctl.main(argv, messages.append, ran.append, lambda argv_: listing,
                         read_conf=lambda: PROTECTED if conf is None else conf, find_bin=lambda name: "/sbin/" + name)
    return status, messages, ran


def test_main_usage_and_unreadable_data(tmp_path):
    assert run_main(["bogus"])[0] == 2
    status, messages, _ran = run_main(["guard", "--data", str(tmp_path / "missing.json")])
    assert status == 2 and "cannot read" in messages[-1]


def test_main_guard_refuses_with_exit_3_then_starts_and_stops(tmp_path):
    data_file = tmp_path / "vips.json"
    data_file.write_text(vipctl.render_data(["192.0.2.10"], "lo", "host", "lo:lvs", "dr"))
    status, messages, ran = run_main(["start", "--data", str(data_file)], conf=LEAKING)
    assert status == vipctl.EXIT_REFUSED and ran == []
    assert messages[-1].startswith("refusing to add 192.0.2.10")
    status, messages, ran = run_main(["start", "--data", str(data_file)], conf=PROTECTED)
    assert status == 0 and ran[0][3] == "replace"
    present = lo(address("192.0.2.10", 32, "host", "lo:lvs"))
    status, messages, ran = run_main(["stop", "--data", str(data_file)], interfaces=[present, eth0()])
    assert status == 0 and ran == [["/sbin/ip", "-4", "addr", "del", "192.0.2.10/32", "dev", "lo"]]


def test_entry_script_holds_only_the_process_edges():
    script = vipctl.ENTRY_SCRIPT % {"python": "/usr/bin/python3"}
    assert script.startswith("#!/usr/bin/python3 -ISB\n")
    compile(script, "lvs-realserver-vips", "exec")
    assert "_vipctl.main(sys.argv[1:], log, subprocess.check_call, capture)" in script


def test_unit_is_ordered_before_the_network_and_fails_closed():
    unit = boot.render_unit("/usr/bin/python3")
    lines = unit.splitlines()
    assert "DefaultDependencies=no" in lines
    assert "After=local-fs.target systemd-sysctl.service systemd-modules-load.service" in lines
    assert "Before=network-pre.target shutdown.target" in lines
    assert "ExecStartPre=/usr/bin/python3 -I -S -B /usr/libexec/lvs-realserver/lvs-realserver-vips guard" in lines
    assert "ExecStop=/usr/bin/python3 -I -S -B /usr/libexec/lvs-realserver/lvs-realserver-vips stop" in lines
    assert not any(line.startswith("ExecStartPre=-") for line in lines)


def test_desired_files_modes_and_tun_extras():
    library = dict((n, "# %s\n" % n) for n in boot.LIBRARY)
    dr = boot.desired_files(["192.0.2.10"], "lo", "host", "lo:lvs", "dr", "/usr/bin/python3", library)
    assert dr[boot.CLI_PATH] == (vipctl.ENTRY_SCRIPT % {"python": "/usr/bin/python3"}, 0o755)
    assert dr[boot.LIBEXEC + "/_vipctl.py"] == (boot.MANAGED_HEADER + "\n# _vipctl.py\n", 0o644)
    assert boot.MODULES_LOAD_PATH not in dr
    assert set(boot.all_paths()) >= set(dr)
    tun = boot.desired_files(["192.0.2.10"], "lo", "host", "lo:lvs", "tun", "/usr/bin/python3", library)
    assert tun[boot.MODULES_LOAD_PATH][0].endswith("\nipip\n")


@pytest.mark.parametrize("args, verbs", [
    (("present", True, True, False, False, True, True),
     [["daemon-reload"], ["enable", boot.UNIT_NAME], ["start", boot.UNIT_NAME]]),
    (("present", False, True, True, True, True, True), []),
    (("present", True, False, False, False, True, True), [["enable", boot.UNIT_NAME]]),
    (("present", False, True, True, True, False, True), [["disable", boot.UNIT_NAME]]),
    (("absent", True, True, True, True, True, True),
     [["stop", boot.UNIT_NAME], ["disable", boot.UNIT_NAME], ["daemon-reload"]]),
    (("absent", False, False, False, False, True, True), []),
])
def test_systemctl_plan(args, verbs):
    assert boot.systemctl_plan(*args) == verbs


def test_diffs_summarize_shipped_code_but_show_configuration():
    code = "# -*- coding: utf-8 -*-\n" + "x = 1\n" * 40
    assert boot.diff_text(boot.LIBEXEC + "/_vipctl.py", code) == "# -*- coding: utf-8 -*-\n... lvs.realserver code, 41 lines\n"
    assert boot.diff_text(boot.LIBEXEC + "/_arp_rules.py", None) == ""
    assert boot.diff_text(boot.UNIT_PATH, "[Unit]\n") == "[Unit]\n"
