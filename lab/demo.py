# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo's lab part (lab/demo runs it once tools and image are ready).

Starts the LVS-DR lab, shows who answers ARP for the VIP with real servers
configured by hand, applies the lvs.realserver.realserver role, shows the
same probes again plus HTTP through the VIP, prints the compliance table
and tears the lab down (unless --keep). Exit 0 when every expectation held,
1 when one did not (the lines marked FAIL say which), 2 when the lab could
not be run.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lvsrs_lab import REALSERVERS, ROOT, Lab, LabError, podman_env  # noqa: E402

PREFIX = "lvsrs-demo"
SUBNET = "198.51.100.0/25"
ARP_ROUNDS = 5
HTTP_COUNT = 6
HEARTBEAT = 15.0


class Demo:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.workdir)
        self.lab = Lab(PREFIX, SUBNET, args.image)
        self.step_no = args.first_step - 1
        self.steps = args.steps
        self.failures = []
        self.t_start = time.monotonic()

    # -- output --------------------------------------------------------------
    def step(self, title):
        self.step_no += 1
        print("[%d/%d] %s ..." % (self.step_no, self.steps, title), end=" ", flush=True)
        return time.monotonic()

    @staticmethod
    def done(t0, note=""):
        print("ok (%.1f s)%s" % (time.monotonic() - t0, ", " + note if note else ""), flush=True)

    def report(self, ok, text, problem=False):
        """One probe line: [ok], [problem] (expected, before the role) or [FAIL]."""
        tag = "problem" if problem and ok else ("ok" if ok else "FAIL")
        if not ok:
            self.failures.append(text)
        print("  %-9s %s" % ("[%s]" % tag, text), flush=True)

    # -- ansible -------------------------------------------------------------
    def collections_path(self):
        coll = self.work / "collections" / "ansible_collections" / "lvs"
        coll.mkdir(parents=True, exist_ok=True)
        link = coll / "realserver"
        if not link.is_symlink() or os.readlink(link) != str(ROOT):
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(ROOT)
        return str(self.work / "collections")

    def playbook(self, name, playbooks, *extra):
        """Run ansible-playbook with the output in a log; a progress line every
        HEARTBEAT seconds; on failure the failing task's lines and the log."""
        log = self.work / ("%s.log" % name)
        exe = Path(sys.executable).parent / "ansible-playbook"
        env = podman_env()
        env.update(ANSIBLE_COLLECTIONS_PATH=self.collections_path(),
                   ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_SYSTEM_WARNINGS="0",
                   ANSIBLE_STDOUT_CALLBACK="default")
        cmd = [str(exe), "-i", str(self.work / "inventory.ini"), *playbooks, *extra]
        with open(log, "w") as fh:
            fh.write("# %s\n" % " ".join(cmd))
            fh.flush()
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                    cwd=str(ROOT), stdin=subprocess.DEVNULL)
            t0 = last = time.monotonic()
            while proc.poll() is None:
                time.sleep(0.2)
                if time.monotonic() - last >= HEARTBEAT:
                    last = time.monotonic()
                    task = last_task(log)
                    print("\n      ... %.0f s%s" % (last - t0, ", " + task if task else ""),
                          end="", flush=True)
            if last != t0:
                print("\n     ", end=" ", flush=True)
        text = log.read_text(errors="replace")
        return proc.returncode, text, log

    def playbook_or_die(self, name, playbooks, *extra):
        rc, text, log = self.playbook(name, playbooks, *extra)
        if rc != 0:
            print("FAILED")
            for ln in failure_lines(text):
                print("      " + ln)
            raise LabError("ansible-playbook %s failed (rc %d); full log: %s"
                           % (" ".join(playbooks), rc, log))
        return text

    # -- probes --------------------------------------------------------------
    def show_arp(self, before):
        data = self.lab.arp(ARP_ROUNDS)
        macs = self.lab.macs()
        counts = {}
        for rnd in data["rounds_by_name"]:
            for who in rnd:
                counts[who] = counts.get(who, 0) + 1
        order = ["director"] + list(REALSERVERS)
        who_all = sorted(counts, key=lambda w: order.index(w) if w in order else 99)
        if set(counts.values()) == {ARP_ROUNDS}:
            answers = "%s (%d/%d probes)" % (", ".join("%s %s" % (w, macs.get(w, "")) for w in who_all),
                                             ARP_ROUNDS, ARP_ROUNDS)
        else:
            answers = ", ".join("%s %s %d/%d" % (w, macs.get(w, ""), counts[w], ARP_ROUNDS)
                                for w in who_all) or "nobody"
        head = "ARP who-has %s: " % self.lab.vip
        rs_answered = [w for w in who_all if w in REALSERVERS]
        if before:
            self.report(bool(rs_answered), head + answers + (
                "  <- real servers answer for the VIP" if rs_answered
                else "; expected a real server to answer (negative control)"), problem=True)
        else:
            only_dir = all(r == ["director"] for r in data["rounds_by_name"])
            if only_dir:
                answers = "director %s only (%d/%d probes)" % (macs["director"], ARP_ROUNDS, ARP_ROUNDS)
            suffix = "" if only_dir else "; expected the director alone, every time"
            self.report(only_dir, head + answers + suffix)

    def show_announce(self, before):
        data = self.lab.announce()
        leaked = False
        for role, info in data["realservers"].items():
            tells = info["sender_ips"]
            head = "%s pings from the VIP: " % role
            seen = ('"who-has %s tell %s"' % (data["client"], " / ".join(tells))
                    if tells else "no ARP request seen")
            if before:
                leak = self.lab.vip in tells
                leaked = leaked or leak
                self.report(True, head + seen + ("  <- the VIP as ARP sender" if leak else ""),
                            problem=leak)
            else:
                ok = tells == [info["ip"]]
                self.report(ok, head + seen + ("  (its own address)" if ok else
                                               "; expected only %s" % info["ip"]))
        if before and not leaked:
            self.report(False, "no real server announced the VIP before the role "
                        "(negative control)")

    def show_http(self, before):
        data = self.lab.http(HTTP_COUNT)
        reqs = data["requests"]
        served = [r.get("body") or "error" for r in reqs]
        head = "%d GETs to http://%s/: %s" % (len(reqs), self.lab.vip, " ".join(served))
        if before:
            neigh = self.lab.exec("client", "ip", "-j", "neigh", "show", self.lab.vip,
                                  "dev", "eth0", check=False)
            try:
                mac = json.loads(neigh)[0].get("lladdr", "")
            except (ValueError, IndexError):
                mac = ""
            owner = self.lab.who(mac) if mac else "?"
            if owner in REALSERVERS:
                self.report(True, head + "  <- the client sends them to %s's MAC, bypassing "
                            "the director" % owner, problem=True)
            else:
                self.report(True, head + "  (the client's ARP entry for the VIP: %s)" % owner)
            return
        good = (all(r.get("status", "").endswith(" 200 OK") for r in reqs)
                and all(r.get("peer") == self.lab.vip for r in reqs)
                and set(served) == set(REALSERVERS)
                and all(r.get("reply_from") == [r.get("body")] for r in reqs))
        self.report(good, head + ("  (replies from %s, straight from each server's MAC)"
                                  % self.lab.vip if good else
                                  "; expected both real servers, replies from the VIP sent by "
                                  "their own MACs: %s" % json.dumps(reqs)))

    # -- the demo --------------------------------------------------------------
    def run(self):
        lab = self.lab
        print("LVS-DR lab: client, director, rs1, rs2 on podman network %s (%s, internal)"
              % (lab.network, SUBNET))
        print("VIP %s:80 on the director, which forwards like IPVS-DR (nftables: new MACs, "
              "same NIC)" % lab.vip)

        t = self.step("Start the containers %s-{client,director,rs1,rs2}" % PREFIX)
        lab.up()
        lab.inventory(self.work / "inventory.ini")
        self.done(t)

        t = self.step("Director, web services, and the VIP on lo of rs1/rs2 by hand")
        self.playbook_or_die("setup", ["lab/playbooks/setup.yml", "lab/playbooks/handmade_vip.yml"])
        self.done(t)

        print()
        print("BEFORE the role: VIP on lo of rs1, rs2 by hand; kernel defaults arp_ignore=0, "
              "arp_announce=0")
        self.show_arp(before=True)
        self.show_announce(before=True)
        self.show_http(before=True)
        print()

        t = self.step("Apply the role lvs.realserver.realserver to rs1, rs2")
        text = self.playbook_or_die("role", ["lab/playbooks/realservers.yml"])
        self.done(t, "changed: " + ", ".join("%s %s" % (h.replace(PREFIX + "-", ""), c)
                                             for h, c in recap(text, "changed").items()))

        print()
        print("AFTER the role: arp_ignore=1, arp_announce=2 (sysctl.d drop-in), VIP lo:lvs, boot unit")
        self.show_arp(before=False)
        self.show_announce(before=False)
        self.show_http(before=False)
        print()

        t = self.step("Compliance playbook (playbooks/compliance.yml)")
        report_dir = self.work / "compliance"
        rc, text, log = self.playbook(
            "compliance", ["playbooks/compliance.yml"], "-e", "lvs_compliance_hosts=realservers",
            "-e", "lvs_compliance_report_dir=%s" % report_dir)
        report = report_dir / "compliance.json"
        if not report.is_file():
            print("FAILED")
            for ln in failure_lines(text):
                print("      " + ln)
            raise LabError("the compliance playbook wrote no report (rc %d); log: %s" % (rc, log))
        data = json.loads(report.read_text())
        summary = data.get("summary", {})
        self.done(t, "rc %d" % rc)
        print_table(data.get("hosts", []), PREFIX + "-")
        ok = rc == 0 and summary.get("compliant") == len(REALSERVERS)
        self.report(ok, "both real servers compliant" if ok else
                    "expected both real servers compliant (rc %d, summary %s)" % (rc, summary))
        print("  reports: %s/compliance.{json,xml,md}" % report_dir)


def last_task(log):
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for ln in reversed(lines):
        if ln.startswith("TASK ["):
            return ln[6:].split("]")[0]
    return ""


def failure_lines(text, limit=12):
    out = []
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith(("fatal:", "failed:", "ERROR!", "[ERROR]")) or "FAILED!" in ln:
            task = next((lines[j] for j in range(i, -1, -1) if lines[j].startswith("TASK [")), "")
            if task and task not in out:
                out.append(task.rstrip(" *"))
            out.append(ln[:300])
    return out[-limit:] or lines[-limit:]


def recap(text, field):
    """{host: int(field)} from the PLAY RECAP."""
    res = {}
    in_recap = False
    for ln in text.splitlines():
        if ln.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in ln:
            host, rest = ln.split(":", 1)
            for tok in rest.split():
                k, v = (tok.split("=", 1) + [""])[:2]
                if k == field and v.isdigit():
                    res[host.strip()] = int(v)
    return res


def print_table(hosts, strip):
    rows = [("host", "status", "VIPs", "at boot", "violations")]
    for h in hosts:
        facts = h.get("facts") or {}
        vips = facts.get("vips") or []
        vip_txt = ",".join(str(v.get("local", "?")) if isinstance(v, dict) else str(v)
                           for v in vips) or "-"
        viol = facts.get("violations") or []
        viol_txt = ", ".join(("%s(%s)" % (v.get("code"), v["interface"]) if v.get("interface")
                              else str(v.get("code"))) if isinstance(v, dict) else str(v)
                             for v in viol) or "none"
        boot = (facts.get("at_boot") or {})
        boot_txt = boot.get("state") or ("compliant" if boot.get("compliant") else "-")
        rows.append((h.get("host", "?").replace(strip, ""), h.get("status", "?"), vip_txt,
                     boot_txt, viol_txt))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def main(argv):
    p = argparse.ArgumentParser(prog="lab/demo.py")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--image", default="localhost/lvs-realserver-debian12:latest")
    p.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "lvsrs-demo"))
    p.add_argument("--first-step", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args(argv[1:])
    Path(args.workdir).mkdir(parents=True, exist_ok=True)

    # SIGINT/SIGTERM/SIGHUP as KeyboardInterrupt, so that `finally` tears the
    # lab down; remembered, because a podman child hit by the same Ctrl-C may
    # make a step fail first.
    signalled = []

    def interrupt(signum, frame):
        signalled.append(signum)
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    demo = Demo(args)
    rc = 0
    try:
        demo.run()
    except LabError as exc:
        if signalled:
            print("\ninterrupted", file=sys.stderr)
            rc = 130
        else:
            print("\nERROR: %s" % exc, file=sys.stderr)
            rc = 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        rc = 130
    finally:
        try:
            if args.keep:
                print()
                print("The lab is left running (--keep). Enter a container:")
                print("  podman exec -it %s bash      (also -director, -rs1, -rs2)" % demo.lab.name("client"))
                print("  in the client: curl -s http://%s/ ; arping -c3 %s" % (demo.lab.vip, demo.lab.vip))
                print("  Ansible inventory: %s" % (demo.work / "inventory.ini"))
                print("Remove it: lab/demo --down")
            else:
                t = demo.step("Tear down (containers and network, by name)")
                demo.lab.down()
                demo.done(t)
        except (LabError, KeyboardInterrupt) as exc:
            print("\nERROR during teardown: %s" % exc, file=sys.stderr)
            rc = rc or 2
    if rc == 0 and demo.failures:
        rc = 1
    total = time.monotonic() - demo.t_start
    if rc == 0:
        print("\nPASS: the real servers answered ARP for the VIP before the role, only the director"
              " does after it; HTTP through the VIP served by both (%.0f s)" % total)
    elif rc == 1:
        print("\nFAIL: %s" % "; ".join(demo.failures), file=sys.stderr)
        print("logs: %s" % demo.work, file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
