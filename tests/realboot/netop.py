# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""Run one network-stack operation in the guest and watch lo's addresses while it runs (issue 14).

    lvsrb-netop VIP[,VIP...] SETTLE MAX -- SHELL COMMAND

Listens to rtnetlink (the kernel's own address events, read at the moment
they happen) and runs `ip -ts monitor address` beside it for the record.
At every event the ARP values are read from /proc: a VIP that appears while
max(all, iface) arp_ignore is not 1/2 or arp_announce is not 2 on some
interface is an ARP-unsafe addition. Stops SETTLE s after the command once
every VIP is present, or MAX s after it. Prints one JSON object.
Standard library only (the guest's /usr/bin/python3).
"""

import ipaddress
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

RTM_NEWADDR, RTM_DELADDR = 20, 21
GROUPS = 0x10 | 0x100
CONF = "/proc/sys/net/ipv4/conf"


def arp_unsafe():
    """The interfaces whose effective arp_ignore/arp_announce would leak a VIP on lo (empty: safe)."""
    def read(i, k):
        try:
            with open(os.path.join(CONF, i, k)) as f:
                return int(f.read())
        except OSError:
            return 0
    base_i, base_a = read("all", "arp_ignore"), read("all", "arp_announce")
    bad = []
    for name in sorted(os.listdir(CONF)):
        if name in ("all", "default", "lo"):
            continue
        ign, ann = max(base_i, read(name, "arp_ignore")), max(base_a, read(name, "arp_announce"))
        if ign not in (1, 2) or ann != 2:
            bad.append("%s(arp_ignore=%d,arp_announce=%d)" % (name, ign, ann))
    return bad


def parse(buf):
    out = []
    off = 0
    while off + 16 <= len(buf):
        length, kind = struct.unpack_from("=IH", buf, off)
        if length < 16:
            break
        if kind in (RTM_NEWADDR, RTM_DELADDR):
            family, _plen, _flags, _scope, index = struct.unpack_from("=BBBBI", buf, off + 16)
            attrs, local, addr = off + 24, None, None
            while attrs + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", buf, attrs)
                if alen < 4:
                    break
                data = buf[attrs + 4:attrs + alen]
                if atype == 1:
                    addr = data
                elif atype == 2:
                    local = data
                attrs += (alen + 3) & ~3
            raw = local or addr
            if raw:
                ip = str(ipaddress.ip_address(bytes(raw)))
                out.append((kind, index, ip))
        off += (length + 3) & ~3
    return out


def present(vips):
    text = subprocess.check_output(["ip", "-j", "addr", "show", "dev", "lo"]).decode()
    have = set(a["local"] for a in json.loads(text)[0]["addr_info"])
    return dict((v, v in have) for v in vips), have


def main(argv):
    sep = argv.index("--")
    vips = [str(ipaddress.ip_address(v)) for v in argv[0].split(",")]
    settle, limit = float(argv[1]), float(argv[2])
    command = " ".join(argv[sep + 1:])
    lo = socket.if_nametoindex("lo")
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, GROUPS))
    mon = subprocess.Popen(["ip", "-ts", "monitor", "address"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = present(vips)[0]
    t0 = time.monotonic()
    absent_since = dict((v, None if ok else 0.0) for v, ok in state.items())
    gaps, events, adds = [], [], []
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done_at, output = None, b""
    while True:
        now = time.monotonic() - t0
        if done_at is None and proc.poll() is not None:
            done_at = now
            output = proc.stdout.read()
        if done_at is not None and all(state.values()) and now >= done_at + settle:
            break
        if done_at is not None and now >= done_at + limit:
            break
        if done_at is None and now > 300:
            proc.kill()
        ready = select.select([sock], [], [], 0.1)[0]
        if not ready:
            continue
        for kind, index, ip in parse(sock.recv(1 << 16)):
            t = round(time.monotonic() - t0, 4)
            if index != lo or ip not in state:
                events.append({"t": t, "event": "new" if kind == RTM_NEWADDR else "del", "ifindex": index,
                               "address": ip})
                continue
            unsafe = arp_unsafe() if kind == RTM_NEWADDR else []
            events.append({"t": t, "event": "new" if kind == RTM_NEWADDR else "del", "ifindex": index,
                           "address": ip, "vip": True, "arp_unsafe": unsafe})
            if kind == RTM_NEWADDR:
                adds.append({"t": t, "vip": ip, "arp_safe": not unsafe})
                if absent_since[ip] is not None:
                    gaps.append({"vip": ip, "from": absent_since[ip], "to": t,
                                 "seconds": round(t - absent_since[ip], 4)})
                absent_since[ip] = None
                state[ip] = True
            else:
                if state[ip]:
                    absent_since[ip] = t
                state[ip] = False
    time.sleep(0.2)
    mon.terminate()
    monitor = mon.communicate(timeout=5)[0].decode(errors="replace")
    final, have = present(vips)
    open_gaps = [{"vip": v, "from": absent_since[v], "to": None, "seconds": None}
                 for v in vips if not final[v] and absent_since[v] is not None]
    print(json.dumps({
        "command": command, "rc": proc.returncode, "output": output.decode(errors="replace")[-1500:],
        "command_s": round(done_at or 0, 3), "present_after": final, "vips_kept": all(final.values()),
        "lost": bool(gaps or open_gaps), "gaps": gaps + open_gaps,
        "max_gap_s": max([g["seconds"] for g in gaps] or [0.0]) if not open_gaps else None,
        "vip_adds": adds, "arp_safe": all(a["arp_safe"] for a in adds), "arp_unsafe_now": arp_unsafe(),
        "loopback_kept": "127.0.0.1" in have and "::1" in have,
        "events": events[:200], "ip_monitor": monitor.splitlines()[:200],
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
