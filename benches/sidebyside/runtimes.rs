//! `list --all-runtimes`: against the docker CLI with a real dockerd on the
//! host (`--docker`; the only section outside the sandbox), and per
//! container on a mixed host of runtime fixtures (in the sandbox).

use super::*;

/// Hidden mode: the /proc pass, plus what any tool naming docker's
/// namespaces without its API must read: each container's
/// `config.v2.json` (open, fstat, read, close) and each sandbox file's
/// identity (open, fstat).
pub const FLOOR_DOCKER: &str = "--floor-docker";

pub fn floor_docker() -> ! {
    let each = |dir: &str, f: &dyn Fn(&Path) -> bool| -> usize {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| die(&format!("{dir}: {e}")));
        entries.flatten().filter(|e| f(&e.path())).count()
    };
    let configs = each("/var/lib/docker/containers", &|p| {
        let Ok(mut f) = fs::File::open(p.join("config.v2.json")) else {
            return false;
        };
        let len = f.metadata().map_or(0, |m| m.len());
        let mut buf = Vec::with_capacity(len as usize + 1);
        std::io::Read::read_to_end(&mut f, &mut buf).is_ok()
    });
    let sandboxes = each("/run/docker/netns", &|p| {
        fs::File::open(p).and_then(|f| f.metadata()).is_ok()
    });
    if configs == 0 || sandboxes == 0 {
        die("no docker state to read");
    }
    verbs::floor_procs()
}

// ---------------------------------------------------------------- docker

/// `list --all-runtimes` against the docker CLI pipeline, on the host:
/// the containers live in the host's namespaces, so this is the one
/// scenario outside the sandbox. It only creates containers labelled
/// `rnetns-bench=1` and removes exactly those.
pub mod docker {
    use super::*;

    const PIPELINE: &str =
        "docker ps -q | xargs docker inspect -f '{{.Name}} {{.NetworkSettings.SandboxKey}}'";

    /// The pipeline a user writes today to see the containers' interfaces:
    /// docker's sandbox keys, then `ip` in each (README "See the wiring").
    const WIRING_PIPELINE: &str =
        "docker ps -q | xargs docker inspect -f '{{.NetworkSettings.SandboxKey}}' | \
         while read k; do nsenter --net=$k ip -j -d link; nsenter --net=$k ip -j addr; done";

    /// The `list --all-runtimes` / pipeline ratio benches/RESULTS.md
    /// recorded before the bounded reads (`dcf6065`: 7.174 ms against
    /// 98.7 ms). On a host with no rootless users the ratio may be at most
    /// 10% worse than this.
    const RECORDED: f64 = 7.174 / 98.7;

    const HOST_LOCK: &str = "/tmp/rnetns-host.lock";

    fn row_names(c: usize) -> [String; 5] {
        [
            "list --all-runtimes vs docker ps + inspect pipeline (base = pipeline)".into(),
            format!(
                "  same, no rootless users: vs {RECORDED:.4} recorded before bounded reads, +10% (base = pipeline)"
            ),
            format!("list --all-runtimes --links vs docker inspect + ip pipeline (base = pipeline), {c} docker"),
            format!("list --all-runtimes --links vs list --all-runtimes (base = bare), {c} docker"),
            format!("identify --iface HOSTVETH vs docker inspect + ip pipeline (base = pipeline), {c} docker"),
        ]
    }

    fn targets() -> [f64; 5] {
        [0.05, RECORDED * 1.1, 0.05, 2.0, 0.1]
    }

    fn skipped(c: usize, why: &str) -> Vec<Row> {
        row_names(c)
            .into_iter()
            .zip(targets())
            .map(|(name, t)| Row {
                name,
                base: None,
                rn: None,
                target: Some(t),
                limit: None,
                floor: None,
                unit: Unit::Time,
                skipped: Some(why.into()),
            })
            .collect()
    }

    /// Holds the host lock every user of the real host's daemons takes
    /// (`flock /tmp/rnetns-host.lock`), until dropped.
    fn host_lock() -> std::result::Result<fs::File, String> {
        use std::os::fd::AsRawFd;
        let f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(HOST_LOCK)
            .map_err(|e| format!("{HOST_LOCK}: {e}"))?;
        println!("  docker: waiting for {HOST_LOCK}");
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!(
                "flock {HOST_LOCK}: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(f)
    }

    pub fn scenario(opts: &Opts, rn: &Path) -> Vec<Row> {
        let c = opts.containers;
        if !opts.docker {
            return skipped(c, "pass --docker to run it");
        }
        let lock = match host_lock() {
            Ok(l) => l,
            Err(e) => return skipped(c, &e),
        };
        // A running daemon is used as is; otherwise one is started for
        // this scenario and stopped (by PID) when it is done.
        let state = std::env::temp_dir().join("rnetns-bench-dockerd");
        let _ = fs::create_dir_all(&state);
        let daemon = match super::dockerd::Dockerd::ensure(&state) {
            Ok(d) => d,
            Err(e) => return skipped(c, &e),
        };
        let mut probe = vec![rn.as_os_str().to_owned()];
        probe.extend(os(&["-j", "list", "--all-runtimes"]));
        let (code, out) = run_capture(&probe);
        if code != 0 || !out.windows(9).any(|w| w == b"\"runtime\"") {
            return skipped(c, "this rnetns has no `list --all-runtimes`");
        }
        let mut imported = false;
        let result = match setup(opts, &mut imported) {
            Ok(()) => run(opts, rn),
            Err(e) => skipped(c, &e),
        };
        teardown(imported);
        drop(daemon);
        drop(lock);
        result
    }

    fn setup(opts: &Opts, imported: &mut bool) -> std::result::Result<(), String> {
        if sh(&format!("docker image inspect {IMAGE} >/dev/null 2>&1")).0 != 0 {
            if !Path::new("/bin/busybox").exists() {
                return Err("no /bin/busybox to build the image from".into());
            }
            let dir = std::env::temp_dir().join(format!("rnetns-bench-{}", std::process::id()));
            let d = dir.display();
            let script = format!(
                "set -e; mkdir -p {d}/r/bin {d}/r/proc {d}/r/sys {d}/r/dev {d}/r/etc {d}/r/tmp; \
                 cp /bin/busybox {d}/r/bin/; for a in sh sleep cat; do ln -s busybox {d}/r/bin/$a; done; \
                 tar -C {d}/r -cf {d}/rootfs.tar .; \
                 docker import -c 'CMD [\"/bin/sleep\",\"100000\"]' {d}/rootfs.tar {IMAGE} >/dev/null"
            );
            let ok = sh(&script).0 == 0;
            let _ = fs::remove_dir_all(&dir);
            if !ok {
                return Err("cannot import the busybox image".into());
            }
            *imported = true;
        }
        let t0 = Instant::now();
        for i in 0..opts.containers {
            let cmd = format!(
                "docker run -d --init --label {LABEL} --name rnetns-bench-{i} {IMAGE} >/dev/null"
            );
            if sh(&cmd).0 != 0 {
                return Err(format!("docker run failed for container {i}"));
            }
        }
        println!(
            "  docker: started {} containers in {:.1} s",
            opts.containers,
            t0.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The rootless users this host has: entries of /run/user.
    fn rootless_users() -> usize {
        fs::read_dir("/run/user").map_or(0, |d| d.count())
    }

    /// The host end of container NAME's eth0 (its peer's ifindex, from
    /// inside the container, looked up among the host's links).
    fn host_veth(name: &str) -> Option<String> {
        let (code, out) = sh(&format!(
            "docker exec {name} sh -c 'read i </sys/class/net/eth0/iflink; echo $i' 2>/dev/null"
        ));
        let idx = String::from_utf8_lossy(&out).trim().to_string();
        if code != 0 || idx.is_empty() {
            return None;
        }
        fs::read_dir("/sys/class/net")
            .ok()?
            .flatten()
            .find_map(|e| {
                let i = fs::read_to_string(e.path().join("ifindex")).ok()?;
                (i.trim() == idx).then(|| e.file_name().to_string_lossy().into_owned())
            })
    }

    fn run(opts: &Opts, rn: &Path) -> Vec<Row> {
        let c = opts.containers;
        let names = row_names(c);
        let targets = targets();
        let rn_argv = |words: &[&str]| {
            let mut v = vec![rn.as_os_str().to_owned()];
            v.extend(os(words));
            v
        };
        let argv = rn_argv(&["list", "--all-runtimes"]);
        let (_, listed) = run_capture(&argv);
        let seen = String::from_utf8_lossy(&listed)
            .matches("rnetns-bench-")
            .count();
        if seen < c {
            println!(
                "  docker: warning: rnetns list --all-runtimes names {seen} of our {c} containers"
            );
        }
        let me =
            std::env::current_exe().map_or_else(|e| die(&e.to_string()), |p| p.into_os_string());
        let reps = opts.reps.max(3);
        let floor_procs = floor(reps, &[me.clone(), verbs::FLOOR_PROCS.into()]);
        let mut rows = Vec::new();
        let first = Scenario::new(&names[0], os(&["sh", "-c", PIPELINE]), argv.clone())
            .target(targets[0])
            .floor(vec![me, FLOOR_DOCKER.into()])
            .run(reps);
        println!(
            "  docker: floor of the /proc pass alone {}",
            fmt_ms(floor_procs)
        );
        let users = rootless_users();
        let second = Row {
            name: if users == 0 {
                names[1].clone()
            } else {
                format!(
                    "{} ({users} entries in /run/user: not a host without rootless users)",
                    names[1]
                )
            },
            target: Some(targets[1]),
            floor: None,
            ..first.clone()
        };
        rows.extend([first, second]);
        // The wiring rows with real containers: their veths on docker0.
        let mid = format!("rnetns-bench-{}", c / 2);
        let Some(veth) = host_veth(&mid) else {
            let why = "no veth for the containers (dockerd without a bridge?)";
            rows.extend(skipped(c, why).into_iter().skip(2));
            return rows;
        };
        let links = rn_argv(&["list", "--all-runtimes", "--links"]);
        let (_, out) = run_capture(&links);
        let peers = String::from_utf8_lossy(&out).matches("<-> veth").count();
        if peers < c {
            println!("  docker: warning: --links resolved {peers} of {c} container ends");
        }
        let pipe = os(&["sh", "-c", WIRING_PIPELINE]);
        let reps = opts.reps.clamp(3, 10);
        let table = [
            Scenario::new(&names[2], pipe.clone(), links.clone()).target(targets[2]),
            Scenario::new(&names[3], argv, links).target(targets[3]),
            Scenario::new(&names[4], pipe, rn_argv(&["identify", "--iface", &veth]))
                .target(targets[4]),
        ];
        rows.extend(table.iter().map(|s| s.run(reps)));
        rows
    }

    /// Removes exactly the containers this benchmark labelled, and the
    /// image if this run imported it.
    fn teardown(imported: bool) {
        let _ = sh(&format!(
            "docker ps -aq --filter label={LABEL} | xargs -r docker rm -f >/dev/null 2>&1"
        ));
        if imported {
            let _ = sh(&format!("docker rmi {IMAGE} >/dev/null 2>&1"));
        }
    }
}

// ---------------------------------------------------------------- mixed host

/// The runtimes of the mixed-host fixture, each as its state files say.
/// LXC and systemd-nspawn are left out: rnetns sees them only through
/// cgroups, and the sandbox shares the host's cgroup tree.
const MIXED: [&str; 4] = ["docker", "podman", "containerd CRI", "CRI-O"];

impl Bench {
    /// `list --all-runtimes` time per container on a host where C
    /// containers are split over four runtimes' fixtures, against the same
    /// C containers all docker's: marginal cost per container over the
    /// same host with none. The fixtures live on tmpfs over /var/lib and
    /// in the sandbox's /run; docker's containers are sleeping processes
    /// in their own netns, bind-mounted at their sandbox keys.
    pub fn mixed_host(&mut self) {
        let c = self.opts.mixed;
        let reps = self.opts.reps.max(3);
        self.clear();
        must_sh("mount -t tmpfs rnetns-bench-varlib /var/lib");
        let list = self.rn_argv(&["list", "--all-runtimes"]);
        let json = self.rn_argv(&["-j", "list", "--all-runtimes"]);
        let time = |what: &str, b: &Bench| {
            // What rnetns attributes to each runtime (the fixtures must be
            // read as the runtimes they stand for).
            let (_, out) = run_capture(&json);
            let out = String::from_utf8_lossy(&out);
            let mut seen: Vec<(String, usize)> = Vec::new();
            for r in out.split("\"runtime\":\"").skip(1) {
                let r = r.split('"').next().unwrap_or("").to_string();
                match seen.iter_mut().find(|(k, _)| *k == r) {
                    Some((_, n)) => *n += 1,
                    None => seen.push((r, 1)),
                }
            }
            b.note(&format!(
                "mixed host: {what}: \"runtime\" fields in -j output (docker names it for the entry and its container): {seen:?}"
            ));
            measure(&list);
            stats(&(0..reps).map(|_| measure(&list)).collect::<Vec<_>>())
        };
        let empty = time("no containers", self);
        let mut sleepers = self.docker_fixture(0..c);
        let docker = time(&format!("{c} docker"), self);
        self.clear_mixed(&mut sleepers);
        let q = c / 4;
        let mut sleepers = self.docker_fixture(0..q);
        self.podman_fixture(q..2 * q);
        self.cri_fixture(2 * q..3 * q);
        self.crio_fixture(3 * q..c);
        let mixed = time(&format!("{c} over {}", MIXED.join(", ")), self);
        self.clear_mixed(&mut sleepers);
        must_sh("umount /var/lib");
        let per = |s: Stats| Stats {
            secs: (s.secs - empty.secs) / c as f64,
            cpu: (s.cpu - empty.cpu) / c as f64,
            ..s
        };
        self.note(&format!(
            "mixed host: none {} docker {} mixed {}",
            fmt_ms(empty.secs),
            fmt_ms(docker.secs),
            fmt_ms(mixed.secs)
        ));
        self.rows.push(Row {
            name: format!(
                "list --all-runtimes per container, {c} over {} fixtures vs {c} docker fixtures (base = docker alone)",
                MIXED.join(" + ")
            ),
            base: Some(per(docker)),
            rn: Some(per(mixed)),
            target: Some(1.5),
            limit: None,
            floor: None,
            unit: Unit::Time,
            skipped: None,
        });
    }

    /// Docker containers I: a process in a netns of its own, its sandbox
    /// key bind-mounted on it, and a config.v2.json naming both.
    fn docker_fixture(&mut self, ids: std::ops::Range<usize>) -> Vec<Child> {
        use nix::mount::{mount, MsFlags};
        let home = netns_ino();
        let kids: Vec<Child> = ids
            .clone()
            .map(|_| {
                Command::new("unshare")
                    .args(["-n", "sleep", "1000000"])
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| die(&format!("unshare: {e}")))
            })
            .collect();
        fs::create_dir_all("/run/docker/netns").unwrap_or_else(|e| die(&e.to_string()));
        for (i, k) in ids.zip(&kids) {
            let ns = format!("/proc/{}/ns/net", k.id());
            let t = Instant::now();
            while fs::metadata(&ns).map_or(true, |m| m.ino() == home) {
                if t.elapsed() > Duration::from_secs(10) {
                    die("a docker fixture process did not enter its netns");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let id = format!("{:064x}", 0xd0c0_0000usize + i);
            let key = format!("/run/docker/netns/{}", &id[52..]);
            fs::write(&key, "").unwrap_or_else(|e| die(&e.to_string()));
            let none: Option<&str> = None;
            mount(
                Some(ns.as_str()),
                key.as_str(),
                none,
                MsFlags::MS_BIND,
                none,
            )
            .unwrap_or_else(|e| die(&format!("bind {key}: {e}")));
            let dir = format!("/var/lib/docker/containers/{id}");
            fs::create_dir_all(&dir).unwrap_or_else(|e| die(&e.to_string()));
            let cfg = format!(
                r#"{{"ID":"{id}","Name":"/d{i}","State":{{"Running":true,"Pid":{}}},"NetworkSettings":{{"SandboxKey":"/var/run/docker/netns/{}"}}}}"#,
                k.id(),
                &id[52..]
            );
            fs::write(format!("{dir}/config.v2.json"), cfg).unwrap_or_else(|e| die(&e.to_string()));
        }
        kids
    }

    /// Named namespaces PREFIX<i> for I (fixture work).
    fn named(&mut self, prefix: &str, ids: std::ops::Range<usize>) {
        self.rn_batch(
            ids.map(|i| format!("netns add {prefix}{i:08x}-0000-4000-8000-000000000000")),
        );
    }

    /// Rootful podman containers I, placed by their spec's netns path.
    fn podman_fixture(&mut self, ids: std::ops::Range<usize>) {
        self.named("netns-", ids.clone());
        let s = "/var/lib/containers/storage/overlay-containers";
        let mut names = Vec::new();
        for i in ids {
            let id = format!("{:064x}", 0x9090_0000usize + i);
            let d = format!("{s}/{id}/userdata");
            fs::create_dir_all(&d).unwrap_or_else(|e| die(&e.to_string()));
            let cfg = format!(
                r#"{{"ociVersion":"1.0.2","annotations":{{"io.container.manager":"libpod"}},"linux":{{"cgroupsPath":"machine.slice/libpod-{id}.scope","namespaces":[{{"type":"network","path":"/run/netns/netns-{i:08x}-0000-4000-8000-000000000000"}}]}}}}"#
            );
            fs::write(format!("{d}/config.json"), cfg).unwrap_or_else(|e| die(&e.to_string()));
            names.push(format!(r#"{{"id":"{id}","names":["p{i}"]}}"#));
        }
        fs::write(
            format!("{s}/containers.json"),
            format!("[{}]", names.join(",")),
        )
        .unwrap_or_else(|e| die(&e.to_string()));
    }

    /// containerd CRI pod sandboxes I (Kubernetes), placed by their task's
    /// netns path.
    fn cri_fixture(&mut self, ids: std::ops::Range<usize>) {
        self.named("cni-", ids.clone());
        for i in ids {
            let id = format!("{:064x}", 0xc1c1_0000usize + i);
            let d = format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}");
            fs::create_dir_all(&d).unwrap_or_else(|e| die(&e.to_string()));
            let cfg = format!(
                r#"{{"annotations":{{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"{id}","io.kubernetes.cri.sandbox-name":"pod{i}","io.kubernetes.cri.sandbox-namespace":"default"}},"linux":{{"namespaces":[{{"type":"network","path":"/var/run/netns/cni-{i:08x}-0000-4000-8000-000000000000"}}]}}}}"#
            );
            fs::write(format!("{d}/config.json"), cfg).unwrap_or_else(|e| die(&e.to_string()));
        }
    }

    /// CRI-O pod sandboxes I, pinned under bare UUIDs.
    fn crio_fixture(&mut self, ids: std::ops::Range<usize>) {
        self.named("", ids.clone());
        for i in ids {
            let id = format!("{:064x}", 0xc0c0_0000usize + i);
            let d = format!("/run/containers/storage/overlay-containers/{id}/userdata");
            fs::create_dir_all(&d).unwrap_or_else(|e| die(&e.to_string()));
            let cfg = format!(
                r#"{{"annotations":{{"io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":"dns{i}","io.kubernetes.pod.namespace":"kube-system"}},"linux":{{"namespaces":[{{"type":"network","path":"/var/run/netns/{i:08x}-0000-4000-8000-000000000000"}}]}}}}"#
            );
            fs::write(format!("{d}/config.json"), cfg).unwrap_or_else(|e| die(&e.to_string()));
        }
    }

    /// Removes every fixture of the mixed host: SLEEPERS killed, docker's
    /// bind mounts and every runtime's state gone, the named entries deleted.
    fn clear_mixed(&mut self, sleepers: &mut Vec<Child>) {
        for mut k in sleepers.drain(..) {
            let _ = k.kill();
            let _ = k.wait();
        }
        // Only ever inside the sandbox's /run and our tmpfs on /var/lib.
        must_sh(
            "[ \"$(findmnt -n -o SOURCE --mountpoint /var/lib)\" = rnetns-bench-varlib ] && \
             for k in /run/docker/netns/*; do [ -e \"$k\" ] || continue; umount \"$k\"; done; \
             rm -rf /run/docker /run/containerd /run/containers /var/lib/docker /var/lib/containers",
        );
        self.clear();
    }
}

fn must_sh(script: &str) {
    if sh(script).0 != 0 {
        die(&format!("fixture step failed: {script}"));
    }
}
