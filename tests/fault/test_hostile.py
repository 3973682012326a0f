# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hostile-input table: every module option and role variable, fed values a hostile user (or a
typo) would give. Each must be rejected cleanly: the module fails, its message names the option and
the value, it reports ``changed: false``, and nothing is changed (no file write or removal, no
directory made, no /proc write, no command run).

Module cases run through each module's ``main()`` with the edges recorded (unit level); a sample
is run again for real on a host (``test_a_sample_is_rejected_for_real``). Role variables are
checked where the role checks them (its argument spec, then the controller-side validation of the
action plugin of its one ``lvs.realserver.converge`` task, reported as ``preflight``), else by the
converge module on the host (the interpreter, which only the host can judge); the figures say
which layer rejected each.
"""

import json
import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import host as _host  # noqa: E402

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.lvs.realserver.plugins.module_utils import _files, _runtime  # noqa: E402
from ansible_collections.lvs.realserver.plugins.modules import arp_facts, arp_sysctl, boot_unit, converge, loopback_vip  # noqa: E402
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import set_module_args  # noqa: E402

MODULES = {"arp_sysctl": arp_sysctl, "loopback_vip": loopback_vip, "boot_unit": boot_unit, "arp_facts": arp_facts,
           "converge": converge}
BASE = {
    "converge": {"vips": ["192.0.2.10"], "variable_prefix": "realserver_"},
    "arp_sysctl": {},
    "loopback_vip": {"addresses": ["192.0.2.10"]},
    "boot_unit": {"addresses": ["192.0.2.10"]},
    "arp_facts": {},
}

# Interpreters that exist but must not run as root at boot
BAD_DIR = Path(tempfile.mkdtemp(prefix=_host.PREFIX + "-hostile-"))
os.chmod(BAD_DIR, 0o755)
WORLD_WRITABLE = BAD_DIR / "python-777"
NOT_ROOTS = BAD_DIR / "python-nobody"
NOT_EXEC = BAD_DIR / "python-644"
for _p, _mode in ((WORLD_WRITABLE, 0o777), (NOT_ROOTS, 0o755), (NOT_EXEC, 0o644)):
    _p.write_text("#!/bin/sh\n")
    os.chmod(_p, _mode)
if os.geteuid() == 0:
    os.chown(NOT_ROOTS, 65534, 65534)
LOOSE_DIR = BAD_DIR / "loose"
LOOSE_DIR.mkdir()
os.chmod(LOOSE_DIR, 0o777)
LINK_IN_LOOSE_DIR = LOOSE_DIR / "python3"
os.symlink("/usr/bin/python3", LINK_IN_LOOSE_DIR)

BAD_NAMES = ["eth0\n", "\neth0", "eth0 ", "eth 0", "eth0\r", "eth0\t", "a/b", "a:b", "$(id)", "eth0;reboot", "..", ".",
             "x" * 16, "", "eth0\x00", "éth0", "-", "eth0`id`"]
BAD_VIPS = ["192.0.2.10\n", "192.0.2.10\r\n", "192.0.2.10/24", "192.0.2.10/33", "192.0.2.10/", "192.0.2.10/32/32",
            "127.0.0.1", "::1", "224.0.0.1", "ff02::1", "0.0.0.0", "::", "169.254.1.1", "fe80::1", "255.255.255.255",
            "240.0.0.1", "::ffff:192.0.2.1", "2001:db8::1%eth0", "2001:db8::1%", "2001:db8::1%25lo", "2001:db8::1/64",
            "2001:db8::1/129", "x", "", "192.0.2.256", "192.0.2.10;id", "$(id)", "192.0.2.10 192.0.2.11",
            "192.0.2.010", "2001:db8::1\n"]
BAD_PYTHONS = ["python3", "/usr/bin/python3\nExecStartPost=/bin/sh -c id", "/usr/bin/python3 -c 'import os'",
               "/usr/bin/py%n", "/usr/bin/python3\r", "/nonexistent/python3", "/tmp", "/usr/bin/../bin/python3",
               str(WORLD_WRITABLE), str(NOT_ROOTS), str(NOT_EXEC), str(LINK_IN_LOOSE_DIR), "", "~/python3",
               "$HOME/python3"]
# (a NUL byte in an argument is refused by ansible-core itself before any module code runs, with a
# message about syslog that names no option, so it is not in the table)


def cases():
    table = []

    def add(module, option, value, **extra):
        args = dict(BASE[module], **extra)
        if option != "_unknown":
            path = option.split(".")
            target = args
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = value
        else:
            args["foo"] = value
        table.append((module, option.split(".")[0] if option != "_unknown" else "foo", value, args))

    # arp_sysctl
    for name in BAD_NAMES:
        add("arp_sysctl", "conf", {name: {"arp_ignore": 1}})
    for key, value in [("arp_ignore", v) for v in (4, 5, 6, 7, 9, -1, 256, "1\n2", "one", "1; id", 1.5, None)] + [
            ("arp_announce", 3), ("arp_announce", -1), ("rp_filter", 3), ("arp_filter", 2), ("accept_local", 2),
            ("arp_notify", 2), ("arp_ignorex", 1), ("arp_ignore\n", 1), ("forwarding", 1), ("", 1)]:
        add("arp_sysctl", "conf", {"all": {key: value}})
    for value in ([], "all", 1, {}, {"all": {}}, {"all": 1}, {"all": [1]}):
        add("arp_sysctl", "conf", value)
    for value in ("x.conf", "/etc/sysctl.d/../x.conf", "/etc/x.conf", "/etc/sysctl.d/x", "/etc/sysctl.d/.x.conf",
                  "/etc/sysctl.d/a\nb.conf", "/tmp/x.conf", "/etc/sysctl.d//x.conf", "/etc/sysctl.d/x.conf\n",
                  "/etc/sysctl.d/ x.conf", "/etc/sysctl.d/sub/x.conf", "/etc/sysctl.conf"):
        add("arp_sysctl", "path", value)
    for option, value in (("state", "presentx"), ("state", "present\n"), ("force", "maybe"),
                          ("backup", "2"), ("on_conflict", "ignore"), ("on_conflict", "fail\n"), ("_unknown", 1),
                          ("runtime", "sometimes"), ("runtime", "auto\n")):
        add("arp_sysctl", option, value)

    # loopback_vip
    for vip in BAD_VIPS:
        add("loopback_vip", "addresses", [vip])
    add("loopback_vip", "addresses", ["2001:db8::1"], device="tunl0")
    for device in BAD_NAMES[:12] + ["eth0", "dummy0", "lo\n", "tunl0\n"]:
        add("loopback_vip", "device", device)
    for label in ("lo:lvs\n", "lo\n", "lo", "eth0:x", "lo:" + "x" * 13, "lo:a b", "lo:$(id)", "", "lo:\t", "lo:lvs\r"):
        add("loopback_vip", "label", label)
    for option, value in (("scope", "link"), ("scope", "global\n"), ("state", "exactly"),
                          ("require_arp_protection", "maybe"), ("_unknown", "x"), ("runtime", "sometimes")):
        add("loopback_vip", option, value)

    # converge, called directly (no role: its messages name its own options)
    for python in BAD_PYTHONS:
        add("converge", "python", python, variable_prefix="")
    for device in BAD_NAMES[:6] + ["eth0"]:
        add("converge", "vip_device", device, variable_prefix="")
    add("converge", "vip_device", "tunl0", mode="dr", variable_prefix="")
    for option, value in (("mode", "nat"), ("runtime", "sometimes"), ("netstack", "wicked"), ("state", "gone"),
                          ("sysctl_on_conflict", "ignore"), ("_unknown", "x")):
        add("converge", option, value, variable_prefix="")

    # boot_unit
    for vip in BAD_VIPS[::2]:
        add("boot_unit", "addresses", [vip])
    add("boot_unit", "addresses", [])
    for device in ("eth0", "lo\n", "a/b", "$(id)"):
        add("boot_unit", "device", device)
    add("boot_unit", "device", "tunl0", mode="dr")  # tunl0 derives mode tun; an explicit dr is refused
    for label in ("lo:lvs\n", "lo", "eth0:x", "lo:a;b"):
        add("boot_unit", "label", label)
    for option, value in (("scope", "link"), ("mode", "nat"), ("state", "gone"), ("enabled", "maybe"),
                          ("start", "maybe"), ("force", "maybe"), ("_unknown", 1)):
        add("boot_unit", option, value)
    for python in BAD_PYTHONS:
        add("boot_unit", "python", python)

    # arp_facts
    for vip in BAD_VIPS[1::3]:
        add("arp_facts", "vips", [vip])
    for name in BAD_NAMES[:8]:
        add("arp_facts", "interfaces", [name])
    add("arp_facts", "mode", "nat")
    return table


CASES = cases()


class Recorder(object):
    def __init__(self, monkeypatch):
        self.calls = []
        for owner, name in ((_files, "_replace"), (_files, "remove"), (_files, "ensure_dir"), (_files, "sweep_temp"),
                            (_runtime, "write_value")):
            monkeypatch.setattr(owner, name, self.record(name), raising=False)
        monkeypatch.setattr(basic.AnsibleModule, "run_command",
                            lambda module, argv, **kw: self.calls.append(("run_command", argv)) or (0, "[]", ""))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda module, name, *a, **kw: "/testbin/" + name)
        monkeypatch.setattr(_runtime, "LOCK_PATH", str(BAD_DIR / "lock"), raising=False)

    def record(self, name):
        def fake(*args, **kwargs):
            self.calls.append((name, args))
        return fake


class Exit(Exception):
    pass


def run_main(monkeypatch, module, args):
    outcome = {}

    def exit_json(self, **kwargs):
        outcome.update(kwargs, failed=False)
        raise Exit()

    def fail_json(self, msg, **kwargs):
        outcome.update(kwargs, msg=msg, failed=True)
        raise Exit()
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    recorder = Recorder(monkeypatch)
    with set_module_args(dict(args, _ansible_check_mode=False)):
        try:
            MODULES[module].main()
        except Exit:
            pass
        except SystemExit:
            outcome.setdefault("msg", "SystemExit")
            outcome.setdefault("failed", True)
    return outcome, recorder.calls


def names_value(msg, value):
    candidates = [repr(value), str(value), json.dumps(value)]
    if isinstance(value, (list, dict)):
        for item in (value if isinstance(value, list) else list(value) + list(value.values())):
            candidates += [repr(item), str(item), json.dumps(item)]
            if isinstance(item, dict):
                candidates += [repr(k) for k in item] + [str(k) for k in item] + [repr(v) for v in item.values()]
    return any(c and c in msg for c in candidates)


@pytest.mark.parametrize("module, option, value, args", CASES,
                         ids=["%s-%s-%d" % (c[0], c[1], i) for i, c in enumerate(CASES)])
def test_hostile_module_input_is_rejected_cleanly(request, monkeypatch, figures, module, option, value, args):
    outcome, calls = run_main(monkeypatch, module, args)
    msg = outcome.get("msg", "")
    problems = []
    if not outcome.get("failed"):
        problems.append("accepted")
    if option not in msg:
        problems.append("message does not name %s" % option)
    # ansible-core names the type (or the missing key), not the value
    core_type_error = msg.startswith("argument '%s' is of type" % option) or msg.startswith("missing required arguments")
    if option != "foo" and not core_type_error and not names_value(msg, value):
        problems.append("message does not show the value")
    if outcome.get("changed"):
        problems.append("reported changed")
    if calls:
        problems.append("touched the host: %r" % (calls[:3],))
    figures.setdefault("hostile_modules", {})[request.node.callspec.id] = dict(
        by=module, ok=not problems, problem="; ".join(problems) + (" (%s)" % msg[:160] if problems else ""))
    assert not problems, "%s %s=%r: %s\n%s" % (module, option, value, "; ".join(problems), msg)


# ------------------------------------------------------------------ role variables

ROLE = HERE.parent.parent / "roles" / "realserver"
# role variable -> (module, option) the role's one task passes it to (lvs.realserver.converge, whose
# messages name the role variable: the role passes variable_prefix=realserver_)
ROLE_TO_MODULE = dict(("realserver_" + option, ("converge", option)) for option in (
    "vips", "vip_device", "vip_label", "vip_scope", "mode", "python", "arp_conf", "sysctl_path",
    "sysctl_on_conflict", "sysctl_force", "metrics", "metrics_interval", "metrics_dir", "runtime", "netstack"))
ROLE_CASES = (
    [("realserver_vips", [v]) for v in BAD_VIPS[:12]]
    + [("realserver_vip_device", v) for v in ("eth0", "lo\n", "$(id)", "a/b")]
    + [("realserver_vip_label", v) for v in ("lo:lvs\n", "lo", "lo:a b", "eth0:x")]
    + [("realserver_vip_scope", "link"), ("realserver_mode", "nat"), ("realserver_state", "gone"),
       ("realserver_sysctl_on_conflict", "ignore"), ("realserver_sysctl_force", "maybe"),
       ("realserver_boot_unit", "maybe"), ("realserver_compliance_check", "maybe"),
       ("realserver_runtime", "sometimes"), ("realserver_runtime", "auto\n"),
       ("realserver_netstack", "wicked"), ("realserver_netstack", "auto\n")]
    + [("realserver_python", v) for v in BAD_PYTHONS[:8]]
    + [("realserver_arp_conf", {"eth0\n": {"arp_ignore": 1}}), ("realserver_arp_conf", {"all": {"arp_ignore": 5}})]
    + [("realserver_sysctl_path", v) for v in ("/etc/sysctl.d/a\nb.conf", "/tmp/x.conf", "x.conf")]
    + [("realserver_metrics", "maybe"), ("realserver_metrics_interval", 0), ("realserver_metrics_interval", 86401),
       ("realserver_metrics_interval", "soon"), ("realserver_metrics_dir", "/var/lib/../tmp"),
       ("realserver_metrics_dir", "/var/lib/node exporter"), ("realserver_metrics_dir", "relative"),
       ("realserver_metrics_dir", "/")]
)


def role_spec_errors(name, value):
    import yaml
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    params = {"realserver_vips": ["192.0.2.10"], name: value}
    result = ArgumentSpecValidator(spec).validate(params)
    return [str(e) for e in result.errors]


def role_preflight_errors(name, value):
    from ansible_collections.lvs.realserver.tests.unit.test_role_preflight import preflight_errors
    kwargs = {"realserver_vips": ["192.0.2.10"], name: value}
    try:
        return preflight_errors(**kwargs)
    except Exception as exc:  # a template error on a wrong type is a rejection too
        return ["%s: %s" % (name, exc)]


@pytest.mark.parametrize("name, value", ROLE_CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(ROLE_CASES)])
def test_hostile_role_variable_is_rejected(request, monkeypatch, figures, name, value):
    layer = None
    errors = role_spec_errors(name, value)
    if errors and any(name in e for e in errors):
        layer = "argument_spec"
    elif any(name in e and names_value(e, value) for e in role_preflight_errors(name, value)):
        layer = "preflight"
    elif name in ROLE_TO_MODULE:
        module, option = ROLE_TO_MODULE[name]
        outcome, calls = run_main(monkeypatch, module, dict(BASE[module], **{option: value}))
        if outcome.get("failed") and name in outcome.get("msg", "") and names_value(outcome["msg"], value) and not calls:
            layer = "module"
    figures.setdefault("hostile_role", {})[request.node.callspec.id] = dict(by=layer or "accepted", ok=bool(layer))
    assert layer, "%s=%r is accepted by the role and by the module it reaches" % (name, value)


# ------------------------------------------------------------------ a sample for real

SAMPLE = [c for c in CASES if c[1] in ("conf", "path", "label", "device", "python", "addresses")][::9]


def test_a_sample_is_rejected_for_real(make_host, figures):
    h = make_host("hostile")
    before = dict((p, h.read(p)) for p in ("/etc/sysctl.d/99-zz-lvs-realserver.conf",
                                           "/etc/systemd/system/lvs-realserver-vips.service"))
    lo = h.lo_addresses()
    kernel = h.sysctl_get(["net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"])
    rejected, problems = 0, []
    for module, option, value, args in SAMPLE:
        result, p = h.module(module, args)
        ok = result and result.get("failed") and option in result.get("msg", "") and not result.get("changed") \
            and "Traceback" not in p.stderr
        rejected += bool(ok)
        if not ok:
            problems.append("%s %s=%r: %r" % (module, option, value, (result or {}).get("msg") or p.stderr[-200:]))
    after = dict((p, h.read(p)) for p in before)
    assert after == before and h.lo_addresses() == lo
    assert h.sysctl_get(list(kernel)) == kernel
    assert not any(n.startswith(".lvs-realserver-") for n in os.listdir(h.path("/etc/sysctl.d")))
    figures["hostile_real_sample"] = dict(tried=len(SAMPLE), rejected=rejected, problems=problems)
    assert rejected == len(SAMPLE), "\n".join(problems)


def teardown_module(module):
    for p in (NOT_ROOTS,):
        if p.exists():
            os.chmod(p, stat.S_IRWXU)
