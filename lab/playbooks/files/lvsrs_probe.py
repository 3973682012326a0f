# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wire-level probes for the LVS-DR lab, standard library only (raw AF_PACKET).

Runs inside the lab's client container as root and prints one JSON document.

    lvsrs_probe.py arp  TARGET_IP [--iface eth0] [--rounds 5] [--wait 0.6]
        Broadcast an ARP request "who-has TARGET_IP" per round and collect
        every reply during WAIT seconds.  JSON: {"rounds": [[mac, ...], ...],
        "macs": [every distinct answering MAC]}.

    lvsrs_probe.py http VIP [--port 80] [--count 6] [--iface eth0]
        COUNT HTTP/1.0 GETs to VIP:PORT, each on a new connection, while a
        raw socket records the frames on the client's NIC.  JSON per request:
        the body (the real server's name), the TCP peer address, and the
        source MACs of the frames that carried the reply; plus every ARP
        request seen on the wire during the run (sender IP/MAC, target IP):
        a real server resolving the client before it can answer shows which
        address it announces.

    lvsrs_probe.py watch-arp [--iface eth0] [--seconds 10]
        Print "ready" as soon as the capture runs, then record every ARP
        request on the wire (but the client's own) until standard input
        closes or SECONDS pass; then print them as JSON {"arp_requests": [...]}.
        The caller makes a real server send VIP-sourced traffic meanwhile.

Exit status: 0 when the probe ran (whatever it saw), 2 on bad usage or a
harness error (one line on stderr, no traceback).
"""

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def mac_str(raw):
    return ":".join("%02x" % b for b in raw)


def if_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def if_ipv4(iface):
    """The interface's first IPv4 address (from `ip -j addr`)."""
    import subprocess
    out = subprocess.run(["ip", "-4", "-j", "addr", "show", "dev", iface],
                         check=True, capture_output=True, text=True).stdout
    for link in json.loads(out):
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                return a["local"]
    raise RuntimeError("%s has no IPv4 address" % iface)


def parse_arp(frame):
    """(op, sender_mac, sender_ip, target_ip) of an Ethernet ARP frame or None."""
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if htype != 1 or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        return None
    sha = frame[22:28]
    spa = socket.inet_ntoa(frame[28:32])
    tpa = socket.inet_ntoa(frame[38:42])
    return op, mac_str(sha), spa, tpa


def raw_socket(iface, proto):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((iface, proto))
    s.setblocking(False)
    return s


def drain(sock, until):
    """Yield (frame, pkttype): what is queued now, then what comes until `until`."""
    while True:
        while True:
            try:
                frame, addr = sock.recvfrom(65535)
            except BlockingIOError:
                break
            yield frame, addr[2]
        left = until - time.monotonic()
        if left <= 0:
            return
        if not select.select([sock], [], [], left)[0]:
            return


def cmd_arp(args):
    mac = if_mac(args.iface)
    sender = args.sender or if_ipv4(args.iface)
    sock = raw_socket(args.iface, ETH_P_ARP)
    req = (b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP)
           + struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1)
           + mac + socket.inet_aton(sender) + b"\x00" * 6 + socket.inet_aton(args.target))
    rounds, every = [], []
    for dummy in range(args.rounds):
        list(drain(sock, time.monotonic()))  # forget anything queued before
        sock.send(req)
        seen = []
        for frame, pkttype in drain(sock, time.monotonic() + args.wait):
            if pkttype == PACKET_OUTGOING:
                continue
            arp = parse_arp(frame)
            if arp and arp[0] == 2 and arp[2] == args.target and arp[1] not in seen:
                seen.append(arp[1])
        rounds.append(seen)
        every.extend(m for m in seen if m not in every)
    json.dump({"target": args.target, "sender": sender, "rounds": rounds, "macs": every},
              sys.stdout)
    print()


def http_get(vip, port, timeout):
    s = socket.create_connection((vip, port), timeout=timeout)
    try:
        peer = s.getpeername()[0]
        lport = s.getsockname()[1]
        s.sendall(b"GET / HTTP/1.0\r\nHost: " + vip.encode() + b"\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, dummy, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    return peer, lport, status, body.decode("utf-8", "replace").strip()


def arp_request_of(frame, own_mac):
    """{"sender_mac", "sender_ip", "target_ip"} of a foreign ARP request, else None."""
    arp = parse_arp(frame)
    if not arp or arp[0] != 1 or arp[1] == own_mac:
        return None  # own requests come back through the bridge (hairpin mode)
    return {"sender_mac": arp[1], "sender_ip": arp[2], "target_ip": arp[3]}


def cmd_watch_arp(args):
    own = mac_str(if_mac(args.iface))
    sock = raw_socket(args.iface, ETH_P_ARP)
    list(drain(sock, time.monotonic()))
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    seen = []
    stdin_open = True
    while time.monotonic() < deadline:
        watch = [sock] + ([sys.stdin] if stdin_open else [])
        r = select.select(watch, [], [], max(0.0, deadline - time.monotonic()))[0]
        if sys.stdin in r:
            if not os.read(sys.stdin.fileno(), 4096):
                stdin_open = False
                deadline = min(deadline, time.monotonic() + 0.2)  # late frames
        if sock in r:
            for frame, pkttype in drain(sock, time.monotonic()):
                item = None if pkttype == PACKET_OUTGOING else arp_request_of(frame, own)
                if item and item not in seen:
                    seen.append(item)
    json.dump({"arp_requests": seen}, sys.stdout)
    print()


def cmd_http(args):
    own = mac_str(if_mac(args.iface))
    sock = raw_socket(args.iface, ETH_P_ALL)
    list(drain(sock, time.monotonic()))
    results, arps = [], []
    for dummy in range(args.count):
        entry = {}
        try:
            peer, lport, status, body = http_get(args.vip, args.port, args.timeout)
            entry.update(peer=peer, port=lport, status=status, body=body)
        except OSError as exc:
            entry.update(error=str(exc))
        results.append(entry)
        time.sleep(0.05)
    # Frames of every request are queued on the raw socket; sort them out.
    reply_macs = {}
    for frame, pkttype in drain(sock, time.monotonic() + 0.3):
        if pkttype == PACKET_OUTGOING:
            continue
        if struct.unpack("!H", frame[12:14])[0] == ETH_P_ARP:
            item = arp_request_of(frame, own)
            if item and item not in arps:
                arps.append(item)
            continue
        if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
            continue
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 6 or len(frame) < 14 + ihl + 4:
            continue
        src = socket.inet_ntoa(frame[26:30])
        sport, dport = struct.unpack("!HH", frame[14 + ihl:18 + ihl])
        if src == args.vip and sport == args.port:
            macs = reply_macs.setdefault(dport, [])
            m = mac_str(frame[6:12])
            if m not in macs:
                macs.append(m)
    for entry in results:
        if "port" in entry:
            entry["reply_macs"] = reply_macs.get(entry["port"], [])
    json.dump({"vip": args.vip, "requests": results, "arp_requests": arps}, sys.stdout)
    print()


def main(argv):
    p = argparse.ArgumentParser(prog="lvsrs_probe.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("arp")
    a.add_argument("target")
    a.add_argument("--iface", default="eth0")
    a.add_argument("--sender", help="ARP sender IP (default: the interface's address)")
    a.add_argument("--rounds", type=int, default=5)
    a.add_argument("--wait", type=float, default=0.6)
    h = sub.add_parser("http")
    h.add_argument("vip")
    h.add_argument("--iface", default="eth0")
    h.add_argument("--port", type=int, default=80)
    h.add_argument("--count", type=int, default=6)
    h.add_argument("--timeout", type=float, default=3.0)
    w = sub.add_parser("watch-arp")
    w.add_argument("--iface", default="eth0")
    w.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args(argv[1:])
    if os.geteuid() != 0:
        print("lvsrs_probe.py: raw sockets need root", file=sys.stderr)
        return 2
    try:
        {"arp": cmd_arp, "http": cmd_http, "watch-arp": cmd_watch_arp}[args.cmd](args)
    except (OSError, RuntimeError, ValueError) as exc:
        print("lvsrs_probe.py: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
