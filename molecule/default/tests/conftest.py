# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""Fixtures for the default scenario's testinfra tests.

Run by `molecule verify`, or by hand against running instances:

    pytest --hosts=podman://lvsrs-default-debian12,podman://lvsrs-default-debian13 molecule/default/tests
    pytest --hosts='ansible://all' --ansible-inventory=INVENTORY molecule/default/tests

The phase (converged, restarted, absent, negative) is read from a file on each
instance that the side-effect playbooks write before they restart it, so the
same test files know whether they run before or after a restart.
"""

import pytest

import checks


@pytest.fixture(scope="session")
def cfg():
    return checks.load_config()


@pytest.fixture(scope="module")
def phase(host):
    f = host.file(checks.PHASE_FILE)
    return f.content_string.strip() if f.exists else "converged"


@pytest.fixture(scope="module")
def healthy(phase):
    """Skip unless the host is meant to be in its converged state."""
    if phase not in ("converged", "restarted"):
        pytest.skip("phase %s: the host was sabotaged on purpose" % phase)
    return phase


@pytest.fixture(scope="module")
def restarted(phase):
    if phase != "restarted":
        pytest.skip("phase %s: only after the restart side effect" % phase)
    return phase


@pytest.fixture(scope="module")
def absent(phase):
    if phase != "absent":
        pytest.skip("phase %s: only after the role ran with realserver_state=absent" % phase)
    return phase


@pytest.fixture(scope="module")
def negative(phase):
    if phase != "negative":
        pytest.skip("phase %s: only after the negative-control side effect" % phase)
    return phase
