# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``lvs.realserver.compliance`` inside the execution environment, run by ansible-runner as AWX runs it.

The image (execution-environment.yml, built offline by ``./tasks ee``) holds
ansible-core 2.19 on Debian 12's Python 3.11 and the collection installed from
the built tarball. ansible-runner (``--process-isolation``, podman) starts
``ansible-playbook`` in it against four namespace hosts, one per state. The
reports it writes must equal a plain ``ansible-playbook`` run's from the
checkout (.venv, ansible-core 2.21), check time aside.

The hosts are network namespaces of this machine, so the container gets
``--privileged --user 0`` and ``/run/netns`` + ``/etc/netns`` to enter them
(``ip netns exec`` inside the container, the container's own python3 as the
module interpreter). Against real servers an EE connects over SSH and needs
none of that.

Negative control: a host drifted behind Ansible's back (``arp_ignore=0``)
makes the next EE run's report differ, with that host exposed.

Runs under ``./tasks ee``, which builds the image and sets ``LVS_EE_IMAGE``
(the image to test) and ``LVS_ANSIBLE_RUNNER`` (default
``.cache/venv-ee/bin/ansible-runner``); skipped without them.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import lab as _lab
from fleet_lab import EXPECTED, load_reports, namespace_fleet, records, write_inventory, write_wrapper
from lab import ns_sysctl, ns_sysctl_get

IMAGE = os.environ.get("LVS_EE_IMAGE", "")
RUNNER = os.environ.get("LVS_ANSIBLE_RUNNER", str(_lab.REPO_ROOT / ".cache" / "venv-ee" / "bin" / "ansible-runner"))
CONTAINERS_CONF = _lab.REPO_ROOT / "tests" / "images" / "containers.conf"
EE_PYTHON = "/usr/bin/python3"
PLAYBOOK = """\
---
# What the project of an AWX job template would hold: a record of the controller
# (inside the EE), then the collection's playbook.
- name: Show the controller the job runs on
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Controller ansible-core, Python and installed collection
      ansible.builtin.debug:
        msg: >-
          EE-CONTROLLER core={{ ansible_version.full }} python={{ ansible_playbook_python }}
          collection={{ lookup('ansible.builtin.pipe', 'ansible-galaxy collection list lvs.realserver --format json') }}

- name: Fleet compliance, from the collection inside the execution environment
  ansible.builtin.import_playbook: lvs.realserver.compliance
"""


@pytest.fixture(scope="module")
def ee_tools():
    if not IMAGE:
        pytest.skip("LVS_EE_IMAGE is not set (./tasks ee builds the execution environment and runs this)")
    if not Path(RUNNER).exists():
        pytest.skip("no ansible-runner at %s (./tasks ee makes .cache/venv-ee)" % RUNNER)
    env = dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))
    if subprocess.run(["podman", "image", "exists", IMAGE], env=env, check=False).returncode != 0:
        pytest.skip("no execution environment image %s (./tasks ee builds it)" % IMAGE)
    return env


@pytest.fixture(scope="module")
def ee_fleet(netns_lab, lvs_python):
    with namespace_fleet(4, "ee") as (hosts, work):
        for name, host in hosts.items():
            write_wrapper(work / ("python-plain-" + name), host["ns"], lvs_python)
            write_wrapper(work / ("python-ee-" + name), host["ns"], EE_PYTHON)
        yield {"hosts": hosts, "work": work}


def plain_run(ee_fleet, lvs_python):
    work = ee_fleet["work"]
    inventory = write_inventory(work / "inventory-plain.ini", ee_fleet["hosts"],
                                lambda name, host: work / ("python-plain-" + name))
    out = work / "report-plain"
    env = _lab._module_env(_lab.collections_dir())
    p = subprocess.run([str(Path(lvs_python).parent / "ansible-playbook"), "lvs.realserver.compliance",
                        "-i", str(inventory), "-e", "lvs_compliance_report_dir=%s" % out,
                        "-e", "lvs_compliance_fail=false"],
                       capture_output=True, text=True, env=env, cwd=str(work), timeout=300, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    return out


def runner_run(ee_fleet, env, ident):
    """ansible-runner with process isolation in the EE; returns (private data dir, artifacts dir, stdout)."""
    work = ee_fleet["work"]
    pdd = work / ("runner-" + ident)
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "project" / "compliance.yml").write_text(PLAYBOOK)
    write_inventory(pdd / "inventory" / "hosts", ee_fleet["hosts"], lambda name, host: work / ("python-ee-" + name))
    argv = [RUNNER, "run", str(pdd), "--ident", ident, "-p", "compliance.yml",
            "--process-isolation", "--process-isolation-executable", "podman", "--container-image", IMAGE,
            # Only because the hosts are namespaces of this machine (see the module docstring).
            # No tests/images/sysctl-guard.sh: PID 1 is ansible-playbook, not systemd, and writes
            # no /proc/sys; ./tasks test's machine-sysctls comparison would catch it if it did.
            "--container-option=--privileged", "--container-option=--user=0",
            "--container-option=--network=none", "--container-option=--pull=never",
            "--container-volume-mount=/run/netns:/run/netns:rslave",
            "--container-volume-mount=/etc/netns:/etc/netns",
            "--container-volume-mount=%s:%s" % (work, work),
            "--cmdline=-v -e lvs_compliance_report_dir=/runner/reports -e lvs_compliance_fail=false"]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(work), timeout=600, check=False)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    return pdd, pdd / "artifacts" / ident, p.stdout


def test_compliance_in_the_ee_equals_a_plain_run(ee_fleet, ee_tools, lvs_python, capsys):
    hosts = ee_fleet["hosts"]
    plain = load_reports(plain_run(ee_fleet, lvs_python))
    pdd, artifacts, stdout = runner_run(ee_fleet, ee_tools, "compliance")
    # It ran in the image, with the image's ansible-core and the collection from the tarball.
    command = json.loads((artifacts / "command").read_text())["command"]
    assert command[:2] == ["podman", "run"] and IMAGE in command, command
    events = [json.loads(p.read_text()) for p in sorted((artifacts / "job_events").glob("*.json"))]
    messages = [e["event_data"]["res"]["msg"] for e in events
                if e["event"] == "runner_on_ok" and e["event_data"].get("task_action") == "ansible.builtin.debug"
                and str(e["event_data"]["res"].get("msg", "")).startswith("EE-CONTROLLER")]
    assert len(messages) == 1, stdout[-3000:]
    controller = re.match(r"EE-CONTROLLER core=(\S+) python=(\S+) collection=(.*)$", messages[0], re.S)
    assert controller.group(1).startswith("2.19.") and controller.group(2) == EE_PYTHON, controller.groups()
    installed = json.loads(controller.group(3))
    version = yaml.safe_load((_lab.REPO_ROOT / "galaxy.yml").read_text())["version"]
    assert installed == {"/usr/share/ansible/collections/ansible_collections": {"lvs.realserver": {"version": version}}}
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    ok_hosts = sorted(e["event_data"]["host"] for e in events
                      if e["event"] == "runner_on_ok" and e["event_data"].get("task_action") == "lvs.realserver.arp_facts")
    assert ok_hosts == sorted(hosts)

    in_ee = load_reports(pdd / "reports")
    assert dict((h, r["status"]) for h, r in records(in_ee["json"]).items()) == \
        dict((h, EXPECTED[v["state"]]) for h, v in hosts.items())
    assert in_ee == plain
    with capsys.disabled():
        print("\nansible-runner in the EE: %s\ncontroller in the EE: %s\n%s" % (
            " ".join(command[:3] + ["..."] + command[command.index(IMAGE):]), messages[0].replace("\n", " "),
            "\n".join(line for line in re.sub(r"\x1b\[[0-9;]*m", "", stdout).splitlines()[-24:] if line.strip())))

    # Negative control: one host drifts; the next run in the EE reports it and no longer equals the plain run.
    victim = next(h for h in sorted(hosts) if hosts[h]["state"] == "good")
    ns = hosts[victim]["ns"]
    before = ns_sysctl_get(ns, "net.ipv4.conf.all.arp_ignore")
    ns_sysctl(ns, {"net.ipv4.conf.all.arp_ignore": 0})
    try:
        pdd, _artifacts, _stdout = runner_run(ee_fleet, ee_tools, "drift")
    finally:
        ns_sysctl(ns, {"net.ipv4.conf.all.arp_ignore": int(before)})
    drifted = load_reports(pdd / "reports")
    assert drifted != plain
    assert records(drifted["json"])[victim]["status"] == "exposed"
    assert victim in drifted["json"]["summary"]["failing"]
