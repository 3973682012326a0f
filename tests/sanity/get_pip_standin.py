# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver developers
"""Offline stand-in for the get-pip.py that ansible-test downloads.

ansible-test bootstraps pip into each venv it creates by running
``~/.ansible/test/cache/get_pip_<pip version>.py`` and, when that file is
missing, downloads it from a host that is not reachable from our machines.
``./tasks setup`` installs this file under that name. It gets the same
arguments as the real script (``--disable-pip-version-check pip==X.Y
--no-setuptools --no-wheel``): it bootstraps pip from the interpreter's own
``ensurepip``, then lets that pip install the requested packages from the
package index. ``--no-setuptools``/``--no-wheel`` only mean "do not add them",
which a plain ``pip install`` already honours.
"""

from __future__ import annotations

import subprocess
import sys

DROPPED_ARGS = frozenset(('--no-setuptools', '--no-wheel'))


def main() -> None:
    """Bootstrap pip with ensurepip, then install what get-pip.py was asked for."""
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED_ARGS]
    subprocess.run([sys.executable, '-m', 'ensurepip', '--default-pip'], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, '-m', 'pip', 'install'] + args, check=True)


if __name__ == '__main__':
    main()
