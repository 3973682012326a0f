# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver developers
"""The gates of lvs.realserver as nox sessions.

``./tasks`` installs the Debian packages and a small venv with pinned nox
(``requirements/nox.txt``), then hands over: ``./tasks GATE ARGS`` is
``nox -s GATE -- ARGS`` and ``./tasks test`` is ``nox -s test``.

Every session runs without a venv of its own (``venv_backend="none"``): the
tools come from the two venvs the ``setup`` session keeps, ``.venv`` (the
current ansible-core) and ``.venv-compat`` (ansible-core 2.17 on Python
3.11), installed from exact pins and a machine-wide wheel cache, so a run is
offline once the cache is filled and no session pays for a venv of its own.

antsibull-nox is not used: its sessions install their tools into a venv per
session without our pins, its ansible-test sessions fetch ansible-core and its
collection setup asks Galaxy, none of which a run here may depend on. The
gates it would give (lint, sanity, units, galaxy-importer) are the sessions
below, on the pinned venvs.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import nox

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
COMPAT = os.path.join(ROOT, ".venv-compat")
CACHE = os.path.join(ROOT, ".cache")
REQ = os.path.join(ROOT, "requirements")
STAMP_NAME = ".lvsrs-stamp"
# Wheels of every pinned package, kept on the machine (outside the checkout):
# a fresh clone (CI) installs its venvs from here without asking PyPI, and
# ansible-test's pip finds them too when the index does not answer.
WHEELHOUSE = os.environ.get("LVSRS_WHEELHOUSE") or os.path.expanduser("~/.cache/lvsrs/wheelhouse")
COLL_NS, COLL_NAME = "lvs", "realserver"
# Where plain tools (ansible, pytest on tests/netns, molecule) find the
# collection: .cache/collections/ansible_collections/lvs/realserver -> repo.
COLL_LINK_ROOT = os.path.join(CACHE, "collections")
GALAXY_VENV = os.path.join(CACHE, "venv-galaxy")
EE_VENV = os.path.join(CACHE, "venv-ee")
EE_REPO = "localhost/lvs-realserver-ee"
EE_BASE = "localhost/lvs-realserver-debian12:latest"
# Exit status of tests/vm/run.sh, tests/realboot/run.sh and bench/run.sh for
# "this machine cannot run it" when LVSRS_GATE is set (inside `./tasks test`).
SKIP_RC = 77

# What `./tasks test` (the `test` session) runs, in this order.
GATES = [
    "setup", "lint", "sanity", "units", "units-compat", "build", "galaxy", "integration", "fault",
    "lab-helpers", "images", "metrics", "ee", "molecule", "vm", "realboot", "bench-smoke",
]

nox.options.default_venv_backend = "none"
nox.options.sessions = ["test"]
nox.options.error_on_external_run = False

for _key, _value in (("LANG", "C.UTF-8"), ("LC_ALL", "C.UTF-8"), ("ANSIBLE_FORCE_COLOR", "0")):
    os.environ.setdefault(_key, _value)
os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
os.environ["DEBIAN_FRONTEND"] = "noninteractive"
# Tools from .venv first (ansible-lint warns when its own bin is not on PATH).
os.environ["PATH"] = os.path.join(VENV, "bin") + os.pathsep + os.environ.get("PATH", "")
# SIGTERM (a CI timeout) unwinds like Ctrl-C: the running command is killed by
# subprocess.run and the collection tree's clean-up (tree_tmp) still runs.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


# ------------------------------------------------------------------ helpers

def rel(path):
    """PATH relative to the checkout when it is inside it."""
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def is_strict():
    """Strict mode: LVSRS_STRICT=1, or CI=true unless LVSRS_STRICT=0."""
    strict = os.environ.get("LVSRS_STRICT", "")
    if strict == "1":
        return True
    return strict != "0" and os.environ.get("CI", "") in ("true", "TRUE", "True", "1", "yes")


def not_run(session, what):
    """Something a gate should run cannot run here: False in strict mode (an error), else a warning."""
    if is_strict():
        session.log(f"ERROR: not run: {what} (strict mode: CI=true or LVSRS_STRICT=1)")
        return False
    session.warn(f"not run: {what}")
    return True


def skip(session, what):
    """The whole gate cannot run here: a skip, or a failure in strict mode."""
    if is_strict():
        session.error(f"{what}; in strict mode (CI=true or LVSRS_STRICT=1) a skip is a failure")
    session.skip(what)


def run(session, *cmd, env=None, cwd=None, quiet_pip=False):
    """Run CMD (stdin /dev/null, output straight through) and return its exit status."""
    session.log(" ".join(str(c) for c in cmd))
    full_env = dict(os.environ, **(env or {}))
    if not quiet_pip:
        return subprocess.run(cmd, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL, check=False).returncode
    # pip, without the machine-wide pip.conf's noise about absent local indexes.
    proc = subprocess.run(cmd, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout.splitlines():
        if "is ignored: it is neither a file nor a directory" not in line:
            print(line, flush=True)
    return proc.returncode


def must(session, *cmd, env=None, cwd=None, what=None):
    """Run CMD; a non-zero exit fails the session."""
    rc = run(session, *cmd, env=env, cwd=cwd)
    if rc:
        session.error(f"{what or cmd[0]} failed (rc {rc})")


def output(*cmd, env=None):
    """Standard output of CMD (stripped); raises on a non-zero exit."""
    return subprocess.run(cmd, env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL, check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def retry(session, attempts, func):
    """PyPI sometimes does not answer for a minute: call FUNC up to ATTEMPTS times until it returns 0."""
    for i in range(1, attempts + 1):
        if func() == 0:
            return True
        if i < attempts:
            session.warn(f"attempt {i}/{attempts} failed; retrying in {i * 15} s")
            time.sleep(i * 15)
    return False


def sha256_file(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@contextlib.contextmanager
def setup_lock():
    """One venv installer at a time per checkout (parallel gates, `./tasks setup`)."""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "setup.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def images_env():
    """The variables tests/images/env.sh exports (image names, podman storage)."""
    path = os.path.join(ROOT, "tests", "images", "env.sh")
    if not os.path.isfile(path):
        return
    dump = output("bash", "-c", '. "$1" >/dev/null && env -0', "env", path)
    for item in dump.split("\0"):
        key, sep, value = item.partition("=")
        if sep and os.environ.get(key) != value:
            os.environ[key] = value


def link_collection():
    link = os.path.join(COLL_LINK_ROOT, "ansible_collections", COLL_NS, COLL_NAME)
    if os.path.islink(link) and os.readlink(link) == ROOT:
        return
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(ROOT, link)


def collection_env():
    """Plain tools (ansible, pytest, molecule) see the checkout as lvs.realserver."""
    link_collection()
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLL_LINK_ROOT
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = COLL_LINK_ROOT + (os.pathsep + old if old else "")


# ------------------------------------------------------------------ venvs

def py_version(python, full=False):
    code = "import sys; print(sys.version.split()[0])" if full else \
        "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        return output(python, "-c", code)
    except (OSError, subprocess.CalledProcessError):
        return None


def py_ok(python, want):
    """Usable for a venv: runs, has venv and ensurepip, and is the wanted X.Y."""
    code = f"import sys, venv, ensurepip; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '{want}' else 1)"
    return subprocess.run([python, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 0


def pyenv_versions(minor):
    """pyenv installs of MINOR, newest first (free-threaded "t" builds left out)."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = [d for d in glob.glob(os.path.join(root, "versions", f"{minor}.[0-9]*"))
             if os.path.isdir(d) and not d.endswith("t")]
    return sorted(found, key=lambda d: [int(x) if x.isdigit() else x
                                        for x in re.split(r"(\d+)", os.path.basename(d))], reverse=True)


def pick_python():
    """LVSRS_PYTHON, else the newest 3.13/3.12 from pyenv or PATH, else Debian's python3."""
    if os.environ.get("LVSRS_PYTHON"):
        return os.environ["LVSRS_PYTHON"]
    for minor in ("3.13", "3.12"):
        for cand in pyenv_versions(minor):
            if py_ok(f"{cand}/bin/python{minor}", minor):
                return f"{cand}/bin/python{minor}"
        cand = shutil.which(f"python{minor}")
        if cand and py_ok(cand, minor):
            # Resolve pyenv shims to the real interpreter.
            return output(cand, "-c", "import sys; print(sys.executable)")
    for cand in ("/usr/bin/python3", shutil.which("python3")):
        minor = cand and py_version(cand)
        if minor and py_ok(cand, minor):
            return cand
    return None


def pick_python_compat():
    """LVSRS_PYTHON_COMPAT, else a Python 3.11 (Debian 12's first)."""
    if os.environ.get("LVSRS_PYTHON_COMPAT"):
        return os.environ["LVSRS_PYTHON_COMPAT"]
    cands = ["/usr/bin/python3.11", "/usr/bin/python3"]
    cands += [f"{d}/bin/python3.11" for d in pyenv_versions("3.11")]
    cands.append(shutil.which("python3.11"))
    return next((c for c in cands if c and py_ok(c, "3.11")), None)


def venv_stamp(python, reqs, cons):
    """The interpreter and the two requirement files, hashed (as `./tasks` always has)."""
    text = f"python={py_version(python, full=True)} {os.path.realpath(shutil.which(python) or python)}\n"
    text += "".join(f"{sha256_file(f)}  -\n" for f in (reqs, cons))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fill_wheelhouse(session, venv, reqs, cons, stamp, attempts):
    """Wheels of every pinned package (sdists built once) for VENV's Python, kept in WHEELHOUSE."""
    os.makedirs(WHEELHOUSE, exist_ok=True)
    cmd = [f"{venv}/bin/python", "-m", "pip", "wheel", "-q", "--find-links", WHEELHOUSE,
           "-w", WHEELHOUSE, "-c", cons, "-r", reqs]
    if not retry(session, attempts, lambda: run(session, *cmd, quiet_pip=True)):
        return False
    open(os.path.join(WHEELHOUSE, f".complete-{stamp}"), "w", encoding="utf-8").close()
    return True


def make_venv(session, venv, python, reqs, cons, label):
    """VENV from PYTHON with the pins of REQS/CONS; nearly instant while its stamp matches."""
    pyver = py_version(python, full=True)
    stamp = venv_stamp(python, reqs, cons)
    vpy = f"{venv}/bin/python"
    stamp_file = os.path.join(venv, STAMP_NAME)
    current = open(stamp_file, encoding="utf-8").read().strip() if os.path.isfile(stamp_file) else None
    if current == stamp and py_version(vpy, full=True):
        session.log(f"{label}: up to date (Python {pyver}, stamp {stamp})")
        if not os.path.isfile(os.path.join(WHEELHOUSE, f".complete-{stamp}")):
            # Venv made before the wheelhouse was: complete it once, best effort.
            if not fill_wheelhouse(session, venv, reqs, cons, stamp, 1):
                session.warn(f"{label}: could not complete the wheelhouse now (PyPI?); a later setup retries")
        return
    if os.path.exists(vpy) and py_version(vpy, full=True) != pyver:
        session.log(f"{label}: Python changed, recreating {rel(venv)}")
        shutil.rmtree(venv, ignore_errors=True)
    if not os.path.exists(vpy):
        shutil.rmtree(venv, ignore_errors=True)
        session.log(f"{label}: creating with Python {pyver} ({python})")
        must(session, python, "-m", "venv", venv)
    session.log(f"{label}: installing pinned packages from {rel(cons)}")
    os.makedirs(WHEELHOUSE, exist_ok=True)
    install = [vpy, "-m", "pip", "install", "-q", "--no-index", "--find-links", WHEELHOUSE, "-c", cons, "-r", reqs]
    if subprocess.run(install, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode:
        session.log(f"{label}: fetching wheels into {WHEELHOUSE} (once per machine)")
        if not fill_wheelhouse(session, venv, reqs, cons, stamp, 5):
            session.error(f"{label}: could not fetch the pinned packages (is PyPI reachable?)")
        if run(session, *install, quiet_pip=True):
            session.error(f"{label}: pip install from the wheelhouse failed")
    with open(stamp_file, "w", encoding="utf-8") as handle:
        handle.write(stamp + "\n")


def need_venv(session, *venvs):
    for venv in venvs:
        if not (os.access(f"{venv}/bin/python", os.X_OK) and os.path.isfile(os.path.join(venv, STAMP_NAME))):
            session.error(f"{rel(venv)} is missing: run ./tasks setup")


def core_version(venv):
    return output(f"{venv}/bin/python", "-c", "from ansible.release import __version__; print(__version__)")


def install_get_pip_standin(session, venv):
    """ansible-test downloads pip's bootstrap script from a host that is not reachable
    here: give it the offline stand-in under the name it looks for
    (_util/target/setup/requirements.py: ~/.ansible/test/cache/get_pip_<ver>.py)."""
    src = os.path.join(ROOT, "tests", "sanity", "get_pip_standin.py")
    req_file = output(f"{venv}/bin/python", "-c", "import ansible_test, os; print(os.path.join("
                      "os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py'))")
    with open(req_file, encoding="utf-8") as handle:
        match = re.search(r"^ *pip='([0-9.]*)',", handle.read(), re.M)
    if not match:
        session.error(f"cannot find the pip version ansible-test bootstraps in {req_file}")
    ver = match.group(1)
    dest = os.path.expanduser(f"~/.ansible/test/cache/get_pip_{ver.replace('.', '_')}.py")
    if not os.path.isfile(dest) or sha256_file(dest) != sha256_file(src):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o644)
        session.log(f"ansible-test: installed get-pip stand-in as {dest}")
    # The stand-in tries the wheelhouse (PIP_FIND_LINKS, see at_env) first.
    if not glob.glob(os.path.join(WHEELHOUSE, f"pip-{ver}-*.whl")):
        os.makedirs(WHEELHOUSE, exist_ok=True)
        if subprocess.run([f"{venv}/bin/python", "-m", "pip", "download", "-q", "--retries", "1", "--timeout",
                           "15", "--no-deps", "-d", WHEELHOUSE, f"pip=={ver}"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode:
            session.warn(f"could not fetch pip {ver} into the wheelhouse now "
                         "(ansible-test falls back to ensurepip's pip)")


def at_env():
    """ansible-test's pip (and the get-pip stand-in) also look in the wheelhouse."""
    old = os.environ.get("PIP_FIND_LINKS")
    os.environ["PIP_FIND_LINKS"] = f"{old} {WHEELHOUSE}" if old else WHEELHOUSE


# ---------------------------------------------------- the ansible_collections tree

def copy_tree(dest):
    """Copy what git would ship (tracked plus untracked-not-ignored) to DEST."""
    try:
        listing = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        files = [f for f in listing.decode().split("\0") if f and os.path.lexists(os.path.join(ROOT, f))]
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:
        tar = ["tar", "-C", ROOT, "--exclude=./.venv", "--exclude=./.venv-compat", "--exclude=./.cache",
               "--exclude=./build", "--exclude=./tests/output", "-cf", "-", "."]
        stdin = None
    else:
        tar = ["tar", "-C", ROOT, "--null", "-T", "-", "-cf", "-"]
        stdin = "\0".join(files).encode()
    pack = subprocess.run(tar, input=stdin, stdout=subprocess.PIPE, check=True).stdout
    subprocess.run(["tar", "-C", dest, "-xf", "-"], input=pack, check=True)


@contextlib.contextmanager
def tree_tmp():
    """A temporary TMP/ansible_collections/lvs/realserver; yields (TMP, that directory).

    Removed afterwards, whatever happens; only empty directories are removed
    while something may still be mounted on it."""
    tmp = tempfile.mkdtemp(prefix="lvsrs-tree.", dir=os.environ.get("TMPDIR") or "/tmp")
    dest = os.path.join(tmp, "ansible_collections", COLL_NS, COLL_NAME)
    os.makedirs(dest)
    try:
        yield tmp, dest
    finally:
        if os.path.ismount(dest):
            subprocess.run(["umount", dest], check=False, stderr=subprocess.DEVNULL)
        if os.path.ismount(dest):
            print(f"WARNING: could not unmount {dest}; leaving {tmp} alone", file=sys.stderr)
        elif os.path.isfile(os.path.join(tmp, ".lvsrs-copy")):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            for dirpath, _dirs, _files in sorted(os.walk(tmp), key=lambda w: -len(w[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)


def can_bind_mount():
    if os.environ.get("LVSRS_TREE") == "copy" or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], stderr=subprocess.DEVNULL,
                          check=False).returncode == 0


def in_collection_tree(session, tmp, dest, *cmd, env=None):
    """Run CMD with the checkout at DEST (TMP/ansible_collections/lvs/realserver) as its working directory.

    ansible-test refuses symlinks, so: a bind mount inside a private mount
    namespace (gone when CMD exits, whatever happens), or else a copy of the
    files git knows about (LVSRS_TREE=copy, or not root)."""
    if can_bind_mount():
        return run(session, "unshare", "--mount", "--propagation", "private", "--", "bash", "-c",
                   'mount --bind "$1" "$2" && cd "$2" && shift 2 && exec "$@"', "lvsrs-tree", ROOT, dest, *cmd,
                   env=env)
    session.log("collection tree: copying the checkout (no private bind mount possible)")
    open(os.path.join(tmp, ".lvsrs-copy"), "w", encoding="utf-8").close()
    copy_tree(dest)
    return run(session, *cmd, env=env, cwd=dest)


# ------------------------------------------------------------------ sessions

@nox.session(name="setup")
def setup(session):
    """.venv (Python 3.13/3.12, else 3.11) and .venv-compat (3.11, ansible-core 2.17) from requirements/."""
    start = time.monotonic()
    with setup_lock():
        py = pick_python() or session.error("no usable Python (3.13, 3.12 or 3.11 with venv) found")
        session.log(f"python for .venv: {py} (Python {py_version(py, full=True)})")
        make_venv(session, VENV, py, f"{REQ}/dev.txt", f"{REQ}/constraints.txt", ".venv")
        pyc = pick_python_compat() or session.error(
            "no usable Python 3.11 for .venv-compat (apt-get install python3-venv)")
        session.log(f"python for .venv-compat: {pyc} (Python {py_version(pyc, full=True)})")
        make_venv(session, COMPAT, pyc, f"{REQ}/compat.txt", f"{REQ}/constraints-compat.txt", ".venv-compat")
        install_get_pip_standin(session, VENV)
        install_get_pip_standin(session, COMPAT)
        link_collection()
        session.log(f"tools: .venv ansible-core {core_version(VENV)}, "
                    f".venv-compat ansible-core {core_version(COMPAT)}")
    session.log(f"setup done in {time.monotonic() - start:.1f} s")


def check_privileged_guard(session):
    """Every file that starts a privileged container starts it through the sysctl guard
    (PID 1 before systemd: /proc/sys read-only but for net/), or its systemd raises the
    machine's fs.nr_open (TESTBED.md). Comments and prose ("no --privileged") do not count."""
    listing = output("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    bad = []
    for name in filter(None, listing.split("\0")):
        path = os.path.join(ROOT, name)
        if name.endswith(".md") or name in ("tasks", "noxfile.py") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        lines = [ln for ln in text.splitlines()
                 if not re.match(r"\s*#", ln) and not re.search(r"no (``)?--privileged", ln)]
        if any(re.search(r"--privileged|privileged: *true", ln) for ln in lines) and "sysctl-guard" not in text:
            bad.append(name)
    if bad:
        session.log("ERROR: privileged containers started without tests/images/sysctl-guard.sh in: " + " ".join(bad))
        return False
    return True


@nox.session(name="lint")
def lint(session):
    """ansible-lint (production profile), yamllint, antsibull-changelog lint, shellcheck, the sysctl-guard check."""
    need_venv(session, VENV)
    # Offline, ansible-lint does not install the collection it lints: without
    # this its syntax check cannot resolve lvs.realserver.* in roles/playbooks.
    link_collection()
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLL_LINK_ROOT
    ok = run(session, f"{VENV}/bin/ansible-lint", "--offline") == 0
    ok &= run(session, f"{VENV}/bin/yamllint", "--strict", ".") == 0
    ok &= run(session, f"{VENV}/bin/antsibull-changelog", "lint") == 0
    if shutil.which("shellcheck"):
        ok &= run(session, "shellcheck", "-x", "tasks", ".ci/run") == 0
        ok &= run(session, "shellcheck", "-e", "SC1091", "tests/machine-sysctls.sh",
                  "tests/images/sysctl-guard.sh", "tests/images/smoke.sh") == 0
    else:
        ok &= not_run(session, "shellcheck: not installed (apt-get install shellcheck)")
    session.log("privileged test containers start through tests/images/sysctl-guard.sh")
    ok &= check_privileged_guard(session)
    if not ok:
        session.error("lint: not clean")
    session.log("lint: clean")


@nox.session(name="sanity")
def sanity(session):
    """ansible-test sanity --venv on the collection (posargs go to it, e.g. -- --test pep8)."""
    need_venv(session, VENV)
    install_get_pip_standin(session, VENV)
    at_env()
    pyver = py_version(f"{VENV}/bin/python")
    base = [f"{VENV}/bin/ansible-test", "sanity", "--venv", "--color"]
    with tree_tmp() as (tmp, dest):
        if session.posargs:
            if in_collection_tree(session, tmp, dest, *base, "--python", pyver, *session.posargs):
                session.error("ansible-test sanity failed")
            return
        ok = in_collection_tree(session, tmp, dest, *base, "--python", pyver) == 0
    # Modules and module_utils also run on Debian 12's Python 3.11 targets.
    if pyver != "3.11":
        if shutil.which("python3.11") and py_version("python3.11"):
            with tree_tmp() as (tmp, dest):
                ok &= in_collection_tree(session, tmp, dest, *base, "--python", "3.11",
                                         "--test", "compile", "--test", "import") == 0
        else:
            ok &= not_run(session, "sanity compile/import on Python 3.11 (Debian 12 targets): "
                                   "no python3.11 (apt-get install python3)")
    if not ok:
        session.error("sanity failed")


def run_units(session, venv, label):
    """tests/unit the way `ansible-test units` runs them (its pytest config and collection
    plugin, the collection at ansible_collections/lvs/realserver), straight from VENV."""
    need_venv(session, venv)
    py = f"{venv}/bin/python"
    at_root = output(py, "-c", "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))")
    minpy = output(py, "-c", "from ansible_test._util.target.common.constants import "
                             "CONTROLLER_PYTHON_VERSIONS as v; print(v[0])")
    session.log(f"{label}: pytest tests/unit with ansible-core {core_version(venv)} on Python {py_version(py)}")
    with tree_tmp() as (tmp, dest):
        env = {
            "ANSIBLE_COLLECTIONS_PATH": tmp,
            "ANSIBLE_CONTROLLER_MIN_PYTHON_VERSION": minpy,
            "PYTHONPATH": f"{at_root}/_util/target/pytest/plugins",
            "PYTEST_PLUGINS": "ansible_pytest_collections",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        rc = in_collection_tree(session, tmp, dest, py, "-m", "pytest", "-r", "a", "-p", "no:cacheprovider",
                                "-c", f"{at_root}/_data/pytest/config/default.ini", "--rootdir", dest,
                                "--confcutdir", dest, "--strict-markers", "tests/unit", *session.posargs, env=env)
    if rc == 5:
        skip(session, f"{label}: pytest collected no tests (exit 5)")
    if rc:
        session.error(f"{label}: pytest failed (rc {rc})")


@nox.session(name="units")
def units(session):
    """pytest tests/unit in .venv (posargs go to pytest, e.g. -- -k name)."""
    run_units(session, VENV, "units")


@nox.session(name="units-compat")
def units_compat(session):
    """pytest tests/unit in .venv-compat (Python 3.11, ansible-core 2.17)."""
    run_units(session, COMPAT, "units-compat")


@nox.session(name="ansible-test-units")
def ansible_test_units(session):
    """The unit tests through `ansible-test units --venv` (builds its own venv once)."""
    need_venv(session, VENV)
    install_get_pip_standin(session, VENV)
    at_env()
    with tree_tmp() as (tmp, dest):
        rc = in_collection_tree(session, tmp, dest, f"{VENV}/bin/ansible-test", "units", "--venv", "--python",
                                py_version(f"{VENV}/bin/python"), "--color", *session.posargs)
    if rc:
        session.error(f"ansible-test units failed (rc {rc})")


def doc_list(session, plugin_type, path):
    """Names of the collection's plugins of PLUGIN_TYPE that ansible-doc lists from PATH."""
    try:
        out = output(f"{VENV}/bin/ansible-doc", "-t", plugin_type, "-l", f"{COLL_NS}.{COLL_NAME}", "--json",
                     env={"ANSIBLE_COLLECTIONS_PATH": path, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"})
    except subprocess.CalledProcessError:
        session.error(f"ansible-doc -t {plugin_type} -l {COLL_NS}.{COLL_NAME} failed on the installed tarball")
    return sorted(json.loads(out))


def build_tarball(session):
    """ansible-galaxy collection build into build/ from a snapshot of what git would ship."""
    build = os.path.join(ROOT, "build")
    shutil.rmtree(build, ignore_errors=True)
    os.makedirs(build)
    # Never from local venvs, caches or files being edited.
    with tree_tmp() as (tmp, src):
        open(os.path.join(tmp, ".lvsrs-copy"), "w", encoding="utf-8").close()
        copy_tree(src)
        must(session, f"{VENV}/bin/ansible-galaxy", "collection", "build", "--force", "--output-path", build, src)
        modules = sorted(f"{COLL_NS}.{COLL_NAME}.{f[:-3]}" for f in os.listdir(f"{src}/plugins/modules")
                         if f.endswith(".py") and not f.startswith("_")) \
            if os.path.isdir(f"{src}/plugins/modules") else []
        roles = sorted(f"{COLL_NS}.{COLL_NAME}.{r}" for r in os.listdir(f"{src}/roles")
                       if os.path.isfile(f"{src}/roles/{r}/meta/argument_specs.yml")) \
            if os.path.isdir(f"{src}/roles") else []
    (tarball,) = glob.glob(f"{build}/{COLL_NS}-{COLL_NAME}-*.tar.gz")
    return tarball, modules, roles


@nox.session(name="build")
def build(session):
    """ansible-galaxy collection build into build/, install the tarball, ansible-doc lists and renders its plugins."""
    need_venv(session, VENV)
    tarball, expected, roles_expected = build_tarball(session)
    names = output("tar", "-tzf", tarball).splitlines()
    session.log(f"built {rel(tarball)} ({os.path.getsize(tarball) // 1024} KiB, {len(names)} entries)")
    dev = [n for n in names if re.match(r"(tests|molecule|bench|requirements|\.venv[^/]*|\.cache|\.ci|build)/", n)]
    if dev:
        session.error("the tarball holds development files (see galaxy.yml build_ignore): " + " ".join(dev[:5]))
    with tempfile.TemporaryDirectory(prefix="lvsrs-install.", dir=os.environ.get("TMPDIR") or "/tmp") as inst:
        proc = subprocess.run([f"{VENV}/bin/ansible-galaxy", "collection", "install", "--offline", "--force",
                               "-p", inst, tarball], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, check=False)
        print("\n".join(ln for ln in proc.stdout.splitlines()
                        if "is not part of the configured Ansible collections paths" not in ln))
        if not os.path.isfile(f"{inst}/ansible_collections/{COLL_NS}/{COLL_NAME}/MANIFEST.json"):
            session.error(f"install of {tarball} failed")
        # Every module in the snapshot is listed and its documentation renders.
        listed = doc_list(session, "module", inst)
        missing = sorted(set(expected) - set(listed))
        if missing:
            session.error("ansible-doc does not list these modules from the installed tarball: " + " ".join(missing))
        doc_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=inst, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
        for module in listed:
            if subprocess.run([f"{VENV}/bin/ansible-doc", "-t", "module", module], env=doc_env,
                              stdout=subprocess.DEVNULL, check=False).returncode:
                session.error(f"ansible-doc cannot render {module} from the installed tarball")
        # Every role with an argument spec is listed.
        roles_listed = doc_list(session, "role", inst) if roles_expected else []
        missing = sorted(set(roles_expected) - set(roles_listed))
        if missing:
            session.error("ansible-doc does not list these roles from the installed tarball: " + " ".join(missing))
    session.log(f"ansible-doc on the installed tarball: {len(listed)} module(s) ({' '.join(listed)}), "
                f"{len(roles_listed)} role(s) ({' '.join(roles_listed)})")


def newest_tarball():
    found = sorted(glob.glob(os.path.join(ROOT, "build", f"{COLL_NS}-{COLL_NAME}-*.tar.gz")))
    return found[-1] if found else None


@nox.session(name="galaxy")
def galaxy(session):
    """galaxy-importer (own venv, .cache/venv-galaxy) on the tarball of `build`; fails on any warning or error.

    ansible-test is off in it (RUN_ANSIBLE_TEST = False: it needs a container
    registry); the importer's ansible-doc and ansible-lint checks run."""
    with setup_lock():
        py = pick_python() or session.error(f"no usable Python for {GALAXY_VENV}")
        make_venv(session, GALAXY_VENV, py, f"{REQ}/galaxy.txt", f"{REQ}/constraints-galaxy.txt", "venv-galaxy")
    if session.posargs:
        tarball = session.posargs[0]
    else:
        # Inside `./tasks test` the build gate has just made it; alone, build it now.
        if not os.environ.get("LVSRS_GATE"):
            need_venv(session, VENV)
            build_tarball(session)
        tarball = newest_tarball()
    if not tarball or not os.path.isfile(tarball):
        session.error("galaxy: no collection tarball (run ./tasks build)")
    tarball = os.path.abspath(tarball)
    with tempfile.TemporaryDirectory(prefix="lvsrs-galaxy.", dir=os.environ.get("TMPDIR") or "/tmp") as work:
        cfg = os.path.join(work, "galaxy-importer.cfg")
        with open(cfg, "w", encoding="utf-8") as handle:
            handle.write("[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_DOC = True\n"
                         "RUN_ANSIBLE_LINT = True\nCHECK_CHANGELOG = True\nLOG_LEVEL_MAIN = INFO\n")
        version = output(f"{GALAXY_VENV}/bin/python", "-c",
                         "import importlib.metadata as m; print(m.version('galaxy-importer'))")
        session.log(f"galaxy-importer {version} on {rel(tarball)}")
        env = dict(os.environ, GALAXY_IMPORTER_CONFIG=cfg, HOME=work, ANSIBLE_HOME=f"{work}/.ansible",
                   PATH=f"{GALAXY_VENV}/bin{os.pathsep}{os.environ['PATH']}")
        proc = subprocess.run([f"{GALAXY_VENV}/bin/python", "-m", "galaxy_importer.main", tarball], cwd=work,
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=False)
    print(proc.stdout, end="")
    bad = [ln for ln in proc.stdout.splitlines() if re.match(r"(WARNING|ERROR|CRITICAL)[: ]", ln) or "Traceback" in ln]
    if "Importer processing completed successfully" not in proc.stdout.splitlines():
        bad.append("(no 'Importer processing completed successfully')")
    if proc.returncode:
        session.error(f"galaxy-importer exited {proc.returncode}")
    if bad:
        session.error("galaxy-importer reported: " + " | ".join(bad))
    session.log("galaxy: clean (no warning, no error)")


def ee_wheels(session, directory):
    """The wheels of requirements/ee-image.txt for the image's Python 3.11 (binary only,
    no dependency resolution: every one is pinned)."""
    stamp = sha256_file(f"{REQ}/ee-image.txt")[:16]
    stamp_file = os.path.join(directory, ".stamp")
    if os.path.isfile(stamp_file) and open(stamp_file, encoding="utf-8").read().strip() == stamp:
        return
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    session.log(f"ee: wheels of requirements/ee-image.txt for Python 3.11 into {rel(directory)}")
    cmd = [f"{VENV}/bin/python", "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
           "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
           "--platform", "manylinux_2_28_x86_64", "--platform", "any",
           "--find-links", WHEELHOUSE, "-d", directory, "-r", f"{REQ}/ee-image.txt"]
    if not retry(session, 3, lambda: run(session, *cmd, quiet_pip=True)):
        session.error("ee: could not download the wheels of requirements/ee-image.txt (is PyPI reachable?)")
    with open(stamp_file, "w", encoding="utf-8") as handle:
        handle.write(stamp + "\n")


def ee_prune(tag, since):
    """Untag older builds of this recipe, and remove the untagged stage images (galaxy, builder)
    this build left, recognised by the wheel directory only execution-environment.yml uses,
    created since SINCE (epoch)."""
    def podman(*args):
        return subprocess.run(["podman", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=False)
    old = [t for t in podman("images", "--format", "{{.Repository}}:{{.Tag}}", EE_REPO).stdout.split()
           if t not in (tag, f"{EE_REPO}:latest")]
    if old:
        podman("rmi", *old)
    # Several passes: removing a stage image can leave its parent dangling.
    for _pass in range(3):
        removed = 0
        for image in podman("images", "-q", "--filter", "dangling=true").stdout.split():
            created = podman("image", "inspect", "--format", "{{.Created.Unix}}", image).stdout.strip()
            if not created.isdigit() or int(created) < since:
                continue
            history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
            if "/opt/lvsrs-wheels" in history and podman("rmi", image).returncode == 0:
                removed += 1
        if not removed:
            break


@nox.session(name="ee")
def ee(session):
    """execution-environment.yml built offline on the Debian 12 test image, the compliance playbook in it
    with ansible-runner (posargs go to pytest)."""
    need_venv(session, VENV)
    images_env()
    if subprocess.run(["podman", "image", "exists", EE_BASE], check=False).returncode:
        skip(session, f"ee: no base image {EE_BASE} (./tasks images builds it)")
    with setup_lock():
        py = pick_python() or session.error(f"no usable Python for {EE_VENV}")
        make_venv(session, EE_VENV, py, f"{REQ}/ee.txt", f"{REQ}/constraints-ee.txt", "venv-ee")
    if not os.environ.get("LVSRS_GATE"):
        build_tarball(session)
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = re.search(r"^version: *(\S+)", handle.read(), re.M).group(1)
    want = f"build/{COLL_NS}-{COLL_NAME}-{version}.tar.gz"
    tarball = os.path.join(ROOT, want)
    if not os.path.isfile(tarball):
        session.error(f"ee: no {want} (run ./tasks build)")
    with open(os.path.join(ROOT, "execution-environment.yml"), encoding="utf-8") as handle:
        if f"src: {want}" not in handle.read():
            session.error(f"ee: execution-environment.yml does not install {want} (galaxy.yml version {version}): "
                          "update both tarball names in it")
    ee_wheels(session, os.path.join(CACHE, "ee", "wheels"))
    files_json = subprocess.run(["tar", "-xzOf", tarball, "FILES.json"], stdout=subprocess.PIPE, check=True).stdout
    base_id = output("podman", "image", "inspect", "--format", "{{.Id}}", EE_BASE)
    parts = [sha256_file(os.path.join(ROOT, "execution-environment.yml")), sha256_file(f"{REQ}/ee-image.txt"),
             hashlib.sha256(files_json).hexdigest()]
    recipe = "".join(f"{p}  -\n" for p in parts) + base_id + "\n"
    tag = f"{EE_REPO}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0:
        session.log(f"ee: {tag} is up to date")
    else:
        ctx = os.path.join(CACHE, "ee", "context")
        shutil.rmtree(ctx, ignore_errors=True)
        log = os.path.join(CACHE, "ee", "build.log")
        session.log(f"ee: ansible-builder build {tag} (podman build --network=none --pull=never; log {rel(log)})")
        start = time.time()
        with open(log, "w", encoding="utf-8") as handle:
            rc = subprocess.run([f"{EE_VENV}/bin/ansible-builder", "build", "-v", "3", "-f",
                                 "execution-environment.yml", "-c", ctx, "-t", tag, "--container-runtime", "podman",
                                 "--extra-build-cli-args", "--network=none --pull=never"],
                                stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                check=False).returncode
        if rc:
            with open(log, encoding="utf-8", errors="replace") as handle:
                print("".join(handle.readlines()[-40:]), file=sys.stderr)
            session.error(f"ee: ansible-builder build failed (rc {rc}, log {rel(log)})")
        must(session, "podman", "tag", tag, f"{EE_REPO}:latest")
        ee_prune(tag, int(start))
        size = int(output("podman", "image", "inspect", "--format", "{{.Size}}", tag))
        session.log(f"ee: built {tag} in {time.time() - start:.1f} s ({size // 1000000} MB)")
    collection_env()
    session.log(f"pytest tests/netns/test_execution_environment.py (ansible-runner, the playbook inside {tag})")
    must(session, f"{VENV}/bin/python", "-m", "pytest", "-r", "a", "-p", "no:cacheprovider",
         "tests/netns/test_execution_environment.py", *session.posargs,
         env={"LVS_EE_IMAGE": tag, "LVS_ANSIBLE_RUNNER": f"{EE_VENV}/bin/ansible-runner"}, what="pytest")


def need_root(session, gate, why):
    if os.geteuid() != 0:
        session.error(f"{gate}: {why} need root")


@nox.session(name="integration")
def integration(session):
    """pytest tests/netns (root; the real kernel in network namespaces; posargs go to pytest)."""
    need_venv(session, VENV)
    need_root(session, "integration", "the netns tests")
    collection_env()
    must(session, f"{VENV}/bin/python", "-m", "pytest", "-r", "a", "-p", "no:cacheprovider", "tests/netns",
         *session.posargs, what="pytest tests/netns")


@nox.session(name="lab-helpers")
def lab_helpers(session):
    """pytest tests/lab (the lab's pure helpers; no root, no podman)."""
    need_venv(session, VENV)
    must(session, f"{VENV}/bin/python", "-m", "pytest", "-r", "a", "-p", "no:cacheprovider", "tests/lab",
         *session.posargs, what="pytest tests/lab")


@nox.session(name="fault")
def fault(session):
    """pytest tests/fault (root): SIGKILL at every write-class syscall, a concurrency storm,
    the hostile-input table, the foreign-file matrix."""
    need_venv(session, VENV)
    need_root(session, "fault", "the fault-injection tier (network and mount namespaces)")
    for tool in ("strace", "nsenter", "unshare", "ip"):
        if not shutil.which(tool):
            session.error(f"fault: {tool} is not installed (./tasks setup installs it)")
    collection_env()
    must(session, f"{VENV}/bin/python", "-m", "pytest", "-r", "a", "-p", "no:cacheprovider", "-n", "2",
         "tests/fault", *session.posargs, what="pytest tests/fault")


def build_images(session, *args):
    images_env()
    must(session, "bash", "tests/images/build.sh", *args, what="tests/images/build.sh")


@nox.session(name="images")
def images(session):
    """tests/images/build.sh (cached by recipe hash), then tests/images/smoke.sh."""
    build_images(session, *session.posargs)
    must(session, "bash", "tests/images/smoke.sh", what="tests/images/smoke.sh")


@nox.session(name="metrics")
def metrics(session):
    """tests/metrics/run.sh: realserver_metrics with Debian's prometheus-node-exporter in a Debian 12 container."""
    need_venv(session, VENV)
    images_env()
    if subprocess.run(["podman", "image", "exists", "localhost/lvs-realserver-debian12:latest"],
                      check=False).returncode:
        build_images(session, "bookworm")
    must(session, "bash", "tests/metrics/run.sh", what="tests/metrics/run.sh")


@nox.session(name="molecule")
def molecule(session):
    """molecule test for the molecule/ scenarios named in posargs (default: all)."""
    if session.posargs:
        scenarios = list(session.posargs)
        for name in scenarios:
            if not os.path.isfile(os.path.join(ROOT, "molecule", name, "molecule.yml")):
                session.error(f"molecule: no scenario molecule/{name}")
    else:
        scenarios = sorted(os.path.basename(os.path.dirname(p))
                           for p in glob.glob(os.path.join(ROOT, "molecule", "*", "molecule.yml")))
        if not scenarios:
            session.error("molecule: no molecule/*/molecule.yml")
    need_venv(session, VENV)
    collection_env()
    build_images(session)
    failed = [s for s in scenarios if run(session, f"{VENV}/bin/molecule", "test", "-s", s)]
    if failed:
        session.error("molecule scenario(s) failed: " + " ".join(failed))


def tier_script(session, script, *args):
    """A tier's own runner; its exit 77 ("this machine cannot run it", with LVSRS_GATE) is a skip."""
    need_venv(session, VENV)
    collection_env()
    rc = run(session, "bash", script, *args)
    if rc == SKIP_RC:
        skip(session, f"{script} cannot run on this machine (exit {SKIP_RC}, see above)")
    if rc:
        session.error(f"{script} failed (rc {rc})")


@nox.session(name="vm")
def vm(session):
    """tests/vm/run.sh (the qemu tier)."""
    tier_script(session, "tests/vm/run.sh", *session.posargs)


@nox.session(name="realboot")
def realboot(session):
    """tests/realboot/run.sh: a Debian 12 guest with systemd and udev, the role over ssh, real reboots."""
    tier_script(session, "tests/realboot/run.sh", *session.posargs)


@nox.session(name="bench")
def bench(session):
    """bench/run.sh: role and compliance cost vs the peers' way, as ratios (posargs go to it)."""
    tier_script(session, "bench/run.sh", *session.posargs)


@nox.session(name="bench-smoke")
def bench_smoke(session):
    """The benchmark at N=2, 1 pair (part of test, so it cannot rot)."""
    tier_script(session, "bench/run.sh", "--smoke")


# ------------------------------------------------------------------ test

def gate_status(report, rc):
    """PASS/SKIP/FAIL of one gate from nox's exit status and its --report JSON."""
    if rc:
        return f"FAIL(rc={rc})"
    try:
        with open(report, encoding="utf-8") as handle:
            results = [s["result"] for s in json.load(handle)["sessions"]]
    except (OSError, ValueError, KeyError):
        return "FAIL(no report)"
    if results == ["skipped"]:
        return "FAIL(skipped)" if is_strict() else "SKIP"
    return "PASS" if results == ["success"] else f"FAIL({','.join(results)})"


@nox.session(name="test")
def test(session):
    """setup, then every gate (a summary with wall times, last line "gates: N passed, N failed");
    strict unless LVSRS_STRICT=0; the machine's own sysctls compared before/after. What .ci/run runs."""
    # Strict unless asked otherwise: a real tier that cannot run fails the run.
    os.environ.setdefault("LVSRS_STRICT", "1")
    total0 = time.monotonic()
    os.makedirs(CACHE, exist_ok=True)
    snap = os.path.join(CACHE, "machine-sysctls.before")
    rows, counts, recorded = [], {"PASS": 0, "FAIL": 0, "SKIP": 0}, False
    with tempfile.TemporaryDirectory(prefix="lvsrs-gates.") as reports:
        for gate in GATES:
            if gate != "setup" and not recorded:
                # The machine's own sysctls after setup and before the first
                # test gate; compared after the last.
                must(session, "bash", "tests/machine-sysctls.sh", "snapshot", snap)
                recorded = True
                with open(snap, encoding="utf-8") as handle:
                    keys = len(handle.readlines())
                session.log(f"machine sysctls recorded ({keys} keys; compared after the last gate)")
            print(f"\n======== gate: {gate} ========", flush=True)
            start = time.monotonic()
            report = os.path.join(reports, f"{gate}.json")
            rc = subprocess.run([sys.executable, "-m", "nox", "-f", os.path.join(ROOT, "noxfile.py"), "-s", gate,
                                 "--report", report], env=dict(os.environ, LVSRS_GATE="1"),
                                stdin=subprocess.DEVNULL, check=False).returncode
            secs = time.monotonic() - start
            status = gate_status(report, rc)
            if status == "FAIL(skipped)":
                print(f"ERROR: gate {gate} skipped (see above); strict mode (CI=true or LVSRS_STRICT=1) "
                      "counts that as a failure", file=sys.stderr, flush=True)
            counts[status[:4]] += 1
            print(f"-------- gate {gate}: {status} in {secs:.1f} s", flush=True)
            rows.append(f"{gate:<14} {status:<12} {secs:8.1f} s")
    # Nothing the gates started may have changed the machine's own sysctls.
    print("\n======== check: machine-sysctls ========", flush=True)
    status = "PASS" if run(session, "bash", "tests/machine-sysctls.sh", "compare", snap) == 0 else "FAIL"
    counts[status] += 1
    rows.append(f"{'host-sysctls':<14} {status:<12} {0.0:8.1f} s")
    print("\n======== summary ========")
    print(f"{'gate':<14} {'result':<12} {'wall':>10}")
    print("\n".join(rows))
    print(f"{'total':<14} {'':<12} {time.monotonic() - total0:8.1f} s")
    line = f"gates: {counts['PASS']} passed, {counts['FAIL']} failed"
    print(line + (f", {counts['SKIP']} skipped" if counts["SKIP"] else ""), flush=True)
    # That line stays the last one: no "Session test ..." from nox after it.
    logging.getLogger("nox").setLevel(logging.CRITICAL)
    if counts["FAIL"]:
        session.error(f"{counts['FAIL']} gate(s) failed")
