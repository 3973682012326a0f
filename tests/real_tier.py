# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""Real tiers (tests/netns, tests/vm, tests/lab) must not turn into a pass by skipping.

A tier that cannot run here (no root, ``ip netns`` refused, tcpdump or scapy
missing, qemu unusable, ...) skips its tests when run by hand, so a developer
can run what works on their machine. Strict mode makes every such skip a
failure that names what is missing:

- ``CI=true`` (any CI), unless ``LVSRS_STRICT=0``;
- ``LVSRS_STRICT=1``, which ``./tasks test`` sets by default.

Use :func:`unavailable` instead of ``pytest.skip`` for "cannot run here", and
import the hooks into the tier's conftest.py::

    from real_tier import pytest_runtest_logreport, pytest_sessionfinish  # noqa: F401

so that any skip (a ``skipif`` mark, a fixture's ``pytest.skip``) and a run that
collected no test at all (pytest's exit 5) fail the session in strict mode.
"""

from __future__ import annotations

import os

import pytest

_SKIPPED: list[tuple[str, str]] = []


def strict() -> bool:
    """True when a skipped real tier must fail the run (see the module docstring)."""
    flag = os.environ.get("LVSRS_STRICT", "")
    if flag in ("0", "1"):
        return flag == "1"
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def unavailable(reason: str) -> None:
    """This test (or the whole tier) cannot run here: fail in strict mode, skip otherwise."""
    if strict():
        pytest.fail("real tier cannot run here: %s (strict mode: CI=true or LVSRS_STRICT=1; "
                    "./tasks setup installs what the tiers need)" % reason, pytrace=False)
    pytest.skip(reason)


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return "%s:%s: %s" % longrepr
    return str(longrepr)


def pytest_runtest_logreport(report):
    """Remember every skipped test and why (setup, call or teardown)."""
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append((report.nodeid, _skip_reason(report)))


def pytest_sessionfinish(session, exitstatus):
    """Strict mode: any skip, or no test collected, fails the session and says why."""
    if not strict():
        return
    lines = []
    if _SKIPPED:
        lines.append("%d test(s) of a real tier were skipped; in strict mode (CI=true or "
                     "LVSRS_STRICT=1) that fails the run:" % len(_SKIPPED))
        lines.extend("  %s: %s" % item for item in _SKIPPED)
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        lines.append("no test was collected; in strict mode (CI=true or LVSRS_STRICT=1) that fails the run")
    if lines:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "\n".join(["", "STRICT: real tier not run"] + lines)
        if reporter is not None:
            reporter.write_line(text, red=True, bold=True)
        else:
            print(text)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
