# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sliced compliance runs into a shared Redis fact cache, the way AWX job slicing runs them.

A fleet of N namespace hosts (default 12, ``LVS_FLEET_HOSTS``) in four states
(compliant, compliant now but not at boot, exposed, non-compliant) runs
``lvs.realserver.compliance`` as K parallel ``ansible-playbook --limit`` jobs,
K = 1, 2, 4. Slice i of K holds the hosts ``sorted(hosts)[i::K]``, as AWX
deals hosts to its slice jobs. Every job gathers ``arp_facts`` into one real
Redis server (Debian's ``redis-server``, started here on 127.0.0.1, a private
port and a private dir, stopped by pid) through ``community.general.redis``,
one Redis database per K. Then one unsliced run with
``lvs_compliance_from_cache=true`` (every interpreter replaced by
``/bin/false``, so no host can be contacted) builds the fleet report from
the cache.

Asserted: the cache-built report is the same for K = 1, 2 and 4 (all three
files, check time and timestamps aside) and its records equal a plain
unsliced run's records (``source: cache`` instead of ``gathered`` aside);
Redis holds one fact entry per host; every slice's own report covers exactly
its slice. Negative control: a host turned non-compliant behind Ansible's back
and re-gathered in its slice alone shows up, exposed, in the next cache-built
report, and that report no longer equals the reference.

The wall time per host at each K is printed. On this 2-CPU machine all K jobs
share the controller's CPUs; docs/fleet.md turns the figures into a sizing.

Needs ``redis-server`` (Debian) and the Python ``redis`` client next to
Ansible (requirements/dev.txt); ``LVS_EXTRA_PYTHONPATH`` adds a directory
holding the client to the playbook runs' PYTHONPATH.
"""

import os
import re
import resource
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import lab as _lab
from fleet_lab import EXPECTED, load_reports, namespace_fleet, records, write_inventory, write_wrapper
from lab import ns_sysctl

SLICINGS = (1, 2, 4)
FORKS = 5
CACHE_PREFIX = "lvsrs_facts_"


def host_count():
    count = int(os.environ.get("LVS_FLEET_HOSTS", "12"))
    assert 4 <= count <= 99, "LVS_FLEET_HOSTS=%d: use 4..99" % count
    return count


def slices(hosts, k):
    """AWX job slicing: slice i of k gets every k-th host, starting at the i-th."""
    ordered = sorted(hosts)
    return [ordered[i::k] for i in range(k)]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_cli(port, *args, db=0):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "-n", str(db), *args],
                          capture_output=True, text=True, timeout=10, check=True).stdout


@pytest.fixture(scope="module")
def redis_server(netns_lab):
    """Debian's redis-server on 127.0.0.1:<free port>, data in a private dir; stopped by pid."""
    for tool in ("redis-server", "redis-cli"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed (Debian package redis-server; ./tasks setup installs it)" % tool)
    workdir = _lab.run_tmpdir() / "redis"
    workdir.mkdir(exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
         "--logfile", str(workdir / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis_cli(port, "ping").strip() == "PONG":
                    break
            except subprocess.CalledProcessError:
                pass
            assert proc.poll() is None, "redis-server exited: %s" % (workdir / "redis.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "redis-server did not answer on 127.0.0.1:%d" % port
            time.sleep(0.1)
        yield {"port": port, "pid": proc.pid}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def extra_pythonpath(lvs_python):
    """PYTHONPATH for the playbook runs: empty when Ansible's Python has the redis client."""
    extra = os.environ.get("LVS_EXTRA_PYTHONPATH", "")
    env = dict(os.environ, PYTHONPATH=extra)
    probe = subprocess.run([lvs_python, "-c", "import redis"], capture_output=True, text=True, env=env,
                           cwd="/", check=False)
    if probe.returncode != 0:
        pytest.skip("the Python redis client is missing next to %s (requirements/dev.txt pins it; "
                    "./tasks setup installs it)" % lvs_python)
    return extra


@pytest.fixture(scope="module")
def fleet(netns_lab, lvs_python):
    """N namespace hosts behind one hub namespace; the states cycle through STATES."""
    with namespace_fleet(host_count(), "fleet") as (hosts, work):
        for name, host in hosts.items():
            write_wrapper(work / ("python-" + name), host["ns"], lvs_python)
        write_inventory(work / "inventory.ini", hosts, lambda name, host: work / ("python-" + name))
        write_inventory(work / "inventory-unreachable.ini", hosts, lambda name, host: "/bin/false")
        yield {"hosts": hosts, "work": work}


def playbook_argv(lvs_python, work, name, inventory, *extra):
    ansible_playbook = Path(lvs_python).parent / "ansible-playbook"
    if not ansible_playbook.exists():
        pytest.skip("no ansible-playbook next to %s" % lvs_python)
    out = work / ("report-" + name)
    return [str(ansible_playbook), "lvs.realserver.compliance", "-i", str(work / inventory),
            "-e", "lvs_compliance_report_dir=%s" % out, "-e", "lvs_compliance_fail=false", *extra], out


def playbook_env(redis=None, db=None, pythonpath=""):
    env = _lab._module_env(_lab.collections_dir())
    env["ANSIBLE_FORKS"] = str(FORKS)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if redis is not None:
        env.update({
            "ANSIBLE_CACHE_PLUGIN": "community.general.redis",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": "127.0.0.1:%d:%d" % (redis["port"], db),
            "ANSIBLE_CACHE_PLUGIN_PREFIX": CACHE_PREFIX,
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "3600",
        })
    return env


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_parallel(jobs, env, cwd):
    """Start every (argv, out) job at once, as AWX starts its slice jobs.

    Returns (wall seconds, CPU seconds of the whole process trees, outputs).
    """
    start, cpu = time.monotonic(), children_cpu()
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                              cwd=str(cwd), stdin=subprocess.DEVNULL) for argv, _out in jobs]
    outputs = []
    for proc in procs:
        output, _unused = proc.communicate(timeout=600)
        outputs.append((proc.returncode, output))
    return time.monotonic() - start, children_cpu() - cpu, outputs


def run_one(argv, env, cwd):
    seconds, cpu, outputs = run_parallel([(argv, None)], env, cwd)
    rc, output = outputs[0]
    assert rc == 0, output[-4000:]
    return seconds, cpu


def cache_keys(redis, db):
    return sorted(k for k in redis_cli(redis["port"], "--scan", "--pattern", CACHE_PREFIX + "*", db=db).split() if k)


@pytest.fixture(scope="module")
def sliced(fleet, redis_server, extra_pythonpath, lvs_python):
    """The plain unsliced reference run, then for each K: K parallel slices into Redis db K, one report from the cache."""
    work, hosts = fleet["work"], fleet["hosts"]
    argv, plain_out = playbook_argv(lvs_python, work, "plain", "inventory.ini")
    plain_seconds, plain_cpu = run_one(argv, playbook_env(pythonpath=extra_pythonpath), work)
    runs = {}
    for k in SLICINGS:
        redis_cli(redis_server["port"], "flushdb", db=k)
        env = playbook_env(redis_server, k, extra_pythonpath)
        jobs = [playbook_argv(lvs_python, work, "k%d-slice%d" % (k, i), "inventory.ini", "--limit", ",".join(part))
                for i, part in enumerate(slices(hosts, k))]
        seconds, cpu, outputs = run_parallel(jobs, env, work)
        for rc, output in outputs:
            assert rc == 0, output[-4000:]
        argv, cache_out = playbook_argv(lvs_python, work, "k%d-cache" % k, "inventory-unreachable.ini",
                                        "-e", "lvs_compliance_from_cache=true")
        cache_seconds, cache_cpu = run_one(argv, env, work)
        keys = cache_keys(redis_server, k)
        sizes = [int(redis_cli(redis_server["port"], "strlen", key, db=k)) for key in keys]
        runs[k] = {"seconds": seconds, "cpu": cpu, "cache_seconds": cache_seconds, "cache_cpu": cache_cpu, "jobs": jobs,
                   "cache_out": cache_out, "env": env, "keys": keys, "bytes": sum(sizes)}
    # The part of the CPU that a real fleet spends on the targets, not the controller: arp_facts itself
    # (Python start, module, the namespace wrapper), run once per host without Ansible.
    cpu = children_cpu()
    for host in hosts.values():
        assert _lab.run_module(host["ns"], "lvs.realserver.arp_facts", {}).status == "ok"
    module_cpu = children_cpu() - cpu
    return {"plain_seconds": plain_seconds, "plain_cpu": plain_cpu, "plain_out": plain_out, "runs": runs,
            "module_cpu": module_cpu}


def test_sliced_cache_report_equals_the_unsliced_report(fleet, sliced, capsys):
    hosts = fleet["hosts"]
    plain = load_reports(sliced["plain_out"])
    assert dict((h, r["status"]) for h, r in records(plain["json"]).items()) == \
        dict((h, EXPECTED[v["state"]]) for h, v in hosts.items())
    reference = load_reports(sliced["runs"][1]["cache_out"])
    for k, run in sliced["runs"].items():
        # Redis holds one fact entry per host, written by the slice jobs.
        # (ansible-core 2.19+ puts a schema tag such as "s1_" between the prefix and the host.)
        assert sorted(re.sub(r"^.*_", "", key) for key in run["keys"]) == sorted(hosts), (k, run["keys"])
        assert len(run["keys"]) == len(hosts) and all(key.startswith(CACHE_PREFIX) for key in run["keys"])
        # Each slice job reported on exactly its own hosts.
        for (_argv, out), part in zip(run["jobs"], slices(hosts, k)):
            assert sorted(records(load_reports(out)["json"])) == sorted(part)
        cached = load_reports(run["cache_out"])
        assert set(r["source"] for r in cached["json"]["hosts"]) == {"cache"}
        assert cached == reference, "K=%d: the cache-built report differs from K=1's" % k
    # The cache-built records are the plain run's, host by host (only the source differs).
    plain_records = records(plain["json"])
    for host, record in records(reference["json"]).items():
        assert dict(record, source="gathered") == plain_records[host], host
    assert reference["json"]["summary"] == plain["json"]["summary"]

    count = len(hosts)
    load = os.getloadavg()[0]
    lines = ["", "sliced compliance runs, %d hosts, forks=%d per job, Redis fact cache (load average %.1f):"
             % (count, FORKS, load),
             "  plain unsliced run (no cache): %.2f s wall, %.0f ms/host wall, %.0f ms/host CPU" % (
                 sliced["plain_seconds"], 1000 * sliced["plain_seconds"] / count,
                 1000 * sliced["plain_cpu"] / count)]
    lines.append("  arp_facts alone (what a target spends, no Ansible): %.0f ms/host CPU" % (
        1000 * sliced["module_cpu"] / count))
    for k, run in sliced["runs"].items():
        lines.append("  K=%d: %d parallel slice job(s) %.2f s wall, %.0f ms/host wall, %.0f ms/host CPU; "
                     "report from cache %.2f s wall, %.0f ms/host CPU; Redis %d bytes/host" % (
                         k, k, run["seconds"], 1000 * run["seconds"] / count, 1000 * run["cpu"] / count,
                         run["cache_seconds"], 1000 * run["cache_cpu"] / count, run["bytes"] // count))
    lines.append("  largest single process of all runs: %d MB RSS" % (
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
    with capsys.disabled():
        print("\n".join(lines))


def test_a_host_changed_in_one_slice_shows_in_the_cache_built_report(fleet, sliced, redis_server, lvs_python):
    """Negative control: re-gather one slice after a host drifted; the cache-built report shows it."""
    work, hosts = fleet["work"], fleet["hosts"]
    run = sliced["runs"][2]
    reference = load_reports(sliced["runs"][1]["cache_out"])
    part = slices(hosts, 2)[1]
    victim = next(h for h in part if hosts[h]["state"] in ("good", "volatile"))
    ns = hosts[victim]["ns"]
    before = _lab.ns_sysctl_get(ns, "net.ipv4.conf.all.arp_ignore")
    ns_sysctl(ns, {"net.ipv4.conf.all.arp_ignore": 0})
    try:
        argv, _out = playbook_argv(lvs_python, work, "drift-slice", "inventory.ini", "--limit", ",".join(part))
        run_one(argv, run["env"], work)
        argv, out = playbook_argv(lvs_python, work, "drift-cache", "inventory-unreachable.ini",
                                  "-e", "lvs_compliance_from_cache=true")
        run_one(argv, run["env"], work)
    finally:
        ns_sysctl(ns, {"net.ipv4.conf.all.arp_ignore": int(before)})
    drifted = load_reports(out)
    assert drifted != reference
    statuses = dict((h, r["status"]) for h, r in records(drifted["json"]).items())
    expected = dict((h, EXPECTED[v["state"]]) for h, v in hosts.items())
    assert statuses == dict(expected, **{victim: "exposed"})
    codes = [v["code"] for v in records(drifted["json"])[victim]["facts"]["violations"]]
    assert "vip_exposed" in codes, codes
    assert victim in drifted["json"]["summary"]["failing"]
    assert "| %s | **EXPOSED**" % victim in drifted["markdown"]
