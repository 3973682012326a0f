# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The boot controller imports only its own installed files (issue 15, item 7).

A Python whose site-packages hold a copy of the collection (a venv here, made root-owned like a
system interpreter) is the boot unit's interpreter. The installed controller, run exactly as the
unit's ExecStart line runs it, must import the library files beside it and never the copy, whose
modules would announce themselves.
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import host as _host  # noqa: E402

SHADOW = "import sys\nsys.stderr.write('SHADOWED: %s\\n' % __name__)\n"


def make_venv(base: Path) -> Path:
    venv = base / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    utils = site / "ansible_collections" / "lvs" / "realserver" / "plugins" / "module_utils"
    utils.mkdir(parents=True)
    for name in ("_arp_rules.py", "_iproute.py", "_runtime.py", "_vipctl.py"):
        (utils / name).write_text(SHADOW)
        (site / name).write_text(SHADOW)  # plain-name copies as well
    return venv / "bin" / "python3"


def test_the_controller_ignores_a_collection_copy_in_site_packages(make_host, figures):
    h = make_host("imp", veth=False)
    python = make_venv(h.dir / "work")
    # the site-packages copy is importable by this interpreter the ordinary way
    probe = subprocess.run([str(python), "-c", "import _vipctl"], capture_output=True, text=True, check=False)
    assert "SHADOWED" in probe.stderr, probe.stderr
    result, p = h.module("boot_unit", {"addresses": ["192.0.2.10"], "python": str(python)})
    assert result and not result.get("failed"), (result or {}).get("msg") or p.stderr[-500:]
    unit = h.read("/etc/systemd/system/lvs-realserver-vips.service")
    exec_start = [line for line in unit.splitlines() if line.startswith("ExecStartPre=")][0]
    argv = exec_start.split("=", 1)[1].split()
    assert argv[0] == str(python)
    h.sysctl_set({"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2})
    done = h.run(argv, check=False)
    figures["controller_imports"] = dict(argv=" ".join(argv), rc=done.returncode, shadowed="SHADOWED" in done.stderr)
    assert "SHADOWED" not in done.stderr, done.stderr
    assert done.returncode == 0 and "guard ok" in done.stderr, done.stderr
    # and the entry script refuses to run with a module from anywhere but its own directory
    env = dict(os.environ, PYTHONPATH=str(next((h.dir / "work" / "venv").glob("lib/python3*/site-packages"))))
    done = subprocess.run(h.argv([str(python), argv[-2], "guard"]), capture_output=True, text=True,
                          check=False, env=env)
    assert "SHADOWED" not in done.stderr, done.stderr
