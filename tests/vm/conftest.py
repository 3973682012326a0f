# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The VM tier's pytest hooks: in strict mode (CI=true, or LVSRS_STRICT=1 as in
./tasks test) a skipped test, or no test at all, fails the run (../real_tier.py)."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from real_tier import pytest_runtest_logreport, pytest_sessionfinish  # noqa: E402,F401  pylint: disable=unused-import
