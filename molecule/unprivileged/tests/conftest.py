# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""Fixtures for the unprivileged scenario's testinfra tests.

The state checks run over testinfra's podman backend (fast); ``ansible_host``
is the same container through the ansible backend, which ``host.ansible``
needs (the backend a user's default molecule testinfra verifier gives).

By hand, against running instances (after `molecule converge -s unprivileged`):

    MOLECULE_INVENTORY_FILE=~/.cache/molecule/<project>/unprivileged/inventory/ansible_inventory.yml \\
    pytest --hosts=podman://lvsunpriv-debian12,podman://lvsunpriv-debian13 molecule/unprivileged/tests
"""

import os
import subprocess
import sys

import pytest
import testinfra

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The privileged scenario's checks, so that files and unit are judged exactly as there.
sys.path.insert(0, os.path.join(SCENARIO_DIR, "..", "default", "tests"))

import checks  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def cfg():
    """The role's defaults with this scenario's vars.yml (what converge.yml applies)."""
    checks.SCENARIO_DIR = SCENARIO_DIR
    return checks.load_config()


@pytest.fixture(scope="module")
def ansible_host(host):
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("MOLECULE_INVENTORY_FILE is not set (run through molecule verify)")
    return testinfra.get_host("ansible://" + host.backend.name, ansible_inventory=inventory)


@pytest.fixture(scope="module")
def adhoc(host):
    """``adhoc(module, args)``: ``ansible -m MODULE -a ARGS --check`` on this instance, as a user runs it:
    ``(rc, output)`` with the warnings as printed (the tree callback behind host.ansible drops them)."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("MOLECULE_INVENTORY_FILE is not set (run through molecule verify)")

    def run(module, args):
        proc = subprocess.run(
            ["ansible", "-i", inventory, host.backend.name, "-m", module, "-a", args, "--check"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False,
            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
        return proc.returncode, proc.stdout
    return run
