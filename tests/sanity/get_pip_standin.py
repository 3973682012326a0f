# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver developers
"""Offline stand-in for the get-pip.py that ansible-test downloads.

ansible-test bootstraps pip into each venv it creates by running
``~/.ansible/test/cache/get_pip_<pip version>.py`` and, when that file is
missing, downloads it from a host that is not reachable from our machines.
``./tasks setup`` installs this file under that name. It gets the same
arguments as the real script (``--disable-pip-version-check pip==X.Y
--no-setuptools --no-wheel``): it bootstraps pip from the interpreter's own
``ensurepip``, then lets that pip install the requested packages, first from
the local wheels that ``PIP_FIND_LINKS`` names (``./tasks`` adds its
wheelhouse there), then from the package index. ``--no-setuptools`` and
``--no-wheel`` only mean "do not add them", which ``pip install`` honours.
When only pip itself was asked for and neither source has that version, the
pip from ``ensurepip`` stays: ansible-test never checks pip's version.
"""

from __future__ import annotations

import re
import subprocess
import sys

DROPPED_ARGS = frozenset(('--no-setuptools', '--no-wheel'))
BOOTSTRAP_PACKAGE = re.compile(r'^(pip|setuptools|wheel)([<>=!~].*)?$')


def main() -> None:
    """Bootstrap pip with ensurepip, then install what get-pip.py was asked for."""
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED_ARGS]
    pip = [sys.executable, '-m', 'pip', 'install']
    subprocess.run([sys.executable, '-m', 'ensurepip', '--default-pip'], check=True, stdout=subprocess.DEVNULL)
    offline = subprocess.run(pip + ['--no-index'] + args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if offline.returncode == 0:
        return
    online = subprocess.run(pip + ['--retries', '2'] + args, check=False)
    if online.returncode == 0:
        return
    packages = [arg for arg in args if not arg.startswith('-')]
    if packages and all(BOOTSTRAP_PACKAGE.match(package) for package in packages):
        # ansible-test does not check pip's version: the pip that ensurepip
        # bundles does the job when the index cannot be reached.
        sys.stderr.write('get-pip stand-in: could not install %s; keeping the pip from ensurepip\n' % ' '.join(packages))
        return
    sys.exit(online.returncode)


if __name__ == '__main__':
    main()
