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


def pytest_sessionfinish(session, exitstatus):
    if os.geteuid() == 0:
        _host.sweep()
    if FIGURES:
        text = json.dumps(FIGURES, indent=2, sort_keys=True)
        sys.stdout.write("\n==> fault tier figures\n%s\n" % text)
        if os.environ.get("LVSH_REPORT"):
            Path(os.environ["LVSH_REPORT"]).write_text(text + "\n")


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
