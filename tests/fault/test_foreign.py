# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The foreign-file matrix: for every path a module writes, a file that the module did not write is
never overwritten (state=present) nor deleted (state=absent) without ``force``, and nothing else is
changed by the refused run; with ``force`` it is replaced, or removed. Real module runs on a host.

Also the odd things at a managed path (dangling symlink, symlink loop, directory): a clear error
naming the path, no traceback, nothing changed.
"""

import os

import pytest

DROPIN = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
UNIT_PATHS = ["/etc/lvs-realserver/vips.json", "/etc/systemd/system/lvs-realserver-vips.service",
              "/etc/modules-load.d/lvs-realserver.conf", "/usr/libexec/lvs-realserver/lvs-realserver-vips",
              "/usr/libexec/lvs-realserver/_arp_rules.py", "/usr/libexec/lvs-realserver/_iproute.py",
              "/usr/libexec/lvs-realserver/_runtime.py", "/usr/libexec/lvs-realserver/_vipctl.py"]
FOREIGN = "# written by the local administrator, not by lvs.realserver\nkeep = me\n"
PRESENT = {"arp_sysctl": {}, "boot_unit": {"addresses": ["192.0.2.10"], "mode": "tun"}}


def module_of(path):
    return "arp_sysctl" if path == DROPIN else "boot_unit"


def all_paths():
    return [DROPIN] + UNIT_PATHS


def plant(h, path, text=FOREIGN):
    p = h.path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(p):
        os.unlink(p)
    p.write_text(text)


def clear(h):
    for path in all_paths():
        if os.path.lexists(h.path(path)):
            os.unlink(h.path(path))


def others(h, path):
    return dict((other, h.read(other)) for other in all_paths() if other != path)


@pytest.mark.parametrize("path", all_paths())
def test_a_foreign_file_is_kept_without_force_and_replaced_with_it(make_host, figures, path):
    h = make_host("f%d" % all_paths().index(path))
    module = module_of(path)
    counts = {"cases": 0, "kept": 0, "replaced_with_force": 0, "removed_with_force": 0}
    problems = []
    for state in ("present", "absent"):
        clear(h)
        plant(h, path)
        before = others(h, path)
        args = dict(PRESENT[module]) if state == "present" else {"state": "absent"}
        result, p = h.module(module, args)
        counts["cases"] += 1
        if h.read(path) == FOREIGN and others(h, path) == before:
            counts["kept"] += 1
        else:
            problems.append("%s state=%s: the foreign file was changed (now %r)" % (path, state, h.read(path)))
        if not (result and result.get("failed") and path in result.get("msg", "") and "force" in result["msg"]):
            problems.append("%s state=%s: no clear refusal: %r" % (path, state, (result or {}).get("msg") or p.stderr[-300:]))
        if "Traceback" in p.stderr or "Traceback" in (result or {}).get("module_stderr", ""):
            problems.append("%s state=%s: traceback" % (path, state))

    clear(h)
    plant(h, path)
    result, p = h.module(module, dict(PRESENT[module], force=True))
    if result and not result.get("failed") and h.read(path) not in (None, FOREIGN):
        counts["replaced_with_force"] += 1
    else:
        problems.append("%s: force did not replace it: %r" % (path, (result or {}).get("msg") or p.stderr[-300:]))
    plant(h, path)
    result, p = h.module(module, {"state": "absent", "force": True})
    if result and not result.get("failed") and h.read(path) is None:
        counts["removed_with_force"] += 1
    else:
        problems.append("%s: force did not remove it: %r" % (path, (result or {}).get("msg") or p.stderr[-300:]))
    counts["problems"] = problems
    figures.setdefault("foreign", {})[path] = counts
    assert not problems, "\n".join(problems)


ODD = {
    "dangling symlink": lambda p: os.symlink("/nonexistent/lvsh-target", p),
    "symlink loop": lambda p: os.symlink(os.path.basename(p), p),
    "directory": os.mkdir,
}


@pytest.mark.parametrize("kind", sorted(ODD))
def test_odd_things_at_managed_paths_are_clear_errors_with_nothing_changed(make_host, figures, kind):
    h = make_host("odd%d" % sorted(ODD).index(kind))
    problems = []
    for path in (DROPIN, "/etc/systemd/system/lvs-realserver-vips.service", "/usr/libexec/lvs-realserver/_vipctl.py"):
        clear(h)
        target = h.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        ODD[kind](str(target))
        module = module_of(path)
        for args in (PRESENT[module], {"state": "absent"}):
            result, p = h.module(module, args)
            msg = (result or {}).get("msg", "")
            if not (result and result.get("failed") and path in msg and "Traceback" not in p.stderr + msg
                    and "module_stderr" not in result):
                problems.append("%s at %s %r: %r" % (kind, path, args, msg or p.stderr[-300:]))
            if not os.path.lexists(target) or (kind == "directory") != os.path.isdir(target):
                problems.append("%s at %s was changed" % (kind, path))
            if result and result.get("changed"):
                problems.append("%s at %s reported changed" % (kind, path))
        if os.path.isdir(target) and not os.path.islink(target):
            os.rmdir(target)
        else:
            os.unlink(target)
    figures.setdefault("odd_paths", {})[kind] = "ok" if not problems else problems
    assert not problems, "\n".join(problems)
