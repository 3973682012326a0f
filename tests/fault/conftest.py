# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the fault-injection tier (root; real processes in network and mount namespaces).

The tier never skips: a missing tool or privilege is a failure that names it.
Figures are collected in ``FIGURES`` and printed (and written to
``$LVSH_REPORT`` when set) at the end of the session.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import host as _host  # noqa: E402

FIGURES = {}


def _figures_dir(config):
    """Where each xdist worker leaves its figures for the controller (keyed by the controller's pid)."""
    controller = os.getppid() if hasattr(config, "workerinput") else os.getpid()
    return Path("/tmp") / ("lvsh-figures-%d" % controller)


def _merge(into, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def pytest_sessionstart(session):
    problems = []
    if os.geteuid() != 0:
        problems.append("the fault tier needs root (network and mount namespaces)")
    for tool in ("strace", "nsenter", "unshare", "ip"):
        if not shutil.which(tool):
            problems.append("%s is not installed" % tool)
    if not Path(_host.PYTHON).exists():
        problems.append("no Ansible interpreter at %s (./tasks setup, or LVS_PYTHON)" % _host.PYTHON)
    if problems:
        raise pytest.UsageError("fault tier cannot run: " + "; ".join(problems))
    try:
        import ansible_collections.lvs.realserver  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(_host.collections_dir(Path(_host.tempfile.mkdtemp(prefix=_host.PREFIX + "-colls-")))))


def pytest_sessionfinish(session, exitstatus):
    if os.geteuid() == 0:
        _host.sweep()
    directory = _figures_dir(session.config)
    if hasattr(session.config, "workerinput"):
        directory.mkdir(exist_ok=True)
        (directory / ("%d.json" % os.getpid())).write_text(json.dumps(FIGURES))
        return
    if directory.is_dir():
        for part in sorted(directory.glob("*.json")):
            _merge(FIGURES, json.loads(part.read_text()))
        shutil.rmtree(directory, ignore_errors=True)
    if FIGURES:
        summarize(FIGURES)
        text = json.dumps(FIGURES, indent=2, sort_keys=True)
        sys.stdout.write("\n==> fault tier figures\n%s\n" % text)
        if os.environ.get("LVSH_REPORT"):
            Path(os.environ["LVSH_REPORT"]).write_text(text + "\n")


def summarize(figures):
    """Totals over the per-test entries (tests may have run in different xdist workers)."""
    if "foreign" in figures:
        per = figures["foreign"]
        figures["foreign_summary"] = dict((key, sum(v[key] for v in per.values()))
                                          for key in ("cases", "kept", "replaced_with_force", "removed_with_force"))
        figures["foreign_summary"]["paths"] = len(per)
    for key in ("hostile_modules", "hostile_role"):
        if key in figures:
            per = figures.pop(key)
            summary = {"tried": len(per), "rejected": sum(1 for v in per.values() if v["ok"]), "by": {},
                       "problems": [k for k, v in per.items() if not v["ok"]]}
            for v in per.values():
                counts = summary["by"].setdefault(v["by"], [0, 0])
                counts[0] += 1
                counts[1] += bool(v["ok"])
            figures[key] = summary
    if "kill" in figures:
        figures["kill_summary"] = dict((key, sum(v[key] for v in figures["kill"].values()))
                                       for key in ("tried", "intact", "killed", "converged", "temp_files_left"))


@pytest.fixture
def figures():
    return FIGURES


@pytest.fixture
def make_host():
    made = []

    def make(name, **kw):
        h = _host.Host(name, **kw)
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()
