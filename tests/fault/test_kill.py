# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGKILL at every write-class syscall of a module run, rollbacks included (strace fault injection).

For each scenario: one traced run (``strace -y``, the module process only, not its children)
lists the write-class syscalls that touch a managed path (/etc/sysctl.d, the boot unit's files,
/proc/sys/net). Then, for each of them, the host is reset to the scenario's starting state and the
module run again with ``strace --inject=SYSCALL:signal=KILL:when=N``, which kills it on entry to
exactly that call. Afterwards every managed file must hold its old text or its new text, never
anything else, and the next run (no fault) must succeed and converge to the state a clean run gives.

The rollback scenario makes the kernel write fail (``openat`` of /proc/sys gets EACCES) so that the
module restores the drop-in, and kills it at each write-class syscall of that restore.

``LVSH_FULL=1`` kills at every point of the boot unit's library files too (by default the second to
fourth library file, written by the same code as the first, are left out to keep the tier short).
"""

import os
import re

import pytest

DROPIN = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
UNIT_FILES = ["/etc/lvs-realserver/vips.json", "/etc/systemd/system/lvs-realserver-vips.service",
              "/usr/libexec/lvs-realserver/lvs-realserver-vips", "/usr/libexec/lvs-realserver/_arp_rules.py",
              "/usr/libexec/lvs-realserver/_iproute.py", "/usr/libexec/lvs-realserver/_runtime.py",
              "/usr/libexec/lvs-realserver/_vipctl.py"]
KEYS = ["net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce", "net.ipv4.conf.all.rp_filter"]
SYSCALLS = ("openat,write,pwrite64,rename,renameat,renameat2,fsync,fdatasync,unlink,unlinkat,fchmod,fchown,"
            "chmod,chown,mkdir,rmdir,ftruncate,truncate")
MANAGED = re.compile(r"/etc/(sysctl\.d|systemd/system|lvs-realserver|modules-load\.d)|/usr/libexec/lvs-realserver"
                     r"|/proc/sys/net/")
CALL = re.compile(r"^(?:\d+ +)?([a-z0-9_]+)\((.*)")
FULL = os.environ.get("LVSH_FULL") == "1"

OLD_DROPIN_CONF = {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 1}}
NEW_DROPIN_CONF = {"all": {"arp_ignore": 2, "arp_announce": 2, "rp_filter": 0}}


def write_class(name, rest):
    if name == "openat":
        return bool(re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", rest.split(")", 1)[0] if ")" in rest else rest))
    return True


TMP = re.compile(r"\.lvs-realserver-[A-Za-z0-9_]+\.tmp")


def points(trace_text, after_index=0, skip=()):
    """``[(syscall, n, line)]``: the n-th call of ``syscall`` (as strace counts) that writes managed state.

    ``skip``: leave out the points that belong to the files ending so (their temp file, its rename and
    the directory fsync after it).
    """
    lines = trace_text.splitlines()
    destination = {}
    for line in lines:
        m = re.match(r'^(?:\d+ +)?rename\("([^"]+)", "([^"]+)"', line)
        if m:
            destination[os.path.basename(m.group(1))] = m.group(2)
    counts, found, last_dest = {}, [], None
    for index, line in enumerate(lines):
        m = CALL.match(line)
        if not m:
            continue
        name, rest = m.groups()
        counts[name] = counts.get(name, 0) + 1
        tmp = TMP.search(rest)
        dest = destination.get(tmp.group(0)) if tmp else last_dest
        if name == "rename":
            last_dest = dest
        if index < after_index or not MANAGED.search(rest) or not write_class(name, rest):
            continue
        if dest and any(dest.endswith(s) for s in skip):
            continue
        found.append((name, counts[name], line))
    return found


def without_openat(targets):
    """strace keeps one injection per syscall: with the EACCES injection on openat, openat cannot be killed too."""
    return [t for t in targets if t[0] != "openat"]


class Scenario(object):
    def __init__(self, name, module, args, files, setup, inject_error=None, skip=()):
        self.name, self.module, self.args, self.files = name, module, args, files
        self.setup, self.inject_error, self.skip = setup, inject_error, skip


def snapshot(h, files):
    return dict((path, h.read(path)) for path in files)


def leftovers(h):
    found = []
    for d in ("/etc/sysctl.d", "/etc/systemd/system", "/etc/lvs-realserver", "/usr/libexec/lvs-realserver"):
        p = h.path(d)
        if p.is_dir():
            found += [os.path.join(d, n) for n in os.listdir(p) if n.startswith(".lvs-realserver-")]
    return found


def reset(h, old_files, kernel):
    for path in UNIT_FILES + [DROPIN] + leftovers(h):
        p = h.path(path)
        if os.path.lexists(p):
            os.unlink(p)
    for path, text in old_files.items():
        if text is not None:
            p = h.path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            os.chmod(p, 0o755 if path.endswith("-vips") else 0o644)
    h.sysctl_set(kernel)


def old_dropin(h):
    result, p = h.module("arp_sysctl", {"conf": OLD_DROPIN_CONF})
    assert result and not result.get("failed"), p.stdout + p.stderr
    return h.read(DROPIN)


def run_scenario(h, sc, figures):
    old_files, kernel = sc.setup(h)
    reset(h, old_files, kernel)
    # the reference: a clean run from the starting state
    ref, p = h.module(sc.module, sc.args)
    assert ref and not ref.get("failed"), p.stdout + p.stderr
    new_files, new_kernel = snapshot(h, sc.files), h.sysctl_get(KEYS)

    reset(h, old_files, kernel)
    trace = h.dir / "work" / ("trace-" + sc.name)
    prefix = ["strace", "-o", str(trace), "-qq", "-y", "-e", "trace=" + SYSCALLS]
    after = 0
    if sc.inject_error:
        prefix += ["-e", "inject=%s" % sc.inject_error]
    result, p = h.module(sc.module, sc.args, prefix=prefix)
    text = trace.read_text()
    if sc.inject_error:
        assert result and result.get("failed") and "rolled back" in result["msg"], (result, p.stderr)
        rollback_changed = result["changed"]
        assert snapshot(h, sc.files) == old_files, "the rollback did not restore the old files"
        lines = text.splitlines()
        after = next(i for i, line in enumerate(lines) if "EACCES (Permission denied) (INJECTED)" in line) + 1
    targets = points(text, after, sc.skip)
    if sc.inject_error:
        targets = without_openat(targets)
    assert targets, "no write-class syscall found in the trace of %s" % sc.name

    stats = dict(tried=0, intact=0, killed=0, converged=0, temp_files_left=0, failures=[])
    if sc.inject_error and rollback_changed is not False:
        stats["failures"].append("a rolled-back run reported changed: %r" % rollback_changed)
    for name, n, line in targets:
        reset(h, old_files, kernel)
        inject = ["-e", "inject=%s:signal=KILL:when=%d" % (name, n)]
        if sc.inject_error:
            inject += ["-e", "inject=%s" % sc.inject_error]
        killed_trace = h.dir / "work" / "killed"
        strace = ["strace", "-o", str(killed_trace), "-qq", "-y", "-e", "trace=" + SYSCALLS] + inject
        result, p = h.module(sc.module, sc.args, prefix=strace)
        stats["tried"] += 1
        last = [x for x in killed_trace.read_text().splitlines() if CALL.match(x)]
        killed = result is None and last and last[-1].startswith(name + "(")
        stats["killed"] += bool(killed)
        if not killed:
            stats.setdefault("not_killed", []).append("%s #%d: %s" % (name, n, line[:100]))
        now = snapshot(h, sc.files)
        cut = [path for path in sc.files if now[path] not in (old_files.get(path), new_files[path])]
        if cut:
            stats["failures"].append("%s #%d (%s): %s neither old nor new: %r" % (
                name, n, line[:90], ", ".join(cut), dict((c, (now[c] or "")[:80]) for c in cut)))
        else:
            stats["intact"] += 1
        stats["temp_files_left"] += len(leftovers(h))
        after_run, p = h.module(sc.module, sc.args)
        stats["temp_files_after_rerun"] = stats.get("temp_files_after_rerun", 0) + len(leftovers(h))
        if after_run and not after_run.get("failed") and snapshot(h, sc.files) == new_files \
                and h.sysctl_get(KEYS) == new_kernel:
            stats["converged"] += 1
        else:
            stats["failures"].append("%s #%d: the next run did not converge: %s" % (
                name, n, (after_run or {}).get("msg") or p.stderr[-300:]))
    figures.setdefault("kill", {})[sc.name] = stats
    return stats


def fresh(h):
    return {DROPIN: None}, {KEYS[0]: 0, KEYS[1]: 0, KEYS[2]: 0}


def changing(h):
    text = old_dropin(h)
    return {DROPIN: text}, {KEYS[0]: 1, KEYS[1]: 2, KEYS[2]: 1}


def no_unit(h):
    return dict((path, None) for path in UNIT_FILES), {KEYS[0]: 1, KEYS[1]: 2, KEYS[2]: 0}


SCENARIOS = [
    Scenario("arp_sysctl-fresh", "arp_sysctl", {"conf": OLD_DROPIN_CONF}, [DROPIN], fresh),
    Scenario("arp_sysctl-change", "arp_sysctl", {"conf": NEW_DROPIN_CONF}, [DROPIN], changing),
    Scenario("arp_sysctl-absent", "arp_sysctl", {"state": "absent"}, [DROPIN], changing),
    # the kernel write fails (EACCES on opening /proc/sys/.../arp_ignore for writing): the drop-in is restored
    Scenario("arp_sysctl-rollback", "arp_sysctl", {"conf": NEW_DROPIN_CONF}, [DROPIN], changing,
             inject_error="openat:error=EACCES:when=%d"),
    Scenario("boot_unit-install", "boot_unit", {"addresses": ["192.0.2.10"]}, UNIT_FILES, no_unit),
]


def rollback_openat(h, sc):
    """The n of the openat that opens /proc/sys/.../arp_ignore for writing, from a traced clean run."""
    old_files, kernel = sc.setup(h)
    reset(h, old_files, kernel)
    trace = h.dir / "work" / "trace-find"
    h.module(sc.module, sc.args, prefix=["strace", "-o", str(trace), "-qq", "-y", "-e", "trace=" + SYSCALLS])
    for name, n, line in points(trace.read_text()):
        if name == "openat" and "/proc/sys/net/ipv4/conf/all/arp_ignore" in line:
            return n
    raise AssertionError("no write open of arp_ignore in the trace")


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_sigkill_at_every_write_class_syscall(make_host, figures, sc):
    h = make_host("k" + str(SCENARIOS.index(sc)))
    if sc.inject_error:
        sc = Scenario(sc.name, sc.module, sc.args, sc.files, sc.setup,
                      inject_error=sc.inject_error % rollback_openat(h, sc))
    if sc.module == "boot_unit" and not FULL:
        sc = Scenario(sc.name, sc.module, sc.args, sc.files, sc.setup, skip=("/_iproute.py", "/_runtime.py", "/_vipctl.py"))
    stats = run_scenario(h, sc, figures)
    assert stats["tried"] >= 5
    assert not stats["failures"], "\n".join(stats["failures"])
    assert stats["intact"] == stats["tried"] and stats["converged"] == stats["tried"]
    assert stats["temp_files_after_rerun"] == 0, "the rerun left a killed run's temp files behind"
    assert stats["killed"] >= stats["tried"] - 1, stats  # the kill hit the syscall it aimed at
