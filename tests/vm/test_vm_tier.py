# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The VM tier: the role's output booted in a qemu guest with Debian's kernel,
real ip_vs (ipvsadm director, LVS-DR and LVS-TUN) and real ipip.

One positive boot and two negative controls, each a fresh guest
(tests/vm/boot.sh). The role runs once per variant on this machine, inside
throw-away namespaces (tests/vm/collect.sh); the guest boots the files it
wrote. Skipped only when qemu cannot run here at all (a failure instead in
strict mode: CI=true or LVSRS_STRICT=1, see tests/real_tier.py). Needs root.

The guest's serial consoles are kept in tests/output/vm/<scenario>.console.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from real_tier import unavailable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUTPUT = ROOT / "tests" / "output" / "vm"
BOOT = HERE / "boot.sh"
SKIP_RC = 77
LINE = re.compile(r"^(PASS|FAIL): \[([\w-]+)\] (.*)$")

# Every check the positive boot must have run and passed (so an empty or
# truncated guest run cannot pass by saying nothing).
POSITIVE = [
    "modules", "ipip-not-preloaded",
    "rs1-unit-order", "rs1-guard", "rs1-unit", "rs1-vip",
    "rs2-unit-order", "rs2-guard", "rs2-unit", "rs2-vip", "rs2-ipip", "rs2-tunl0-up", "rs2-rp_filter",
    "client", "dr-http", "dr-arp", "dr-arping", "tun-http", "tun-arp", "tun-arping", "tun-decap", "tun-rp_filter",
    "ipvs-conn-dr", "ipvs-conn-tun", "rs1-facts", "rs2-facts", "wire-probe-dr", "wire-probe-tun",
]


class Boot:
    """One guest boot: exit status, console text, the PASS/FAIL verdict per check id."""

    def __init__(self, scenario: str, rc: int, console: str, wall: float):
        self.scenario, self.rc, self.console, self.wall = scenario, rc, console, wall
        self.checks: dict[str, tuple[str, str]] = {}
        for line in console.splitlines():
            match = LINE.match(line)
            if match:
                self.checks[match.group(2)] = (match.group(1), match.group(3))
        self.result = next((line for line in console.splitlines() if line.startswith("RESULT: ")), None)

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.console.splitlines() if line.startswith(prefix)]

    def status(self, check: str) -> str:
        assert check in self.checks, "%s: the guest never reported [%s]:\n%s" % (self.scenario, check, self.summary())
        return self.checks[check][0]

    def message(self, check: str) -> str:
        self.status(check)
        return self.checks[check][1]

    def summary(self) -> str:
        keep = ("PASS: ", "FAIL: ", "FACTS: ", "CONTROL: ", "RESULT: ")
        return "\n".join(line for line in self.console.splitlines() if line.startswith(keep))


def qemu_unusable() -> str | None:
    """Why qemu cannot run here at all, or None."""
    qemu = os.environ.get("LVSRS_VM_QEMU", "qemu-system-x86_64")
    path = shutil.which(qemu)
    if path is None:
        return "%s not found: the VM tier needs qemu (apt-get install qemu-system-x86)" % qemu
    try:
        subprocess.run([path, "-version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return "%s does not run here: %s" % (qemu, exc)
    return None


@pytest.fixture(name="work", scope="module")
def work_fixture():
    reason = qemu_unusable()
    if reason:
        unavailable(reason)
    assert os.geteuid() == 0, "the VM tier needs root (unshare and overlay mounts for the role runs)"
    directory = tempfile.mkdtemp(prefix="lvs-vm-")
    try:
        started = time.monotonic()
        run = subprocess.run([str(BOOT), "prepare", directory], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, check=False)
        print("\n%s(role runs: %.1f s)" % (run.stderr, time.monotonic() - started))
        if run.returncode == SKIP_RC:
            unavailable("boot.sh prepare exited 77: " + run.stderr.strip())
        assert run.returncode == 0, "the role runs failed:\n%s%s" % (run.stdout, run.stderr)
        yield directory
    finally:
        if not os.environ.get("LVSRS_VM_KEEP"):
            shutil.rmtree(directory, ignore_errors=True)


_BOOTS: dict[str, Boot] = {}


def boot(work: str, scenario: str) -> Boot:
    if scenario in _BOOTS:
        return _BOOTS[scenario]
    started = time.monotonic()
    run = subprocess.run([str(BOOT), scenario, work], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - started
    if run.returncode == SKIP_RC:
        unavailable("boot.sh %s exited 77: %s" % (scenario, run.stderr.strip()))
    assert run.returncode in (0, 1, 2), "boot.sh %s could not set up the guest (rc=%d):\n%s" % (
        scenario, run.returncode, run.stderr)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / ("%s.console" % scenario)).write_text(run.stdout)
    result = Boot(scenario, run.returncode, run.stdout, wall)
    print("\n--- %s: %.1f s (%s)\n%s" % (scenario, wall, run.stderr.strip().splitlines()[-1:], result.summary()))
    assert result.result is not None, "%s: the guest printed no RESULT line (crash or timeout):\n%s%s" % (
        scenario, run.stdout[-3000:], run.stderr)
    _BOOTS[scenario] = result
    return result


def test_positive_dr_and_tun_as_the_role_left_them(work):
    """rs1 (DR) and rs2 (TUN) boot from the role's files; real IPVS serves both."""
    b = boot(work, "positive")
    failed = [check for check, verdict in b.checks.items() if verdict[0] != "PASS"]
    assert not failed, "positive boot failed %s:\n%s" % (failed, b.summary())
    for check in POSITIVE:
        assert b.status(check) == "PASS", check
    assert b.result == "RESULT: ALL PASS" and b.rc == 0
    assert "answered by rs1 (got 'hello-from-rs1')" in b.message("dr-http")
    assert "answered by rs2 (got 'hello-from-rs2')" in b.message("tun-http")
    # lvs.realserver.arp_probe from the client: the real IPVS director alone answers for both VIPs
    for mode in ("dr", "tun"):
        assert "(responders: 02:00:00:00:00:01;" in b.message("wire-probe-" + mode), b.summary()
    # the guard and the start command ran from the unit file, in that order
    for host in ("rs1", "rs2"):
        unit = [line for line in b.console.splitlines() if line.startswith("  %s | UNIT: " % host)]
        pre = next(i for i, line in enumerate(unit) if "ExecStartPre=" in line and line.endswith("guard exited 0"))
        start = next(i for i, line in enumerate(unit) if "ExecStart=" in line and line.endswith("start exited 0"))
        assert pre < start, unit


def test_negative_tun_with_systemd_rp_filter_default(work):
    """rs2's role run without the TUN rp_filter keys: systemd's *.rp_filter = 2 wins, TUN is dropped silently."""
    b = boot(work, "neg-tun")
    assert b.rc == 1 and b.result != "RESULT: ALL PASS", b.summary()
    # the failure is exactly the known silent TUN breaker ...
    assert b.status("tun-http") == "FAIL", b.summary()
    assert b.status("tun-rp_filter") == "FAIL"
    assert re.search(r"dropped [1-9]\d* decapsulated packets by rp_filter", b.message("tun-rp_filter"))
    assert b.status("rs2-rp_filter") == "FAIL" and "max(0, 2)" in b.message("rs2-rp_filter")
    assert b.status("rs2-facts") == "FAIL" and "tun_rp_filter" in b.message("rs2-facts")
    # ... silent: the director's IPIP arrived, the guard let the VIP in, ARP is fine
    for check in ("tun-decap", "rs2-guard", "rs2-unit", "rs2-vip", "rs2-tunl0-up", "tun-arp", "tun-arping"):
        assert b.status(check) == "PASS", (check, b.summary())
    # and the DR host is untouched by it
    for check in ("dr-http", "dr-arp", "dr-arping", "rs1-facts"):
        assert b.status(check) == "PASS", (check, b.summary())


def test_negative_dr_without_its_sysctl_dropin(work):
    """rs1's drop-in removed: the boot guard refuses the VIP (exit 3), so DR fails but nothing leaks ARP."""
    b = boot(work, "neg-dr")
    assert b.rc == 1 and b.result != "RESULT: ALL PASS", b.summary()
    # which of the two: refused by the guard (no VIP at all), not answered by ARP
    refused = [line for line in b.console.splitlines() if line.startswith("  rs1 | UNIT: ")]
    assert any(line.endswith(" guard exited 3") for line in refused), refused
    assert any("later commands not run" in line for line in refused), refused
    assert not any("start exited" in line for line in refused), refused
    for check in ("rs1-guard", "rs1-unit", "rs1-vip", "dr-http", "rs1-facts"):
        assert b.status(check) == "FAIL", (check, b.summary())
    assert "arp_ignore_leak" in b.message("rs1-facts") and "vip_missing" in b.message("rs1-facts")
    # no leak: only the director answers ARP for the DR VIP
    assert b.status("dr-arp") == "PASS" and b.status("dr-arping") == "PASS"
    # the control: forced past the guard, the VIP would be answered by rs1 itself
    control = b.lines("CONTROL: ")
    assert control and "02:00:00:00:00:21" in control[0].split("answered by:")[1].split("(")[0], control
    # the wire probe saw the same: the director alone before (the guard held), rs1 too once forced
    assert b.status("wire-probe-dr") == "PASS", b.summary()
    probe = [line for line in control if line.startswith("CONTROL: arp_probe from cl: ")]
    assert probe and probe[0].endswith("answered by: 02:00:00:00:00:01 02:00:00:00:00:21"), control
    # and the TUN host is untouched by it
    for check in ("tun-http", "tun-decap", "rs2-facts"):
        assert b.status(check) == "PASS", (check, b.summary())
