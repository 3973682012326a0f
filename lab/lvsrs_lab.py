# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The LVS-DR lab from the controller's side: containers, network, probes.

Standard library only; needs root and podman. Used by lab/demo.py and by the
molecule `cluster` scenario's verify and prepare playbooks (through the CLI),
so that the demo and CI measure the wire the same way.

Topology. PREFIX and SUBNET: lvsrs-demo and 198.51.100.0/25 for the demo,
lvsrs-mc and 198.51.100.128/25 for the molecule scenario (both can run at
once); addresses are offsets into SUBNET:

    PREFIX-net       podman bridge network, --internal (no gateway, no NAT:
                     nothing leaves it)
    PREFIX-client    +10        sends ARP requests and HTTP GETs to the VIP
    PREFIX-director  +5         owns the VIP on eth0; an nftables netdev
                                ingress rule plays IPVS-DR (new MACs, same NIC)
    PREFIX-rs1/rs2   +11/+12    real servers: VIP on lo, web service
    VIP              +100, TCP port 80

CLI (prints JSON on stdout; errors as one line on stderr, exit 2):

    lvsrs_lab.py [--prefix P] [--subnet S] up|down|inventory FILE|macs
    lvsrs_lab.py [...] arp [--rounds N]
    lvsrs_lab.py [...] http [--count N]
    lvsrs_lab.py [...] announce
"""

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE_SRC = ROOT / "lab" / "playbooks" / "files" / "lvsrs_probe.py"
# PID 1 of the privileged containers before systemd: /proc/sys read-only but
# for net/, so their systemd cannot raise the machine's fs.nr_open.
SYSCTL_GUARD = ROOT / "tests" / "images" / "sysctl-guard.sh"
SYSCTL_GUARD_IN_CT = "/usr/local/sbin/lvsrs-sysctl-guard"
PROBE_DST = "/usr/local/bin/lvsrs_probe.py"
CONTAINERS_CONF = ROOT / "tests" / "images" / "containers.conf"
DEFAULT_IMAGE = "localhost/lvs-realserver-debian12:latest"
IFACE = "eth0"
PORT = 80
BOOT_TIMEOUT = 90

# role -> (host offset in the subnet, hostname)
HOSTS = {
    "client": (10, "client"),
    "director": (5, "director"),
    "rs1": (11, "rs1"),
    "rs2": (12, "rs2"),
}
VIP_OFFSET = 100
REALSERVERS = ("rs1", "rs2")


class LabError(Exception):
    """A failure with a message meant for the user (no traceback)."""


class Lab:
    def __init__(self, prefix="lvsrs-demo", subnet="198.51.100.0/25", image=DEFAULT_IMAGE):
        if not prefix.startswith("lvsrs-"):
            raise LabError("lab names must start with lvsrs- (got %r)" % prefix)
        self.prefix = prefix
        self.net = ipaddress.ip_network(subnet)
        self.image = image
        self.network = prefix + "-net"
        self._macs = None

    # -- names and addresses ------------------------------------------------
    def name(self, role):
        return "%s-%s" % (self.prefix, role)

    def ip(self, role):
        return str(self.net.network_address + HOSTS[role][0])

    @property
    def vip(self):
        return str(self.net.network_address + VIP_OFFSET)

    @property
    def names(self):
        return [self.name(r) for r in HOSTS]

    def macs(self):
        """{role: MAC of eth0}; read once."""
        if self._macs is None:
            self._macs = {r: self.exec(r, "cat", "/sys/class/net/%s/address" % IFACE).strip().lower()
                          for r in HOSTS}
        return self._macs

    def who(self, mac):
        """The role owning MAC ("director", "rs1", ...) or the MAC itself."""
        for role, m in self.macs().items():
            if m == mac.lower():
                return role
        return mac

    # -- podman -------------------------------------------------------------
    def exec(self, role, *cmd, input=None, check=True, timeout=60):
        opts = ["-i"] if input is not None else []
        res = podman("exec", *opts, self.name(role), *cmd, input=input, check=False,
                     timeout=timeout)
        if check and res.returncode != 0:
            raise LabError("%s: `%s` failed (rc %d): %s" % (
                self.name(role), " ".join(cmd), res.returncode, last_line(res.stderr or res.stdout)))
        return res.stdout

    def probe(self, *args, timeout=60):
        out = self.exec("client", "python3", PROBE_DST, *args, timeout=timeout)
        return parse_json(out, "lvsrs_probe.py " + " ".join(args))

    def up(self):
        """Create the network and the four containers, wait for systemd."""
        self.down()
        podman("network", "create", "--internal", "--subnet", str(self.net),
               "--label", "org.lvs-realserver.lab=" + self.prefix, self.network)
        for role, (dummy, hostname) in HOSTS.items():
            podman("run", "-d", "--privileged", "--systemd=always",
                   "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                   "--network", self.network, "--ip", self.ip(role),
                   "--hostname", hostname, "--name", self.name(role),
                   "--label", "org.lvs-realserver.lab=" + self.prefix,
                   "--volume", "%s:%s:ro" % (SYSCTL_GUARD, SYSCTL_GUARD_IN_CT),
                   self.image, SYSCTL_GUARD_IN_CT, "/sbin/init")
        self.wait_booted()
        podman("cp", str(PROBE_SRC), "%s:%s" % (self.name("client"), PROBE_DST))

    def wait_booted(self):
        """Wait until systemd in every container is up ("running", or
        "degraded": a failed unit is reported on stderr but does not stop the
        lab; what the lab needs is checked by the steps that use it)."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        pending = list(HOSTS)
        while pending:
            for role in list(pending):
                res = podman("exec", self.name(role), "systemctl", "is-system-running",
                             check=False, timeout=20)
                state = res.stdout.strip()
                if state in ("running", "degraded"):
                    pending.remove(role)
                if state == "degraded":
                    failed = podman("exec", self.name(role), "systemctl", "--failed",
                                    "--no-legend", "--plain", check=False).stdout.split()
                    print("lvsrs_lab.py: warning: %s booted degraded (failed: %s)"
                          % (self.name(role), " ".join(u for u in failed if "." in u) or "?"),
                          file=sys.stderr)
            if pending and time.monotonic() > deadline:
                raise LabError("systemd did not finish booting in %s within %d s"
                               % (", ".join(self.name(r) for r in pending), BOOT_TIMEOUT))
            if pending:
                time.sleep(0.3)

    def down(self):
        """Remove the containers and the network, by name; missing ones are fine."""
        existing = set(podman("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split())
        victims = [n for n in self.names if n in existing]
        if victims:
            podman("rm", "-f", "-t", "0", *victims, check=False, timeout=120)
        nets = podman("network", "ls", "--format", "{{.Name}}", check=False).stdout.split()
        if self.network in nets:
            podman("network", "rm", "-f", self.network, check=False)

    def inventory(self, path):
        """An Ansible INI inventory for the lab (podman connection)."""
        lines = []
        for group, roles in (("client", ["client"]), ("director", ["director"]),
                             ("realservers", list(REALSERVERS))):
            lines.append("[%s]" % group)
            lines.extend(self.name(r) for r in roles)
            lines.append("")
        lines += ["[all:vars]",
                  "ansible_connection=containers.podman.podman",
                  "ansible_python_interpreter=/usr/bin/python3",
                  "lab_vip=%s" % self.vip,
                  "lab_port=%d" % PORT,
                  "lab_iface=%s" % IFACE,
                  ""]
        Path(path).write_text("\n".join(lines))

    # -- probes ---------------------------------------------------------------
    def flush_neighbours(self, *roles):
        for role in roles:
            self.exec(role, "ip", "neigh", "flush", "all")

    def arp(self, rounds=5):
        """Who answers "who-has VIP" from the client, per round."""
        data = self.probe("arp", self.vip, "--rounds", str(rounds))
        data["rounds_by_name"] = [[self.who(m) for m in r] for r in data["rounds"]]
        data["answered_by"] = [self.who(m) for m in data["macs"]]
        return data

    def http(self, count=6):
        """COUNT GETs to VIP:80 from the client through the director."""
        self.flush_neighbours("client", *REALSERVERS)
        data = self.probe("http", self.vip, "--count", str(count), "--port", str(PORT))
        for req in data["requests"]:
            req["reply_from"] = [self.who(m) for m in req.get("reply_macs", [])]
        for a in data["arp_requests"]:
            a["sender"] = self.who(a["sender_mac"])
        return data

    def announce(self):
        """Each real server pings the client from the VIP (its neighbour cache
        flushed first); the client records the ARP requests on the wire."""
        self.flush_neighbours("client", *REALSERVERS)
        watcher = subprocess.Popen(
            ["podman", "exec", "-i", self.name("client"), "python3", PROBE_DST, "watch-arp",
             "--seconds", "15"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=podman_env())
        try:
            ready = watcher.stdout.readline().strip()
            if ready != "ready":
                watcher.kill()
                err = watcher.communicate(timeout=10)[1]
                raise LabError("ARP watcher on the client did not start: %s" % last_line(err))
            threads = [threading.Thread(target=self._ping_from_vip, args=(r,)) for r in REALSERVERS]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(0.2)
            out, err = watcher.communicate(input="", timeout=20)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
        if watcher.returncode != 0:
            raise LabError("ARP watcher on the client failed: %s" % last_line(err))
        seen = parse_json(out, "lvsrs_probe.py watch-arp")["arp_requests"]
        macs = self.macs()
        result = {"vip": self.vip, "client": self.ip("client"), "realservers": {}}
        for role in REALSERVERS:
            reqs = [a for a in seen if a["sender_mac"] == macs[role]]
            result["realservers"][role] = {
                "ip": self.ip(role),
                "mac": macs[role],
                "sender_ips": sorted({a["sender_ip"] for a in reqs}),
                "requests": reqs,
            }
        return result

    def _ping_from_vip(self, role):
        self.exec(role, "ping", "-n", "-q", "-c", "1", "-W", "0.5", "-I", self.vip,
                  self.ip("client"), check=False, timeout=20)


# -- helpers ------------------------------------------------------------------
def podman_env():
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and CONTAINERS_CONF.is_file():
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(*args, input=None, check=True, timeout=300):
    try:
        res = subprocess.run(["podman", *args], input=input, capture_output=True, text=True,
                             env=podman_env(), timeout=timeout, check=False)
    except FileNotFoundError:
        raise LabError("podman is not installed (apt-get install podman runc)") from None
    except subprocess.TimeoutExpired:
        raise LabError("`podman %s` did not finish within %d s" % (" ".join(args), timeout)) from None
    if check and res.returncode != 0:
        raise LabError("`podman %s` failed: %s" % (" ".join(args[:3]), last_line(res.stderr)))
    return res


def last_line(text):
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def parse_json(text, what):
    try:
        return json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise LabError("%s printed no JSON: %s" % (what, last_line(text))) from None


def main(argv):
    p = argparse.ArgumentParser(prog="lvsrs_lab.py", description=__doc__.split("\n", maxsplit=1)[0])
    p.add_argument("--prefix", default="lvsrs-demo")
    p.add_argument("--subnet", default="198.51.100.0/25")
    p.add_argument("--image", default=DEFAULT_IMAGE)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up")
    sub.add_parser("down")
    sub.add_parser("macs")
    inv = sub.add_parser("inventory")
    inv.add_argument("path")
    a = sub.add_parser("arp")
    a.add_argument("--rounds", type=int, default=5)
    h = sub.add_parser("http")
    h.add_argument("--count", type=int, default=6)
    sub.add_parser("announce")
    args = p.parse_args(argv[1:])
    try:
        lab = Lab(args.prefix, args.subnet, args.image)
        if args.cmd == "up":
            lab.up()
            out = {"up": lab.names, "network": lab.network}
        elif args.cmd == "down":
            lab.down()
            out = {"down": lab.names, "network": lab.network}
        elif args.cmd == "inventory":
            lab.inventory(args.path)
            out = {"inventory": args.path}
        elif args.cmd == "macs":
            out = lab.macs()
        elif args.cmd == "arp":
            out = lab.arp(args.rounds)
        elif args.cmd == "http":
            out = lab.http(args.count)
        else:
            out = lab.announce()
    except LabError as exc:
        print("lvsrs_lab.py: %s" % exc, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=None)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
