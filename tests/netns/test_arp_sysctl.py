"""lvs.realserver.arp_sysctl for real, inside a network namespace with a private sysctl.d tree."""

import json
import os
import textwrap

import pytest
from real_tier import unavailable

from lab import (CL_IP, VIP, _module_env, arp_probe, collections_dir, load_sysctl_config, lvs_python,
                 ns_exec, private_path, run_module, run_tmpdir, vendor_sysctl_dir)

MODULE = "lvs.realserver.arp_sysctl"
DROPIN = "/etc/sysctl.d/99-zz-lvs-realserver.conf"

pytestmark = pytest.mark.usefixtures("lvs_python")


def value(ns, key):
    """Read a key from /proc inside ``ns``; slash keys keep dotted interface names intact."""
    path = "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))
    return int(ns_exec(ns, ["cat", path], isolate_sysctl_dirs=False).stdout)


def set_value(ns, key, number):
    path = "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))
    ns_exec(ns, ["sh", "-c", 'echo "$1" > "$2"', "set", str(number), path], isolate_sysctl_dirs=False)


def dropin(ns):
    path = private_path(ns, DROPIN)
    return path.read_text() if path.exists() else None


def test_apply_persist_idempotent_and_arp_hidden(topo, arp_tools):
    topo.add_vip()
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)[0] == "REPLY"  # the ARP problem, before

    first = run_module(topo.rs, MODULE, {}, diff=True)
    assert first.status == "ok", first
    assert first["changed"] and first["file_changed"]
    assert value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 1
    assert value(topo.rs, "net.ipv4.conf.all.arp_announce") == 2
    text = dropin(topo.rs)
    assert text.splitlines()[-2:] == ["net.ipv4.conf.all.arp_ignore = 1", "net.ipv4.conf.all.arp_announce = 2"]
    assert oct(os.stat(private_path(topo.rs, DROPIN)).st_mode & 0o777) == "0o644"
    assert first["boot"]["net.ipv4.conf.all.arp_ignore"] == {"value": 1, "file": DROPIN, "line": 3}
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)[0] == "NOREPLY"  # fixed on the wire

    mtime = os.stat(private_path(topo.rs, DROPIN)).st_mtime_ns
    second = run_module(topo.rs, MODULE, {}, method="ansible")
    assert second.status == "ok" and second["changed"] is False, second
    assert os.stat(private_path(topo.rs, DROPIN)).st_mtime_ns == mtime
    assert dropin(topo.rs) == text


def test_check_mode_touches_neither_file_nor_kernel(topo):
    result = run_module(topo.rs, MODULE, {"conf": {"all": {"arp_ignore": 2, "arp_announce": 2}}},
                        check=True, diff=True)
    assert result.status == "ok" and result["changed"] is True
    assert [c["after"] for c in result["runtime_changes"]] == [2, 2]
    assert dropin(topo.rs) is None
    assert value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 0
    assert value(topo.rs, "net.ipv4.conf.all.arp_announce") == 0


def test_later_winning_file_is_reported_and_nothing_changes(topo):
    later = private_path(topo.rs, "/etc/sysctl.d/99-zzz-local.conf")
    later.write_text("# keep\n\nnet.ipv4.conf.all.arp_ignore = 0\n")
    result = run_module(topo.rs, MODULE, {})
    assert result.status == "failed"
    assert "/etc/sysctl.d/99-zzz-local.conf:3" in result["msg"]
    assert result["conflicts"][0]["file"] == "/etc/sysctl.d/99-zzz-local.conf"
    assert dropin(topo.rs) is None
    assert value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 0

    warned = run_module(topo.rs, MODULE, {"on_conflict": "warn"}, method="ansible")
    assert warned.status == "ok" and any("99-zzz-local.conf" in w for w in warned.get("warnings", []))
    assert value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 1
    load_sysctl_config(topo.rs)  # a boot proves the report right: the later file wins
    assert value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 0


def test_absent_restores_what_the_other_files_give(topo):
    (vendor_sysctl_dir(topo.rs) / "50-default.conf").write_text(
        "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n")
    conf = {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 0}}
    assert run_module(topo.rs, MODULE, {"conf": conf}).status == "ok"
    assert value(topo.rs, "net.ipv4.conf.all.rp_filter") == 0

    removed = run_module(topo.rs, MODULE, {"state": "absent"})
    assert removed.status == "ok" and removed["changed"], removed
    assert dropin(topo.rs) is None
    assert value(topo.rs, "net.ipv4.conf.all.rp_filter") == 2  # the vendor glob, not a blind 0
    assert value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 0  # nothing sets it: kernel default
    assert run_module(topo.rs, MODULE, {"state": "absent"})["changed"] is False


def test_foreign_file_is_kept(topo):
    path = private_path(topo.rs, DROPIN)
    path.write_text("net.ipv4.conf.all.arp_ignore = 1\n")
    result = run_module(topo.rs, MODULE, {})
    assert result.status == "failed" and "force=true" in result["msg"]
    assert path.read_text() == "net.ipv4.conf.all.arp_ignore = 1\n"
    assert value(topo.rs, "net.ipv4.conf.all.arp_announce") == 0


def test_bad_input_changes_nothing(topo):
    result = run_module(topo.rs, MODULE, {"conf": {"all": {"arp_ignore": 5}}})
    assert result.status == "failed" and "conf.all.arp_ignore=5" in result["msg"]
    assert dropin(topo.rs) is None and value(topo.rs, "net.ipv4.conf.all.arp_ignore") == 0


def test_read_only_proc_sys_fails_before_writing_anything(topo):
    """Like an unprivileged container: /proc/sys read-only inside the module's mount namespace."""
    args = json.dumps({"ANSIBLE_MODULE_ARGS": {}})
    script = textwrap.dedent("""
        mount -o bind,ro /proc/sys /proc/sys || exit 99
        printf '%s' "$1" > "$2"
        exec "$3" -m ansible_collections.lvs.realserver.plugins.modules.arp_sysctl "$2"
    """)
    env = _module_env(collections_dir())
    env["PYTHONPATH"] = str(collections_dir())
    argsfile = run_tmpdir() / "ro-args.json"
    proc = ns_exec(topo.rs, ["sh", "-c", script, "ro", args, str(argsfile), lvs_python()], check=False, env=env)
    result = json.loads(proc.stdout)
    assert result.get("failed"), result
    assert "read-only" in result["msg"] and "runtime=auto or runtime=skip" in result["msg"]
    assert dropin(topo.rs) is None


def test_dotted_interface_name_reaches_the_right_key(lab):
    rs = lab.add_netns("rs")
    ns_exec(rs, ["ip", "link", "add", "v.100", "type", "veth", "peer", "name", "v.200"], isolate_sysctl_dirs=False)
    result = run_module(rs, MODULE, {"conf": {"all": {"arp_ignore": 1}, "v.100": {"arp_ignore": 2}}})
    assert result.status == "ok", result
    assert "net.ipv4.conf.v/100.arp_ignore = 2" in dropin(rs)
    assert value(rs, "net/ipv4/conf/v.100/arp_ignore") == 2
    set_value(rs, "net/ipv4/conf/v.100/arp_ignore", 0)
    load_sysctl_config(rs)
    assert value(rs, "net/ipv4/conf/v.100/arp_ignore") == 2  # procps reads the slash form back right


RESOLVER = textwrap.dedent("""
    import json, sys
    from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as s
    keys = json.loads(sys.argv[1])
    r = s.resolve(s.boot_files(s.read_candidates(), s.read_sysctl_conf() if sys.argv[2] == "procps" else None))
    print(json.dumps({k: (r.winner(k).value if r.winner(k) else None) for k in keys}))
""")

PRECEDENCE_TREE = {
    "/usr/lib/sysctl.d/10-lvs.conf": "net.ipv4.conf.all.arp_ignore = 2\n",
    "/etc/sysctl.d/10-lvs.conf": "net.ipv4.conf.all.arp_ignore = 1\n",
    "/etc/sysctl.d/05-early.conf": "net.ipv4.conf.all.arp_announce = 2\n",
    "/usr/lib/sysctl.d/20-vendor.conf": "net.ipv4.conf.all.arp_announce = 1\n",
    "/etc/sysctl.d/45-explicit.conf": "net.ipv4.conf.e1.rp_filter = 1\n-net.ipv4.conf.e2.arp_filter\n",
    "/usr/lib/sysctl.d/50-default.conf": "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n"
                                         "net.ipv4.conf.*.arp_filter = 1\n",
    "/run/sysctl.d/60-run.conf": "net/ipv4/conf/e.3/arp_ignore = 2\nnet.ipv4.conf.e1.arp_notify = 1\n",
    "/etc/sysctl.d/70-last.conf": "-net.ipv4.conf.e2.arp_notify = 1\nnet.ipv4.conf.e1.arp_notify = 0\n",
    "/etc/sysctl.d/80-disabled.conf.off": "net.ipv4.conf.all.arp_ignore = 8\n",
}
CHECKED_KEYS = [
    "net/ipv4/conf/{}/{}".format(i, k)
    for i in ("all", "default", "e1", "e2", "e.3")
    for k in ("arp_ignore", "arp_announce", "rp_filter", "arp_filter", "arp_notify")
]


@pytest.mark.parametrize("tool", ["sysctl", "systemd-sysctl"])
def test_resolver_agrees_with_the_real_loader(lab, tool):
    if tool == "systemd-sysctl" and not os.path.exists("/lib/systemd/systemd-sysctl"):
        unavailable("systemd-sysctl is not installed (apt-get install systemd)")
    rs = lab.add_netns("rs")
    for a, b in (("e1", "p1"), ("e2", "p2"), ("e.3", "p3")):
        ns_exec(rs, ["ip", "link", "add", a, "type", "veth", "peer", "name", b], isolate_sysctl_dirs=False)
    for inside, text in PRECEDENCE_TREE.items():
        path = private_path(rs, inside)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for key in CHECKED_KEYS:
        set_value(rs, key, 0)
    load_sysctl_config(rs, tool)
    env = _module_env(collections_dir())
    env["PYTHONPATH"] = str(collections_dir())
    flavour = "procps" if tool == "sysctl" else "systemd"
    out = ns_exec(rs, [lvs_python(), "-c", RESOLVER, json.dumps(CHECKED_KEYS), flavour], env=env).stdout
    predicted = json.loads(out)
    disagree = []
    for key in CHECKED_KEYS:
        live = value(rs, key)
        expected = int(predicted[key]) if predicted[key] is not None else 0
        if live != expected:
            disagree.append((key, predicted[key], live))
    print("resolver vs %s: agree %d/%d" % (tool, len(CHECKED_KEYS) - len(disagree), len(CHECKED_KEYS)))
    assert not disagree
    assert predicted["net/ipv4/conf/e1/rp_filter"] == "1" and predicted["net/ipv4/conf/all/rp_filter"] is None


def test_drop_in_owned_by_someone_else_is_rewritten_root_owned(topo):
    """Mutation guard: identical text and mode but another owner is a change, and the file ends
    up root:root (atomic_move would otherwise keep the old owner of the file it replaces)."""
    first = run_module(topo.rs, MODULE, {})
    assert first.status == "ok" and first["file_changed"], first
    path = private_path(topo.rs, DROPIN)
    text = path.read_text()
    for owner in ((1234, 0), (0, 1234), (1234, 1234)):
        os.chown(path, *owner)
        again = run_module(topo.rs, MODULE, {})
        assert again.status == "ok" and again["changed"] and again["file_changed"], (owner, again)
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o644), owner
        assert path.read_text() == text
    assert run_module(topo.rs, MODULE, {})["changed"] is False
