//! `rnetns doctor` against broken mount states built on purpose, the way
//! they happen in the field, each in a throwaway sandbox (README "Diagnose and repair"): the
//! exact findings (plain and JSON), the exit status, the `--fix` actions,
//! that a second `--fix` finds nothing to do, and that iproute2's own
//! `ip netns list`/`exec` work on the result.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

/// Every test here builds its broken state in a sandbox of its own, so the
/// host's run dir and mounts are never read (README "Tests"); without the
/// privilege to build one, each is reported as ignored (tests/support/skip.rs).
fn main() {
    skip::main_privileged(&named![
        healthy_host_prints_a_short_all_clear,
        stale_placeholder_from_a_killed_add_is_found_and_removed,
        namespace_added_in_a_private_mount_namespace_is_adopted,
        namespace_added_in_a_private_mount_namespace_that_is_gone_is_stale,
        entries_propagate_into_a_container_sharing_the_run_dir,
        non_recursive_bind_of_the_run_dir_is_rebuilt,
        shared_run_doubled_mounts_are_collapsed,
        names_mounted_before_the_run_dir_self_bind_are_collapsed,
        run_dir_symlinked_to_a_docker_like_directory_is_explained_not_touched,
        daemon_in_a_slave_mount_namespace_is_named,
        docker_stale_sandbox_file_is_reported_as_info,
        containers_whose_network_owner_is_gone_are_reported,
        plain_run_dir_inside_a_shared_mount_is_not_a_problem,
    ]);
}

/// Runs `body` in a fresh sandbox with `$R` = rnetns; returns stdout with
/// inode numbers, peer groups and pids normalised. Only called from a
/// `skip::privileged` test, which has checked that sandboxes can be built.
fn sbx(test: &str, body: &str) -> String {
    let body = format!(
        "R={}\nexport PATH=/usr/sbin:/usr/bin:/sbin:/bin RNETNS_DOCTOR_GRACE=0\n{body}\ntrue",
        env!("CARGO_BIN_EXE_rnetns")
    );
    let out = sandbox::run_checked(&format!("doctor-{test}"), &body).expect(skip::IN_PRIVILEGED);
    normalize(&out)
}

fn normalize(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    // net:[4026532575] -> net:[INO]; "peer group 9" -> "peer group N";
    // "process 16 (" / "pid 16)" -> PID.
    while let Some(i) = rest.find("net:[") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let end = rest.find(']').unwrap_or(0);
        out.push_str("INO");
        rest = &rest[end..];
    }
    out.push_str(rest);
    let mut fixed = String::new();
    for word_boundary in out.split_inclusive(' ') {
        fixed.push_str(word_boundary);
    }
    let re_num = |s: String, before: &str| -> String {
        let mut o = String::new();
        let mut r = s.as_str();
        while let Some(i) = r.find(before) {
            o.push_str(&r[..i + before.len()]);
            r = &r[i + before.len()..];
            let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if n > 0 {
                o.push('N');
            }
            r = &r[n..];
        }
        o.push_str(r);
        o
    };
    let s = re_num(fixed, "peer group ");
    let s = re_num(s, "process ");
    let s = re_num(s, "(pid ");
    re_num(s, "shared:")
}

fn healthy_host_prints_a_short_all_clear() {
    let out = sbx("healthy", "$R doctor; echo rc=$?; ip netns add a; ip netns exec a sleep 30 & sleep 0.2; $R doctor; echo rc=$?");
    assert_eq!(
        out,
        "all clear: /run/netns does not exist yet (the first add creates it)\nrc=0\n\
         all clear: /run/netns is a shared mount point with its own peer group; 1 entry, all mounted\nrc=0\n"
    );
}

const STALE_PLAIN: &str = "problem: stale-entry: /run/netns/stale
  what: \"stale\" is an empty file with no namespace mounted on it in any mount namespace
  why:  left by a killed add or a mount that never propagated; list prints \"Peer netns reference is invalid\" and exec fails with \"Invalid argument\"
  fix:  rnetns delete stale  (or rnetns doctor --fix)
1 problem(s) found; `rnetns doctor --fix` repairs what is safe to repair
rc=1
";

fn stale_placeholder_from_a_killed_add_is_found_and_removed() {
    // A killed `add` leaves a mode-0000 placeholder with nothing mounted.
    let out = sbx(
        "stale",
        "ip netns add a; ip netns exec a sleep 30 & sleep 0.2
         : > /run/netns/stale; chmod 0 /run/netns/stale
         $R doctor; echo rc=$?
         $R -j doctor; echo rc=$?
         $R doctor --fix; echo rc=$?
         $R doctor --fix; echo rc=$?
         ip netns list 2>&1; ls /run/netns",
    );
    let json = "[{\"check\":\"stale-entry\",\"severity\":\"problem\",\"path\":\"/run/netns/stale\",\"what\":\"\\\"stale\\\" is an empty file with no namespace mounted on it in any mount namespace\",\"why\":\"left by a killed add or a mount that never propagated; list prints \\\"Peer netns reference is invalid\\\" and exec fails with \\\"Invalid argument\\\"\",\"fix\":\"rnetns delete stale  (or rnetns doctor --fix)\"}]\nrc=1\n";
    let clear = "all clear: /run/netns is a shared mount point with its own peer group; 1 entry, all mounted\nrc=0\n";
    let want = format!(
        "{STALE_PLAIN}{json}fixed: removed stale entry /run/netns/stale\n{clear}{clear}a\na\n"
    );
    assert_eq!(out, want);
}

fn namespace_added_in_a_private_mount_namespace_is_adopted() {
    // The container case without a :shared volume: the mount stays in the
    // container's mount namespace; the host sees an empty file.
    let out = sbx(
        "private",
        "ip netns add base; ip netns exec base sleep 30 & sleep 0.1
         unshare -m --propagation private sh -c 'ip netns add inner; exec sleep 30' & sleep 0.3
         ip netns exec inner true 2>&1; echo exec-before=$?
         $R doctor | head -2; $R doctor >/dev/null; echo rc=$?
         $R doctor --fix | head -1
         $R doctor --fix | grep -c fixed
         ip netns exec inner ip -br link 2>&1; echo exec-after=$?
         [ \"$(stat -L -c %i /run/netns/inner)\" = \"$(stat -L -c %i /proc/$!/root/run/netns/inner)\" ] && echo same-netns",
    );
    assert_eq!(
        out,
        "setting the network namespace \"inner\" failed: Invalid argument\nexec-before=255\n\
         problem: stale-entry-held-elsewhere: /run/netns/inner\n  \
         what: \"inner\" is an empty file here, but process N (sleep) still has a namespace mounted on it in its own mount namespace\n\
         rc=1\n\
         fixed: adopted /run/netns/inner: bound the namespace that process N holds in its mount namespace\n\
         0\n\
         lo               DOWN           00:00:00:00:00:00 <LOOPBACK> \nexec-after=0\nsame-netns\n"
    );
}

fn namespace_added_in_a_private_mount_namespace_that_is_gone_is_stale() {
    let out = sbx(
        "private-gone",
        "unshare -m --propagation private sh -c 'ip netns add inner'
         $R doctor | grep ^problem; $R doctor --fix | grep ^fixed; ls -A /run/netns; $R doctor --fix | grep -c fixed",
    );
    // The run dir was created by the private add but never became a mount
    // point here, and the placeholder's mount died with that namespace.
    assert_eq!(
        out,
        "problem: run-dir-not-mount-point: /run/netns\nproblem: stale-entry: /run/netns/inner\n\
         fixed: rebuilt /run/netns: a shared mount with its own peer group, 0 namespace(s) mounted once each\n\
         fixed: removed stale entry /run/netns/inner\n0\n"
    );
}

fn entries_propagate_into_a_container_sharing_the_run_dir() {
    // The :shared volume case: a mount namespace made after the run dir is
    // set up, with propagation unchanged, sees later adds and vice versa.
    let out = sbx(
        "shared-volume",
        "$R add base
         unshare -m --propagation unchanged sh -c 'sleep 0.4; $0 add fromctr; sleep 30' $R & sleep 0.2
         $R add late; sleep 0.5
         grep -c ' /run/netns/late ' /proc/$!/mountinfo
         ip netns exec fromctr true && echo fromctr-works
         $R doctor | tail -1",
    );
    assert_eq!(
        out,
        "1\nfromctr-works\nall clear: /run/netns is a shared mount point with its own peer group; 3 entries, all mounted\n"
    );
}

fn non_recursive_bind_of_the_run_dir_is_rebuilt() {
    let out = sbx(
        "nonrec",
        "ip netns add a; ip netns exec a sleep 30 & sleep 0.2
         mount --bind /run/netns /run/netns
         ip netns exec a true 2>&1
         $R doctor | grep '^problem'; $R doctor >/dev/null; echo rc=$?
         $R doctor --fix | head -1
         $R doctor --fix | grep -c fixed
         ip netns exec a true && echo exec-works
         grep -c ' /run/netns/a ' /proc/self/mountinfo",
    );
    assert_eq!(
        out,
        "setting the network namespace \"a\" failed: Invalid argument\n\
         problem: run-dir-stacked: /run/netns\n\
         problem: run-dir-in-parent-peer-group: /run/netns\n\
         problem: doubled-mounts: /run/netns/a\n\
         problem: stale-entry: /run/netns/a\n\
         rc=1\n\
         fixed: rebuilt /run/netns: a shared mount with its own peer group, 1 namespace(s) mounted once each\n\
         0\nexec-works\n1\n"
    );
}

fn shared_run_doubled_mounts_are_collapsed() {
    // iproute2 6.1 under a shared /run (systemd's default): the run dir
    // joins /run's peer group and every entry is mounted twice.
    let out = sbx(
        "shared-run",
        "mount --make-shared /run; ip netns add a; ip netns exec a sleep 30 & sleep 0.2
         grep -c ' /run/netns/a ' /proc/self/mountinfo
         $R doctor | grep '^problem'
         $R doctor --fix | head -1; $R doctor --fix | grep -c fixed
         grep -c ' /run/netns/a ' /proc/self/mountinfo
         ip netns exec a true && echo exec-works; ip netns delete a && ls -A /run/netns",
    );
    assert_eq!(
        out,
        "2\n\
         problem: run-dir-in-parent-peer-group: /run/netns\n\
         problem: doubled-mounts: /run/netns/a\n\
         fixed: rebuilt /run/netns: a shared mount with its own peer group, 1 namespace(s) mounted once each\n\
         0\n1\nexec-works\n"
    );
}

fn names_mounted_before_the_run_dir_self_bind_are_collapsed() {
    // containerd mounts its pods' namespaces in a plain /run/netns; then
    // rootful podman (or ip netns add) binds the run dir onto itself,
    // recursively: each pod's mount now also sits hidden beneath it, and
    // containerd's teardown unmounts only the visible copy (seen with the
    // real runtimes, docs/all-runtimes.sh).
    let out = sbx(
        "late-self-bind",
        "mkdir /run/netns; unshare -n sleep 30 & sleep 0.2
         touch /run/netns/cni-1; mount --bind /proc/$!/ns/net /run/netns/cni-1
         mount --rbind /run/netns /run/netns; mount --make-shared /run/netns
         grep -c ' /run/netns/cni-1 ' /proc/self/mountinfo
         $R doctor | grep '^problem'
         $R doctor | grep -c 'over names already mounted in it (containerd'
         $R doctor --fix | head -1; $R doctor --fix | grep -c fixed
         grep -c ' /run/netns/cni-1 ' /proc/self/mountinfo",
    );
    assert_eq!(
        out,
        "2\n\
         problem: doubled-mounts: /run/netns/cni-1\n\
         1\n\
         fixed: rebuilt /run/netns: a shared mount with its own peer group, 1 namespace(s) mounted once each\n\
         0\n1\n"
    );
}

fn run_dir_symlinked_to_a_docker_like_directory_is_explained_not_touched() {
    let out = sbx(
        "symlink",
        "mkdir -p /run/docker/netns; ln -s /run/docker/netns /run/netns
         $R doctor | head -2; $R doctor --fix >/dev/null; echo rc=$?; readlink /run/netns",
    );
    assert_eq!(
        out,
        "problem: run-dir-symlink: /run/netns\n  what: /run/netns is a symlink to /run/docker/netns\nrc=1\n/run/docker/netns\n"
    );
}

fn daemon_in_a_slave_mount_namespace_is_named() {
    // Docker started with MountFlags=slave: its nsfs mounts exist only in
    // its own mount namespace, so the files look empty from here.
    let out = sbx(
        "slave-daemon",
        "mount --make-rshared /; mkdir -p /run/docker/netns; : > /run/docker/netns/0123456789ab; cp /bin/sleep /tmp/dockerd
         unshare -m --propagation slave sh -c 'mount --bind /proc/self/ns/net /run/docker/netns/0123456789ab; exec /tmp/dockerd 30' &
         sleep 0.3
         $R doctor | head -2; $R doctor >/dev/null; echo rc=$?",
    );
    assert_eq!(
        out,
        "problem: daemon-private-mounts: /run/docker/netns\n  \
         what: dockerd (pid N) runs in a mount namespace of its own whose / is slave (MountFlags=slave or private): its namespace files under /run/docker/netns look empty here\nrc=1\n"
    );
}

fn docker_stale_sandbox_file_is_reported_as_info() {
    let out = sbx(
        "docker-stale",
        "mkdir -p /run/docker/netns; : > /run/docker/netns/0123456789ab
         $R doctor | head -2; $R doctor >/dev/null; echo rc=$?",
    );
    assert_eq!(
        out,
        "info: daemon-stale-file: /run/docker/netns/0123456789ab\n  what: an empty netns file with no namespace mounted anywhere\nrc=0\n"
    );
}

fn containers_whose_network_owner_is_gone_are_reported() {
    // Hand-built runtime state (the real-daemon tests cover live daemons):
    // a docker container started with --net=container:X whose X stopped,
    // and a podman container whose netns file conmon removed.
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let p = "c".repeat(64);
    let body = format!(
        r#"mount -t tmpfs sbx-varlib /var/lib
sleep 30 & dep=$!
mkdir -p /var/lib/docker/containers/{a} /var/lib/docker/containers/{b}
printf '{{"ID":"{a}","Name":"/dep","State":{{"Running":true,"Pid":%s}}}}' $dep >/var/lib/docker/containers/{a}/config.v2.json
printf '{{"NetworkMode":"container:{b}"}}' >/var/lib/docker/containers/{a}/hostconfig.json
printf '{{"ID":"{b}","Name":"/owner","State":{{"Running":false,"Pid":0}}}}' >/var/lib/docker/containers/{b}/config.v2.json
printf '{{"NetworkMode":"default"}}' >/var/lib/docker/containers/{b}/hostconfig.json
u=/var/lib/containers/storage/overlay-containers/{p}/userdata; mkdir -p $u /run/containers/storage/overlay-containers/{p}/userdata
printf '{{"annotations":{{"io.container.manager":"libpod"}},"linux":{{"namespaces":[{{"type":"network","path":"/run/netns/netns-gone"}}]}}}}' >$u/config.json
echo $dep >/run/containers/storage/overlay-containers/{p}/userdata/pidfile
$R doctor | grep -A1 --no-group-separator "^problem"; $R doctor >/dev/null; echo rc=$?"#
    );
    let out = sbx("owners", &body);
    assert_eq!(
        out,
        format!(
            "problem: network-owner-gone: /var/lib/docker/containers/{a}\n  \
             what: docker container dep (aaaaaaaaaaaa) shares the network namespace of container bbbbbbbbbbbb, which is not running\n\
             problem: network-owner-gone: /run/netns/netns-gone\n  \
             what: podman container cccccccccccc still runs, but its network namespace file /run/netns/netns-gone was removed\n\
             rc=1\n"
        )
    );
}

fn plain_run_dir_inside_a_shared_mount_is_not_a_problem() {
    // A Kubernetes node: containerd makes /run/netns a plain directory and
    // bind-mounts its cni-* entries there; systemd's / and /run are shared,
    // so the entries propagate through the mount the run dir sits in.
    let body = "mount --make-shared /run; mkdir /run/netns; touch /run/netns/cni-1
         unshare -n sh -c 'mount --bind /proc/self/ns/net /run/netns/cni-1'
         $R doctor >/dev/null; echo rc=$?
         mount --make-private /run; $R doctor | grep '^problem'";
    let out = sbx("plain-shared", body);
    assert_eq!(out, "rc=0\nproblem: run-dir-not-mount-point: /run/netns\n");
}
