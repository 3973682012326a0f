# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The boot-time VIP controller behind ``lvs-realserver-vips guard|start|stop [--data FILE]``.

lvs.realserver.boot_unit installs this file, with the evaluator, the ip
helpers and the /proc edge beside it, under /usr/libexec/lvs-realserver/, and
a systemd unit that runs ``guard`` (ExecStartPre), ``start`` and ``stop``.
The VIPs come from a data file written by the same module. ``guard`` asks the
same evaluator as arp_facts and loopback_vip and fails closed: no VIP is
better than a poisoned LAN. ``metrics --out FILE.prom`` (installed with
``metrics: true``, run by a timer) writes the same verdict for node_exporter's
textfile collector (``_metrics``).

Standard library only; the planning functions are pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import socket
import struct
import sys
import time

if __name__.startswith("ansible_collections."):
    from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
    from ansible_collections.lvs.realserver.plugins.module_utils import _iproute as iproute
    from ansible_collections.lvs.realserver.plugins.module_utils import _runtime as runtime
else:  # installed on a real server: the entry script imports its own files only, never a collection copy
    import _arp_rules as rules  # noqa: E402 pylint: disable=import-error
    import _iproute as iproute  # noqa: E402 pylint: disable=import-error
    import _runtime as runtime  # noqa: E402 pylint: disable=import-error

DATA_FILE = "/etc/lvs-realserver/vips.json"
SEARCH_PATH = "/usr/sbin:/sbin:/usr/bin:/bin"
EXIT_REFUSED = 3


def render_data(addresses, device, scope, label, mode):
    """The data file: deterministic JSON, one VIP list for start and stop."""
    data = {
        "addresses": [str(iproute.parse_vip(a)[0]) for a in addresses],
        "device": device,
        "scope": scope,
        "label": label,
        "mode": mode,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load_data(text):
    data = json.loads(text)
    for key in ("addresses", "device", "scope", "label", "mode"):
        if key not in data:
            raise ValueError("%s has no %r" % (DATA_FILE, key))
    return data


def vips(data):
    """``[(ipaddress, prefixlen)]`` of the data file."""
    return [iproute.parse_vip(a) for a in data["addresses"]]


def guard_problems(data, conf, interfaces):
    """Why adding the IPv4 VIPs now would leak ARP (one line each), or [] when it is safe."""
    ipv4 = [iproute.address(str(ip), bits, data["scope"], data["label"]) for ip, bits in vips(data) if ip.version == 4]
    if not ipv4:
        return []
    after = rules.with_vips(interfaces, data["device"], ipv4)
    report = rules.evaluate(conf, after, mode=data["mode"])
    return [
        "%s %s: effective %s, expected %s: %s (fix: %s)" % (
            v["interface"], v["key"], v["actual"], v["expected"], v["message"], v["fix"])
        for v in rules.guard_violations(report)
    ]


def start_argvs(data, ip_bin, interfaces, modprobe_bin=None):
    """Commands that bring the VIPs up (TUN: ipip loaded and tunl0 up first)."""
    argvs = []
    names = set(i.name for i in interfaces)
    if data["mode"] == "tun":
        if rules.TUN_DEVICE not in names and modprobe_bin:
            argvs.append([modprobe_bin, "ipip"])
        argvs.append([ip_bin, "link", "set", rules.TUN_DEVICE, "up"])
    for ip, _bits in vips(data):
        label = data["label"] if ip.version == 4 else None
        argvs.append(iproute.addr_replace_argv(ip_bin, ip, data["device"], data["scope"], label))
    return argvs


def stop_argvs(data, ip_bin, interfaces):
    """Commands that remove exactly the data file's VIPs that are present."""
    present = set(
        (a.local, a.prefixlen)
        for i in interfaces if i.name == data["device"]
        for a in i.addresses
    )
    return [
        iproute.addr_del_argv(ip_bin, str(ip), bits, data["device"])
        for ip, bits in vips(data)
        if (str(ip), bits) in present
    ]


def which(name):
    """The first executable ``name`` in ``SEARCH_PATH`` (boot has no login PATH), or None."""
    for directory in SEARCH_PATH.split(":"):
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


USAGE = "usage: lvs-realserver-vips guard|start|stop|watch [--data FILE] | metrics --out FILE.prom [--data FILE]"


def parse_args(argv, data_file=DATA_FILE):
    """``(command, data_file, out)``, or None for a usage error."""
    argv = list(argv)
    if not argv or argv[0] not in ("guard", "start", "stop", "watch", "metrics"):
        return None
    command, options = argv[0], {"--data": data_file, "--out": None}
    rest = argv[1:]
    if len(rest) % 2:
        return None
    for flag, value in zip(rest[::2], rest[1::2]):
        if flag not in options or (flag == "--out" and command != "metrics"):
            return None
        options[flag] = value
    if command == "metrics" and not options["--out"]:
        return None
    return command, options["--data"], options["--out"]


def metrics_library():
    """``_metrics`` (installed only with metrics enabled), checked to come from the controller's own directory."""
    if __name__.startswith("ansible_collections."):
        from ansible_collections.lvs.realserver.plugins.module_utils import _metrics
        return _metrics
    import _metrics  # noqa: E402 pylint: disable=import-error
    here = os.path.dirname(os.path.realpath(__file__))
    for name in ("_metrics", "_boot_model", "_sysctl_d"):
        found = os.path.realpath(sys.modules[name].__file__)
        if os.path.dirname(found) != here:
            raise ImportError("%s was imported from %s, not %s" % (name, found, here))
    return _metrics


def read_running():
    """The running values of every key the guard reads (``_runtime.read_conf`` of ``READ_KEYS``)."""
    return runtime.read_conf(rules.READ_KEYS)


def write_metrics(data, conf, interfaces, out, log, now, library=None, read_candidates=None):
    """Evaluate and write ``out`` atomically; 0, or 2 when a foreign file is there or the write fails.

    ``read_candidates(unreadable=list)``: the sysctl.d reader (default ``_sysctl_d.read_candidates`` of
    ``library``). A file it cannot read is logged and left out of the boot verdict, as arp_facts does.
    """
    library = library or metrics_library()
    if library.foreign(out):
        log("refusing to overwrite %s: not written by lvs.realserver (no marker)" % out)
        return 2
    unreadable = []
    candidates = (read_candidates or library.sysctl_d.read_candidates)(unreadable=unreadable)
    for path in unreadable:
        log("cannot read %s: the boot verdict leaves it out" % path)
    found = library.evaluate(data, conf, interfaces, candidates)
    try:
        library.write_atomic(out, library.render(found, now()))
    except (IOError, OSError) as exc:
        log("cannot write %s: %s" % (out, exc))
        return 2
    return 0


def main(argv, log, run, capture, data_file=DATA_FILE, now=time.time, lock=None, read_conf=read_running,
         find_bin=which, read_candidates=None):
    """Entry point; returns the exit status (0 ok, 2 usage/data error, 3 refused by the guard).

    The I/O is injected by the installed entry script (``ENTRY_SCRIPT``):
    ``log(message)``, ``run(argv)`` (raises on failure) and ``capture(argv) -> text``;
    the readers default to the host's: ``read_conf() -> {interface: {key: value}}`` (/proc/sys),
    ``find_bin(name) -> path or None`` (``which``) and ``read_candidates(unreadable=list)`` (sysctl.d, for
    ``metrics``).
    ``metrics`` never refuses: it writes the verdict, compliant or not, to ``--out``.
    ``watch`` runs until killed (``watch``), taking ``lock`` (the host lock's factory) around each check;
    every other command runs under the host lock the entry script holds.
    """
    parsed = parse_args(argv, data_file)
    if parsed is None:
        log(USAGE)
        return 2
    command, data_file, out = parsed
    if command == "watch":
        # (the pid file only for the installed data file: a test's copy never writes the host's /run)
        return watch(data_file, log, run, capture, lock or runtime.HostLock, read_conf=read_conf, find_bin=find_bin,
                     pid_file=WATCH_PID if data_file == DATA_FILE else None)
    try:
        with open(data_file) as handle:
            data = load_data(handle.read())
    except (IOError, OSError, ValueError) as exc:
        log("cannot read %s: %s" % (data_file, exc))
        return 2
    ip_bin = find_bin("ip")
    if not ip_bin:
        log("ip (iproute2) not found in %s" % SEARCH_PATH)
        return 2
    interfaces = iproute.parse_addr_json(capture(iproute.addr_show_argv(ip_bin)))
    if command == "metrics":
        return write_metrics(data, read_conf(), interfaces, out, log, now, read_candidates=read_candidates)
    if command == "stop":
        argvs = stop_argvs(data, ip_bin, interfaces)
    else:
        problems = guard_problems(data, read_conf(), interfaces)
        for problem in problems:
            log("REFUSED: " + problem)
        if problems:
            log("refusing to add %s: ARP protection is not in effect" % ", ".join(data["addresses"]))
            return EXIT_REFUSED
        if command == "guard":
            log("guard ok: ARP protection in effect for %s" % ", ".join(data["addresses"]))
            return 0
        argvs = start_argvs(data, ip_bin, interfaces, find_bin("modprobe"))
    for one in argvs:
        log("run: %s" % " ".join(one))
        run(one)
    return 0


# --------------------------------------------------------------------------
# watch: the VIPs kept in place while the host's network stack runs
# --------------------------------------------------------------------------
# rtnetlink (linux/rtnetlink.h, linux/netlink.h): the multicast groups and message types the watch reads
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR = 16, 17, 20, 21
NLMSG_OVERRUN = 4
_NLMSGHDR = struct.Struct("=IHHII")
_IFADDRMSG = struct.Struct("=BBBBI")
_IFINFOMSG = struct.Struct("=BxHiII")
# at most REPAIR_BURST repairs in REPAIR_WINDOW seconds: a stack that keeps removing the VIPs is not fought in a loop
REPAIR_BURST = 5
REPAIR_WINDOW = 10.0
# a check without an event this often (a lost event, ENOBUFS, ARP values fixed since a refusal)
POLL_INTERVAL = 30.0
# a flush removes addresses one message at a time: the rest of a burst is read before the check, but a
# stack that keeps changing addresses never holds the check back longer than SETTLE_MAX
SETTLE = 0.05
SETTLE_MAX = 0.25
# arp_facts reads it (with /proc/<pid>/cmdline) to know that the watch runs
WATCH_PID = "/run/lvs-realserver-watch.pid"


def parse_netlink(buf):
    """``[(type, ifindex)]`` of the address and link messages in one rtnetlink datagram (others skipped)."""
    events = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(buf):
        length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(buf, offset)
        if length < _NLMSGHDR.size:
            break
        body = offset + _NLMSGHDR.size
        if kind in (RTM_NEWADDR, RTM_DELADDR) and length >= _NLMSGHDR.size + _IFADDRMSG.size:
            events.append((kind, _IFADDRMSG.unpack_from(buf, body)[4]))
        elif kind in (RTM_NEWLINK, RTM_DELLINK) and length >= _NLMSGHDR.size + _IFINFOMSG.size:
            events.append((kind, _IFINFOMSG.unpack_from(buf, body)[2]))
        elif kind == NLMSG_OVERRUN:
            events.append((kind, 0))
        offset += (length + 3) & ~3
    return events


def wants_check(events, ifindex):
    """Whether these events can have taken a VIP away: an address removed from, or a link change of, the device.

    ``ifindex``: the device's index, or None when it does not exist now (then every removal counts).
    """
    for kind, index in events:
        if kind in (RTM_DELADDR, RTM_NEWLINK, RTM_DELLINK, NLMSG_OVERRUN) and (
                ifindex is None or index in (ifindex, 0) or kind == NLMSG_OVERRUN):
            return True
    return False


def missing_vips(data, interfaces):
    """The data file's VIPs that are not on its device now, as ``[(ipaddress, prefixlen)]``."""
    present = set(
        (a.local, a.prefixlen)
        for i in interfaces if i.name == data["device"]
        for a in i.addresses
    )
    return [(ip, bits) for ip, bits in vips(data) if (str(ip), bits) not in present]


def repair_argvs(data, ip_bin, missing):
    """``ip addr replace`` for each missing VIP, with the data file's scope and label."""
    return [iproute.addr_replace_argv(ip_bin, ip, data["device"], data["scope"],
                                      data["label"] if ip.version == 4 else None)
            for ip, _bits in missing]


class RateLimit(object):
    """At most ``burst`` events in any ``window`` seconds; ``wait(now)``: seconds until the next is allowed."""

    def __init__(self, burst=REPAIR_BURST, window=REPAIR_WINDOW):
        self.burst, self.window, self.times = burst, window, []

    def wait(self, now):
        self.times = [t for t in self.times if now - t < self.window]
        if len(self.times) < self.burst:
            return 0.0
        return self.window - (now - self.times[0])

    def take(self, now):
        self.times.append(now)


# lo's own addresses: a stack that flushes lo takes them with the VIPs (netplan apply with lo rendered to
# NetworkManager, measured in the real-boot tier); nothing answers ARP for them, so the guard does not apply
LOOPBACK_OWN = (("127.0.0.1", 8), ("::1", 128))


def ipv6_enabled(device):
    """Whether IPv6 runs on ``device`` (``::1`` is not lo's own where it is disabled)."""
    try:
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % device) as handle:
            return handle.read().strip() == "0"
    except (IOError, OSError):
        return False


def missing_loopback(device, interfaces, ipv6_on):
    """lo's own 127.0.0.1/8 and ::1/128 missing from ``device`` when it is an up loopback (the kernel itself drops
    and restores ::1 across down and up), as ``[(address, prefixlen)]``."""
    found = [i for i in interfaces if i.name == device and i.loopback and i.up]
    if not found:
        return []
    present = set((a.local, a.prefixlen) for a in found[0].addresses)
    return [(ip, bits) for ip, bits in LOOPBACK_OWN
            if (ip, bits) not in present and (":" not in ip or ipv6_on(device))]


def loopback_argvs(ip_bin, device, missing):
    return [[ip_bin, "-6" if ":" in ip else "-4", "addr", "replace", "%s/%d" % (ip, bits), "dev", device,
             "scope", "host"] for ip, bits in missing]


def cidrs(pairs):
    """``[(address, prefixlen)]`` as ``a/n, b/m`` for the journal."""
    return ", ".join("%s/%d" % (ip, bits) for ip, bits in pairs)


def check_once(data_file, ip_bin, log, run, capture, read_conf, limit, now, said, ipv6_on=ipv6_enabled):
    """One check under the caller's lock: re-add the missing VIPs behind the guard (and lo's own addresses).

    Returns ``(status, retry, device)``: status ``ok``, ``restored``, ``refused``,
    ``limited`` or ``nodata``; ``retry``: seconds until another check is due
    (the rate limit), or None; ``device``: the data file's device, or None. ``said``: the last refusal logged (a dict the
    caller keeps), so a lasting refusal is logged once.
    """
    try:
        with open(data_file) as handle:
            data = load_data(handle.read())
    except (IOError, OSError, ValueError) as exc:
        if said.get("data") != str(exc):
            log("cannot read %s: %s; not watching until it is back" % (data_file, exc))
        said["data"] = str(exc)
        return "nodata", None, None
    said.pop("data", None)
    interfaces = iproute.parse_addr_json(capture(iproute.addr_show_argv(ip_bin)))
    device = data["device"]
    own = missing_loopback(device, interfaces, ipv6_on)
    missing = missing_vips(data, interfaces)
    if not missing and not own:
        said.pop("refused", None)
        return "ok", None, device
    problems = guard_problems(data, read_conf(), interfaces) if missing else []
    if problems:
        if said.get("refused") != problems:
            for problem in problems:
                log("REFUSED: " + problem)
            log("%s missing from %s; not re-added: ARP protection is not in effect" % (cidrs(missing), device))
        said["refused"] = problems
        missing = []
        if not own:
            return "refused", None, device
    else:
        said.pop("refused", None)
    names = cidrs(own + missing)
    delay = limit.wait(now())
    if delay > 0:
        log("%s missing from %s; rate limit (%d repairs in %g s) reached, next check in %.1f s" % (
            names, device, limit.burst, limit.window, delay))
        return "limited", delay, device
    limit.take(now())
    for one in loopback_argvs(ip_bin, device, own) + repair_argvs(data, ip_bin, missing):
        try:
            run(one)
        except Exception as exc:  # pylint: disable=broad-except  # e.g. the device is down: the next event retries
            log("run: %s failed: %s" % (" ".join(one), exc))
            return "failed", None, device
    if own:
        log("re-added %s, %s's own (the network stack removed them)" % (cidrs(own), device))
    if missing:
        log("re-added %s on %s (ARP protection in effect)" % (cidrs(missing), device))
    return "refused" if problems else "restored", None, device


def open_netlink():
    """A rtnetlink socket subscribed to the address and link groups (IPv4 and IPv6)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
    return sock


def read_events(sock, timeout, clock=time.monotonic):
    """The events that arrive within ``timeout`` seconds (the first wait), then whatever follows within SETTLE
    of the last one, for at most SETTLE_MAX after the first."""
    events = []
    wait, deadline = timeout, None
    while True:
        ready = select.select([sock], [], [], wait)[0]
        if not ready:
            return events
        try:
            events.extend(parse_netlink(sock.recv(1 << 16)))
        except OSError:  # ENOBUFS: events were lost; a full check follows
            events.append((NLMSG_OVERRUN, 0))
        if deadline is None:
            deadline = clock() + SETTLE_MAX
        wait = min(SETTLE, deadline - clock())
        if wait <= 0:
            return events


def device_index(name):
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def write_pid(path=WATCH_PID):
    """The watch's pid, for arp_facts (written atomically; a failure only costs that information)."""
    try:
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "w") as handle:
            handle.write("%d\n" % os.getpid())
        os.rename(tmp, path)
    except (IOError, OSError):
        pass


def watch(data_file, log, run, capture, lock, read_conf=None, sock=None, now=time.time, rounds=None, pid_file=None,
          find_bin=which):
    """Run until killed: check at start, on every address/link event of the device and every POLL_INTERVAL.

    ``lock``: a context manager factory (the host lock), taken only while checking and adding, so that
    a playbook changing the VIPs is never raced; ``rounds``: stop after that many checks (tests).
    """
    ip_bin = find_bin("ip")
    if not ip_bin:
        log("ip (iproute2) not found in %s" % SEARCH_PATH)
        return 2
    read_conf = read_conf or read_running
    sock = sock or open_netlink()
    if pid_file:
        write_pid(pid_file)
    limit, said, retry, done = RateLimit(), {}, None, 0
    device = None
    log("watching %s (netlink address and link events)" % data_file)
    events = None  # the first check
    while rounds is None or done < rounds:
        if events is None or wants_check(events, device_index(device) if device else None):
            try:
                with lock():
                    _status, retry, device = check_once(data_file, ip_bin, log, run, capture, read_conf, limit,
                                                        now, said)
            except runtime.LockTimeout as exc:  # a long playbook run: check again once the poll interval passed
                log(str(exc))
            done += 1
        found = read_events(sock, retry if retry else POLL_INTERVAL)
        events = found if found else None  # None: the poll interval (or the rate limit's delay) passed
    return 0


# The executable installed as /usr/libexec/lvs-realserver/lvs-realserver-vips: the process edges only.
# The unit runs it with ``-I -S -B`` (no environment, no site-packages, no bytecode); its search path is the
# standard library and then its own directory, so a copy of the collection elsewhere can never shadow it.
ENTRY_SCRIPT = """#!%(python)s -ISB
# Managed by lvs.realserver.boot_unit. Do not edit: changes are overwritten.
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if p and os.path.isabs(p) and p != HERE and "-packages" not in p] + [HERE]
for _name in ("_vipctl", "_arp_rules", "_iproute", "_runtime"):
    sys.modules.pop(_name, None)
import _runtime  # noqa: E402
import _vipctl  # noqa: E402

for _name in ("_vipctl", "_arp_rules", "_iproute", "_runtime"):
    _file = os.path.realpath(sys.modules[_name].__file__)
    if os.path.dirname(_file) != HERE:
        sys.stderr.write("lvs-realserver-vips: %%s was imported from %%s, not %%s\\n" %% (_name, _file, HERE))
        sys.exit(2)


def log(message):
    sys.stderr.write("lvs-realserver-vips: %%s\\n" %% message)


def capture(argv):
    return subprocess.check_output(argv).decode("utf-8")


try:
    if sys.argv[1:2] == ["watch"]:  # takes the lock around each check, never while it waits
        status = _vipctl.main(sys.argv[1:], log, subprocess.check_call, capture, lock=_runtime.HostLock)
    else:
        with _runtime.HostLock():
            status = _vipctl.main(sys.argv[1:], log, subprocess.check_call, capture)
except _runtime.LockTimeout as exc:
    log(str(exc))
    status = 2
sys.exit(status)
"""
