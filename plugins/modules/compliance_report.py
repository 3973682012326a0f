# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation only: the work is done by the action plugin of the same name
# (plugins/action/compliance_report.py), on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compliance_report
short_description: Write the fleet's LVS real-server compliance reports (JSON, JUnit XML, Markdown) on the controller
version_added: 1.0.0
author:
  - lvs.realserver developers (@lvs-realserver)
description:
  - Builds one record per host from the result of M(lvs.realserver.arp_facts) registered on that host, or from
    the host's cached C(ansible_facts['lvs_realserver']). Writes three reports into O(dir) on the controller,
    C(compliance.json), C(compliance.xml) (JUnit, one test case per host) and C(compliance.md) (a table and the
    findings).
  - Runs once for all hosts, inside the controller's worker process; it opens no connection and runs no module.
    Use it with C(run_once) in a play over the checked hosts, after the task that gathered the facts.
  - Each host gets a status. V(compliant), V(non_compliant) or V(exposed) is the host's verdict. V(unreachable)
    means the gather task could not reach the host. V(error) means the gather task reached the host but returned
    no verdict. V(no_data) means O(from_cache=true) and the fact cache held no verdict for the host.
  - The reports are a function of the fleet's state only. They carry no time (the per-host C(collected_at) of
    M(lvs.realserver.arp_facts) is left out of the records), and every list in them is sorted, so that a check of
    an unchanged fleet gives byte-identical reports, rewrites nothing and reports C(changed=false).
  - The time of the check goes to a fourth, small file, C(compliance.checked.json) (RV(stamp)) - C(checked_at),
    C(reports_changed_at) (when the reports last changed) and each host's C(collected_at). It is rewritten by
    every run that is not in check mode and never counts as a change, since it records when the check ran, not what it
    found. Monitoring can alert on a stale C(checked_at).
  - A report is only replaced when its content or mode differs, through a temporary file in O(dir) and an atomic
    rename; the files are mode C(0644), a missing O(dir) is created with mode C(0755).
  - With O(probe_hosts), the reports also get a wire section from the M(lvs.realserver.arp_probe) results of those
    hosts - for each VIP every MAC that answered or claimed it, mapped to the inventory host whose gathered
    network facts (M(ansible.builtin.setup), C(network) subset) carry that MAC, else V(unknown). Each MAC that is
    not in O(director_macs) is a fleet-level violation C(vip_answered_by), listed in RV(fleet_failing) - a
    C(wire) key in the JSON report, a second JUnit test suite C(lvs.realserver.compliance.wire) (one test case
    per VIP, failing when another MAC answered, and one per failed probe), and a Wire table and findings in the
    Markdown report.
  - The action never fails because of the verdicts, so that the table can be shown first; follow it with
    M(ansible.builtin.fail) on RV(failing) (see the examples). It fails without writing anything on bad options,
    and fails on I/O errors.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.files
attributes:
  action:
    support: full
    description: All of it runs on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
    description: Runs per host like any task; use C(run_once) to write the reports once.
  check_mode:
    support: full
    description: Writes nothing and reports which files would change.
  diff_mode:
    support: full
    description: Shows the old and new content of each file that changes.
  platform:
    platforms: posix
    support: full
    description: The controller's file system.
  safe_file_operations:
    support: partial
    description:
      - Each report is written to a temporary file in its directory and moved over the old one with C(os.replace),
        all staged before the first replace, so a crash leaves every report old or new, never cut. It runs on the
        controller, so it uses no module-side C(atomic_move) and sets no SELinux context.
  vault:
    support: none
    description: The registered facts are used as they are; the action reads no vaulted file.
options:
  dir:
    description:
      - Directory for the reports, on the controller. Missing directories are created.
      - A relative path is relative to the working directory of C(ansible-playbook).
    type: path
    required: true
  hosts:
    description:
      - The hosts to report on. Every name must be in the inventory.
      - Defaults to all hosts of the play (C(ansible_play_hosts_all)), so that C(--limit) works as usual.
    type: list
    elements: str
  gather_var:
    description:
      - Name of the variable under which each host registered the result of M(lvs.realserver.arp_facts).
      - A host without it is reported as V(error).
    type: str
    default: __lvs_compliance_gather
  from_cache:
    description:
      - Read the verdicts from each host's C(ansible_facts['lvs_realserver']) (for example filled from a fact
        cache by an earlier run) instead of O(gather_var). A host without them is reported as V(no_data).
    type: bool
    default: false
  fail:
    description:
      - B(Deprecated), and will be removed in lvs.realserver 2.0.0; setting it, to any value, gives a deprecation
        warning.
      - It does nothing. The action never fails because of the verdicts, whatever O(fail) says, so that the table
        can be shown first; follow it with M(ansible.builtin.fail) when RV(failing) (or RV(fleet_failing)) is not
        empty, under a condition of your own (see the examples; the C(lvs.realserver.compliance) playbook's
        C(lvs_compliance_fail) is such a condition).
      - Until it is removed, its value is still written to the JSON report as C(policy.fail) and returned in
        RV(policy).
    type: bool
    default: true
  fail_on_unreachable:
    description:
      - Count hosts without a verdict (V(unreachable), V(error), V(no_data)) as failing. When false they are
        reported, as skipped test cases in the JUnit report.
    type: bool
    default: true
  fail_on_boot:
    description:
      - Also count as failing the hosts that are compliant now but would not be after a reboot
        (C(at_boot.compliant) is false).
    type: bool
    default: false
  probe_hosts:
    description:
      - The hosts that ran M(lvs.realserver.arp_probe) (every name must be in the inventory). Empty, the default,
        means no wire section.
      - A probe host without a result, or whose probe failed, is reported in the wire section and counts in
        RV(fleet_failing) when O(fail_on_unreachable) is true.
    type: list
    elements: str
    default: []
  probe_var:
    description:
      - Name of the variable under which each probe host registered the result of M(lvs.realserver.arp_probe).
      - With O(from_cache=true) the result is read from the probe host's cached C(ansible_facts['lvs_realserver_probe'])
        instead (the playbook keeps it there with M(ansible.builtin.set_fact) and C(cacheable)).
    type: str
    default: __lvs_compliance_probe
  director_macs:
    description:
      - The MAC addresses allowed to answer for the VIPs, for example both directors of a keepalived pair. Any
        other MAC that answers or claims a VIP is a C(vip_answered_by) violation.
      - Defaults to the MACs of the probe hosts' probe interfaces (RV(lvs.realserver.arp_probe#module:interface_mac)).
    type: list
    elements: str
    default: []
  accept_runtime_skipped:
    description:
      - "Report the hosts whose runtime was skipped (C(ansible_facts.lvs_realserver.runtime) is V(skipped), as in an
        unprivileged container, where the C(lvs.realserver.realserver) role only converges what persists) and that are
        compliant at their next boot with the status V(runtime_skipped) (shown as C(runtime: skipped) in the table),
        not as violations of now. Such a host that is not compliant at its next boot keeps its status."
    type: bool
    default: false
notes:
  - The C(lvs.realserver.compliance) playbook wires M(lvs.realserver.arp_facts), the optional
    M(lvs.realserver.arp_probe) stage, this action, a table and the failure together.
  - MACs are mapped to hosts from the network facts of every host in the inventory that has them (gathered in this
    run or cached), so that a leaking host outside the play is still named.
seealso:
  - module: lvs.realserver.arp_facts
  - module: lvs.realserver.arp_probe
  - module: ansible.builtin.fail
"""

EXAMPLES = r"""
- name: Gather the verdict of every real server
  hosts: realservers
  gather_facts: false
  tasks:
    - name: Gather lvs.realserver.arp_facts
      lvs.realserver.arp_facts:
        detail: verdict  # what the reports show; full also puts the per-key tables into compliance.json
      register: __lvs_compliance_gather
      ignore_unreachable: true
      failed_when: false

- name: Report on the controller
  hosts: realservers
  gather_facts: false
  tasks:
    - name: Write the reports
      lvs.realserver.compliance_report:
        dir: /var/tmp/lvs-compliance
        fail_on_boot: true
      register: compliance
      run_once: true

    - name: Show the compliance table
      ansible.builtin.debug:
        msg: "{{ compliance.markdown_lines }}"
      run_once: true

    - name: Fail when a host is not compliant
      ansible.builtin.fail:
        msg: "Not compliant: {{ compliance.failing | join(', ') }}"
      run_once: true
      when: compliance.failing | length > 0

- name: Ask the wire who answers for the VIPs, from the director
  hosts: directors
  gather_facts: false
  tasks:
    - name: Probe the VIPs
      lvs.realserver.arp_probe:
        interface: eth0
        vips: [192.0.2.10, 2001:db8::10]
      become: true
      register: __lvs_compliance_probe

- name: Report with the wire section
  hosts: realservers
  gather_facts: false
  tasks:
    - name: Write the reports; only the keepalived pair may answer for the VIPs
      lvs.realserver.compliance_report:
        dir: /var/tmp/lvs-compliance
        probe_hosts: "{{ groups['directors'] }}"
        director_macs: ["52:54:00:00:00:01", "52:54:00:00:00:02"]
      register: compliance
      run_once: true

    - name: Fail on a host or on the wire
      ansible.builtin.fail:
        msg: "{{ compliance.failing + compliance.fleet_failing }}"
      run_once: true
      when: (compliance.failing + compliance.fleet_failing) | length > 0

- name: Rebuild the reports from the fact cache, contacting no host
  hosts: realservers
  gather_facts: false
  tasks:
    - name: Write the reports from the cached facts
      lvs.realserver.compliance_report:
        dir: reports
        from_cache: true
      run_once: true
"""

RETURN = r"""
dir:
  description: The absolute path of the report directory.
  returned: success
  type: str
  sample: /var/tmp/lvs-compliance
paths:
  description: The absolute path of each report.
  returned: success
  type: dict
  contains:
    json:
      description: The JSON report (C(summary), C(policy), C(hosts) and, with O(probe_hosts), C(wire)).
      type: str
      sample: /var/tmp/lvs-compliance/compliance.json
    junit:
      description: The JUnit XML report.
      type: str
      sample: /var/tmp/lvs-compliance/compliance.xml
    markdown:
      description: The Markdown report.
      type: str
      sample: /var/tmp/lvs-compliance/compliance.md
stamp:
  description: The absolute path of the stamp file with the time of the check (not one of the reports).
  returned: success
  type: str
  sample: /var/tmp/lvs-compliance/compliance.checked.json
changed_files:
  description: The reports that were written (in check mode, that would be written).
  returned: success
  type: list
  elements: str
  sample: [/var/tmp/lvs-compliance/compliance.json]
checked_at:
  description: The time of this check (UTC, ISO 8601), as written in the stamp file (not in the reports).
  returned: success
  type: str
  sample: "2026-11-26T13:30:00Z"
summary:
  description: Host counts by status and the failing hosts, as in the JSON report.
  returned: success
  type: dict
  contains:
    hosts:
      description: Number of hosts reported.
      type: int
      sample: 5
    compliant:
      description: Hosts compliant now.
      type: int
      sample: 2
    non_compliant:
      description: Hosts not compliant now, without an exposed VIP.
      type: int
      sample: 1
    exposed:
      description: Hosts with a VIP present while ARP would leak it.
      type: int
      sample: 1
    unreachable:
      description: Hosts the gather task could not reach.
      type: int
      sample: 1
    error:
      description: Hosts without a verdict for another reason (V(error) and V(no_data)).
      type: int
      sample: 0
    runtime_skipped:
      description: Hosts reported as V(runtime_skipped) (O(accept_runtime_skipped)).
      type: int
      sample: 0
    non_compliant_at_boot:
      description: Hosts with a verdict that would not be compliant after a reboot.
      type: int
      sample: 3
    failing:
      description: Same as RV(failing).
      type: list
      elements: str
      sample: [down, halfway, leaky]
    vips_probed:
      description: VIPs in the wire section (only with O(probe_hosts)).
      type: int
      sample: 2
    vip_answered_by:
      description: C(vip_answered_by) violations, one per VIP and MAC (only with O(probe_hosts)).
      type: int
      sample: 1
    probe_errors:
      description: Probe hosts without a probe result (only with O(probe_hosts)).
      type: int
      sample: 0
    fleet_failing:
      description: Same as RV(fleet_failing) (only with O(probe_hosts)).
      type: list
      elements: str
      sample: ["vip_answered_by 192.0.2.10 52:54:00:aa:bb:cc (unknown)"]
failing:
  description:
    - The hosts that fail the check, sorted by name. Always the non-compliant and exposed hosts; also those without
      a verdict when O(fail_on_unreachable), and those that would leak after a reboot when O(fail_on_boot).
  returned: success
  type: list
  elements: str
  sample: [down, halfway, leaky]
fleet_failing:
  description:
    - The fleet-level findings that fail the check, from the wire section - C(vip_answered_by VIP MAC (host))
      for each MAC that is not a director's, and C(probe_failed) with the host and the message for a failed probe when
      O(fail_on_unreachable). Empty without O(probe_hosts).
  returned: success
  type: list
  elements: str
  sample: ["vip_answered_by 192.0.2.10 52:54:00:aa:bb:cc (unknown)", "vip_answered_by 192.0.2.10 52:54:00:dd:ee:ff (web3)"]
policy:
  description: O(fail) (deprecated), O(fail_on_unreachable) and O(fail_on_boot), as in the JSON report.
  returned: success
  type: dict
  sample: {"fail": true, "fail_on_unreachable": true, "fail_on_boot": false}
markdown_lines:
  description: The Markdown report, line by line, for M(ansible.builtin.debug).
  returned: success
  type: list
  elements: str
  sample:
    - "# LVS real-server compliance"
    - ""
    - "| Host | Status | Mode | ARP-facing | VIPs | Violations | At boot | Hazards | Drift |"
"""
