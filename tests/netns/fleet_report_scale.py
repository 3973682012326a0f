# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure the compliance report built from a Redis fact cache at scale (a script, not a test).

    .venv/bin/python tests/netns/fleet_report_scale.py [N ...]      (root; default N: 250 1000)
    LVS_FLEET_PLAYBOOK=path/to/playbook.yml ...                     (another playbook, e.g. a variant)

One namespace host is gathered for real into a private redis-server
(127.0.0.1, a free port, a private dir, stopped by pid); its cache entry is
then copied to N host names and ``lvs.realserver.compliance`` runs with
``lvs_compliance_from_cache=true`` over an inventory of those N names, all with
``/bin/false`` as interpreter. Prints wall time, CPU time of the run's process
tree, CPU per host and the largest process. docs/fleet.md quotes the figures.
"""

import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lab as _lab  # noqa: E402
from fleet_lab import add_host, write_inventory, write_wrapper  # noqa: E402

PREFIX = "lvsrs_facts_"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_now():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(sizes):
    sys.path.insert(0, os.environ.get("LVS_EXTRA_PYTHONPATH", ""))
    import redis  # the client pinned in requirements/dev.txt

    python = _lab.lvs_python()
    playbook = os.environ.get("LVS_FLEET_PLAYBOOK", "lvs.realserver.compliance")
    ansible_playbook = str(Path(python).parent / "ansible-playbook")
    work = _lab.run_tmpdir() / "scale"
    work.mkdir()
    port = free_port()
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(work),
                               "--save", "", "--appendonly", "no", "--logfile", str(work / "redis.log")])
    lb = _lab.Lab()
    try:
        client = redis.StrictRedis("127.0.0.1", port, 0)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        name, host = add_host(lb, lb.add_netns("hub"), 0)
        wrapper = write_wrapper(work / "python", host["ns"], python)
        env = _lab._module_env(_lab.collections_dir())
        env.update(PYTHONPATH=os.environ.get("LVS_EXTRA_PYTHONPATH", ""),
                   ANSIBLE_CACHE_PLUGIN="community.general.redis",
                   ANSIBLE_CACHE_PLUGIN_CONNECTION="127.0.0.1:%d:0" % port,
                   ANSIBLE_CACHE_PLUGIN_PREFIX=PREFIX, ANSIBLE_CACHE_PLUGIN_TIMEOUT="3600")
        inventory = write_inventory(work / "one.ini", {name: host}, lambda n, h: wrapper)
        subprocess.run([ansible_playbook, "lvs.realserver.compliance", "-i", str(inventory),
                        "-e", "lvs_compliance_fail=false", "-e", "lvs_compliance_report_dir=%s" % (work / "one")],
                       env=env, cwd=str(work), capture_output=True, check=True)
        key = next(k.decode() for k in client.keys(PREFIX + "*") if k.decode().endswith("_" + name))
        kind_of = client.type  # a Redis command, not Python's type()
        keyset = next(k.decode() for k in client.keys("*") if kind_of(k) == b"zset")
        member, score = client.zrange(keyset, 0, -1, withscores=True)[0]
        value = client.get(key)
        for count in sizes:
            hosts = dict(("x%05d" % i, {}) for i in range(count))
            pipe = client.pipeline()
            for other in hosts:
                pipe.set(key[:-len(name)] + other, value)
                pipe.zadd(keyset, {member.decode()[:-len(name)] + other: score})
            pipe.execute()
            inventory = write_inventory(work / ("n%d.ini" % count), hosts, lambda n, h: "/bin/false")
            out = work / ("report-%d" % count)
            cpu, start = cpu_now(), time.monotonic()
            run = subprocess.run([ansible_playbook, playbook, "-i", str(inventory), "-e", "lvs_compliance_fail=false",
                                  "-e", "lvs_compliance_from_cache=true", "-e", "lvs_compliance_report_dir=%s" % out],
                                 env=env, cwd=str(work), capture_output=True, text=True, check=False)
            wall, cpu = time.monotonic() - start, cpu_now() - cpu
            assert run.returncode == 0, run.stdout[-3000:]
            statuses = set(h["status"] for h in json.loads((out / "compliance.json").read_text())["hosts"])
            assert statuses == {"compliant"}, statuses
            print("%s from the cache, %d hosts: %.1f s wall, %.1f s CPU, %.1f ms CPU/host, largest process %d MB, "
                  "load average %.1f" % (playbook, count, wall, cpu, 1000 * cpu / count,
                                         resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                                         os.getloadavg()[0]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        errors = lb.cleanup()
        assert not errors, errors


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [250, 1000])
