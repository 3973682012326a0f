# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A throwaway "host" for the fault-injection tier: a network namespace plus a private mount
namespace, held open by a sleeper process, in which the modules run for real as root.

Inside the host:
    /etc          an overlay on the machine's /etc (upper layer in the host's temp dir), so the
                  modules write /etc/sysctl.d, /etc/systemd/system, /etc/modules-load.d and
                  /etc/lvs-realserver for real without touching the machine's files
    /usr/libexec  the same, for /usr/libexec/lvs-realserver
    /run          a private tmpfs (the host lock /run/lvs-realserver.lock; no systemd runs here)
    /usr/bin/systemctl  a stub that records its calls and answers "disabled"/"inactive"
Outside, ``Host.path("/etc/x")`` is the file as the host sees it (through /proc/PID/root).
Everything is named with ``PREFIX`` and removed by ``Host.close`` (the sleeper killed by pid).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PREFIX = "lvsh%05d" % (os.getpid() % 100000)
PYTHON = os.environ.get("LVS_PYTHON") or str(REPO / ".venv" / "bin" / "python")
# The collection under test (a checkout of another revision for negative controls).
COLLECTION = Path(os.environ.get("LVSH_COLLECTION") or REPO).resolve()

SYSTEMCTL_STUB = r"""#!/bin/sh
echo "$*" >> /run/systemctl-calls
case "$1" in
  is-enabled) echo disabled; exit 1 ;;
  is-active) echo inactive; exit 3 ;;
esac
exit 0
"""

_SETUP_SH = r"""
set -e
d=$1
mount -t overlay -o "lowerdir=/etc,upperdir=$d/etc.up,workdir=$d/etc.work" lvsh-etc /etc
mount -t overlay -o "lowerdir=/usr/libexec,upperdir=$d/libexec.up,workdir=$d/libexec.work" lvsh-libexec /usr/libexec
mount -t tmpfs -o mode=0755,size=16m lvsh-run /run
mount --bind "$d/systemctl" /usr/bin/systemctl
echo ready
exec sleep 100000
"""


def _run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, check=kw.pop("check", True), **kw)


def collections_dir(base: Path) -> Path:
    link = base / "colls" / "ansible_collections" / "lvs" / "realserver"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(COLLECTION, target_is_directory=True)
    return base / "colls"


class Host:
    """One simulated real server; use as a context manager."""

    def __init__(self, name: str, veth: bool = True):
        self.name = "%s-%s" % (PREFIX, name)
        self.dir = Path(tempfile.mkdtemp(prefix=self.name + "-"))
        os.chmod(self.dir, 0o755)
        for sub in ("etc.up", "etc.work", "libexec.up", "libexec.work", "work"):
            (self.dir / sub).mkdir()
        stub = self.dir / "systemctl"
        stub.write_text(SYSTEMCTL_STUB)
        stub.chmod(0o755)
        self.colls = collections_dir(self.dir)
        self.sleeper = None
        _run(["ip", "netns", "add", self.name])
        try:
            _run(["ip", "-n", self.name, "link", "set", "lo", "up"])
            if veth:
                _run(["ip", "-n", self.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
                _run(["ip", "-n", self.name, "addr", "add", "198.51.100.21/24", "dev", "eth0"])
                _run(["ip", "-n", self.name, "link", "set", "eth0", "up"])
                _run(["ip", "-n", self.name, "link", "set", "eth1", "up"])
            self.sleeper = subprocess.Popen(
                ["ip", "netns", "exec", self.name, "unshare", "-m", "--propagation", "private",
                 "sh", "-c", _SETUP_SH, "lvsh-setup", str(self.dir)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
            line = self.sleeper.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError("host setup failed: %s" % self.sleeper.stderr.read())
            self.pid = self._sleep_pid()
        except BaseException:
            self.close()
            raise

    def _sleep_pid(self) -> int:
        # unshare execs sh which execs sleep: the Popen pid is the one in the new mount namespace
        deadline = time.time() + 5
        while time.time() < deadline:
            exe = os.readlink("/proc/%d/exe" % self.sleeper.pid)
            if exe.endswith("/sleep"):
                return self.sleeper.pid
            time.sleep(0.02)
        raise RuntimeError("sleeper did not start")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sleeper is not None and self.sleeper.poll() is None:
            os.kill(self.sleeper.pid, signal.SIGKILL)
            self.sleeper.wait()
        _run(["ip", "netns", "del", self.name], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ inside
    def argv(self, argv):
        return ["nsenter", "--target", str(self.pid), "--mount", "--net", "--"] + [str(a) for a in argv]

    def run(self, argv, check=True, timeout=60, env=None):
        return _run(self.argv(argv), check=check, timeout=timeout, env=env)

    def path(self, inside: str) -> Path:
        """The file ``inside`` as this host sees it."""
        return Path("/proc/%d/root" % self.pid) / inside.lstrip("/")

    def read(self, inside: str):
        p = self.path(inside)
        if not os.path.lexists(p):
            return None
        return p.read_text()

    def sysctl_set(self, values: dict):
        script = "; ".join('echo %d > /proc/sys/%s' % (v, k.replace(".", "/")) for k, v in values.items())
        self.run(["sh", "-c", script])

    def sysctl_get(self, keys):
        out = self.run(["sh", "-c", "for k in \"$@\"; do cat /proc/sys/$k; done", "x"]
                       + [k.replace(".", "/") for k in keys]).stdout.split()
        return dict(zip(keys, (int(v) for v in out)))

    def lo_addresses(self):
        data = json.loads(self.run(["ip", "-j", "addr", "show", "dev", "lo"]).stdout)
        return sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in data[0]["addr_info"])

    # ------------------------------------------------------------------ modules
    def module_env(self):
        home = self.dir / "work" / "home"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHON", "VIRTUAL_ENV"))}
        env.update({"HOME": str(home), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(self.colls),
                    "ANSIBLE_LOCAL_TEMP": str(self.dir / "work" / "tmp"),
                    "ANSIBLE_REMOTE_TEMP": str(self.dir / "work" / "tmp")})
        return env

    def module_argv(self, module: str, args: dict, check=False, tag="args"):
        margs = dict(args, _ansible_check_mode=check, _ansible_diff=False,
                     _ansible_remote_tmp=str(self.dir / "work" / "tmp"), _ansible_keep_remote_files=False)
        argsfile = Path(tempfile.mkstemp(prefix=tag + "-", suffix=".json", dir=self.dir / "work")[1])
        argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": margs}))
        return [PYTHON, "-m", "ansible_collections.lvs.realserver.plugins.modules.%s" % module, str(argsfile)]

    def module(self, module: str, args: dict, check=False, prefix=(), timeout=120):
        """Run a module for real in the host; returns ``(result dict or None, CompletedProcess)``."""
        argv = self.argv(list(prefix) + self.module_argv(module, args, check))
        p = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout,
                           env=self.module_env(), cwd=str(self.dir / "work"))
        return parse_result(p.stdout), p

    def popen_module(self, module: str, args: dict, prefix=()):
        argv = self.argv(list(prefix) + self.module_argv(module, args))
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.module_env(), cwd=str(self.dir / "work"))


def parse_result(text: str):
    text = (text or "").strip()
    start = text.find("{")
    while start != -1:
        try:
            obj = json.JSONDecoder().raw_decode(text[start:])[0]
            if isinstance(obj, dict):
                return obj
        except ValueError:
            pass
        start = text.find("{", start + 1)
    return None


def sweep():
    """Remove leftovers of this run (namespaces and temp dirs named PREFIX*)."""
    out = _run(["ip", "netns", "list"], check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if re.match(re.escape(PREFIX) + "-", name):
            _run(["ip", "netns", "del", name], check=False)
    for d in Path(tempfile.gettempdir()).glob(PREFIX + "-*"):
        if d.is_dir() and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)
