# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixtures for the network-namespace lab (see lab.py for the helpers).

Fixtures:
    netns_lab      session, autouse: skips every test here unless root and a
                   working ``ip netns`` (fails instead in strict mode: CI=true
                   or LVSRS_STRICT=1, see ../real_tier.py); sweeps this run's
                   prefix at the end.
    lab            function: a ``lab.Lab``; its namespaces are deleted by
                   name at teardown, also when the test failed.
    topo           function: ``lab.topology()`` (rs <-> cl, no VIP yet).
    make_topology  function: factory ``make_topology(second_nic=False,
                   bridge=False, ipv6=False) -> lab.Topology``.
    arp_tools      skips unless tcpdump and scapy (Debian python3) work.
    lvs_python     path of the Ansible interpreter ($LVS_PYTHON or
                   <repo>/.venv/bin/python); skips if it has no ansible.

Environment:
    LVS_PYTHON              interpreter with ansible-core (default <repo>/.venv/bin/python)
    LVS_NETNS_SWEEP_STALE=1 also remove leftovers of dead runs at session start
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import lab as _lab  # noqa: E402

if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

# Strict mode (CI=true, or LVSRS_STRICT=1 as in ./tasks test): a skip here is a failure.
from real_tier import pytest_runtest_logreport, pytest_sessionfinish, unavailable  # noqa: E402,F401  pylint: disable=unused-import

# The execution-environment test belongs to the `ee` gate, which builds the
# image and runs it with LVS_EE_IMAGE set; in the netns gate it would only
# skip, which strict mode (rightly) counts as a failure.
collect_ignore = [] if os.environ.get("LVS_EE_IMAGE") else ["test_execution_environment.py"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "netns: real-kernel test in network namespaces (root; tests/netns)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.netns)


def pytest_sessionfinish(session, exitstatus):
    if os.geteuid() == 0:
        _lab.sweep_prefix(_lab.RUN_PREFIX)


def _sigterm_to_interrupt(signum, frame):
    # Turn SIGTERM (e.g. a CI timeout) into a KeyboardInterrupt so that
    # pytest runs fixture teardown (namespace removal) before exiting.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session", autouse=True)
def netns_lab():
    """Skip the whole directory unless the lab can run; clean up at the end."""
    reason = _lab.unavailable_reason()
    if reason:
        unavailable(reason)
    _lab.sweep_prefix(_lab.RUN_PREFIX)          # leftovers of a dead run with our pid
    if os.environ.get("LVS_NETNS_SWEEP_STALE") == "1":
        _lab.sweep_stale()
    old = signal.getsignal(signal.SIGTERM)
    if old == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    try:
        yield _lab.RUN_PREFIX
    finally:
        if old == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, old)
        _lab.sweep_prefix(_lab.RUN_PREFIX)


@pytest.fixture
def lab():
    lb = _lab.Lab()
    try:
        yield lb
    finally:
        errors = lb.cleanup()
        assert not errors, errors


@pytest.fixture
def make_topology(lab):
    return lab.topology


@pytest.fixture
def topo(lab):
    return lab.topology()


@pytest.fixture(scope="session")
def arp_tools():
    reason = _lab.tool_missing_reason("tcpdump", "scapy")
    if reason:
        unavailable(reason)


@pytest.fixture(scope="session")
def lvs_python():
    py = _lab.lvs_python()
    if not Path(py).exists():
        unavailable(f"no Ansible interpreter at {py} (run ./tasks setup or set LVS_PYTHON)")
    p = subprocess.run([py, "-c", "import ansible.module_utils.basic"], capture_output=True,
                       text=True, cwd="/", check=False)
    if p.returncode != 0:
        unavailable(f"{py} cannot import ansible: {p.stderr.strip()[-200:]}")
    return py
