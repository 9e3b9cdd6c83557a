//! The `ip netns` verbs side by side with iproute2: start-up, exec, list,
//! list-id, identify, pids, add, batch add, -all delete; their kernel
//! floors; and the scaling table.

use super::*;

/// Hidden mode, run only inside the sandbox: the kernel floor of `add`
/// in one process, K times unshare(CLONE_NEWNET) keeping each new netns
/// alive by an open fd (no placeholder, no mount), then back home.
pub const FLOOR_NETNS: &str = "--floor-netns";

pub fn floor_netns(k: usize, threads: usize) -> ! {
    if std::env::var_os(ENV_SANDBOX).is_none() {
        die("--floor-netns runs only inside the sandbox");
    }
    let make = move |k: usize| -> Vec<fs::File> {
        let home =
            fs::File::open("/proc/thread-self/ns/net").unwrap_or_else(|e| die(&e.to_string()));
        let mut keep = Vec::with_capacity(k);
        for _ in 0..k {
            // SAFETY: unshare has no memory-safety preconditions.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                die(&format!("unshare: {}", std::io::Error::last_os_error()));
            }
            keep.push(
                fs::File::open("/proc/thread-self/ns/net").unwrap_or_else(|e| die(&e.to_string())),
            );
        }
        use std::os::fd::AsRawFd;
        // SAFETY: HOME is an open netns fd.
        if unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            die("setns back failed");
        }
        keep
    };
    // THREADS > 1: the same K split over that many threads (rnetns's batch
    // `add` makes namespaces on two workers, src/pool.rs).
    let threads = threads.max(1);
    let handles: Vec<_> = (0..threads)
        .map(|t| std::thread::spawn(move || make(k / threads + usize::from(t < k % threads))))
        .collect();
    let kept: Vec<Vec<fs::File>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    drop(kept);
    std::process::exit(0);
}

/// Hidden mode, run only inside the sandbox: the kernel floor of `exec
/// NAME true`, the syscalls both tools make and nothing else: setns into
/// the entry, a new mount namespace made a slave of ours (a copy of every
/// mount, N nsfs mounts included), a fresh sysfs over a detached /sys, and
/// exec of /bin/true.
pub const FLOOR_EXEC: &str = "--floor-exec";

pub fn floor_exec(name: &str) -> ! {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    use nix::sched::{setns, unshare, CloneFlags};
    if std::env::var_os(ENV_SANDBOX).is_none() {
        die("--floor-exec runs only inside the sandbox");
    }
    let none: Option<&str> = None;
    let f = fs::File::open(format!("{RUN_DIR}/{name}")).unwrap_or_else(|e| die(&e.to_string()));
    setns(&f, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| die(&e.to_string()));
    unshare(CloneFlags::CLONE_NEWNS).unwrap_or_else(|e| die(&e.to_string()));
    mount(none, "/", none, MsFlags::MS_SLAVE | MsFlags::MS_REC, none)
        .unwrap_or_else(|e| die(&e.to_string()));
    let _ = umount2("/sys", MntFlags::MNT_DETACH);
    mount(Some(name), "/sys", Some("sysfs"), MsFlags::empty(), none)
        .unwrap_or_else(|e| die(&e.to_string()));
    let e = std::os::unix::process::CommandExt::exec(&mut Command::new("/bin/true"));
    die(&e.to_string())
}

/// Hidden mode (read-only, so it also runs on the host): the kernel floor
/// of `pids NAME` and of `list --all-runtimes`'s /proc pass, what any tool
/// matching every process's network namespace must do: read /proc and
/// readlink each `/proc/PID/ns/net`.
pub const FLOOR_PROCS: &str = "--floor-procs";

pub fn floor_procs() -> ! {
    use nix::fcntl::{readlinkat, OFlag};
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut dir = nix::dir::Dir::open("/proc", flags, nix::sys::stat::Mode::empty())
        .unwrap_or_else(|e| die(&e.to_string()));
    let pids: Vec<String> = dir
        .iter()
        .flatten()
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let links = pids
        .iter()
        .filter(|p| readlinkat(&dir, format!("{p}/ns/net").as_str()).is_ok())
        .count();
    std::process::exit(i32::from(links == 0))
}

impl Bench {
    /// The scenario of iproute2's `ip GLOBALS netns WORDS` against
    /// rnetns's `rnetns GLOBALS WORDS`.
    pub fn verb(&self, name: &str, globals: &[&str], words: &[&str]) -> Scenario {
        Scenario::new(
            name,
            self.argv(Tool::Ip, globals, words),
            self.argv(Tool::Rn, globals, words),
        )
    }

    pub fn run_all(&mut self) {
        let o = self.opts.clone();
        let cheap = o.reps;

        // Start-up: three-way, three times the repetitions (sub-millisecond).
        let mut v = [Vec::new(), Vec::new(), Vec::new()];
        let cmds = [
            os(&[IP, "-V"]),
            vec![self.rn.clone().into(), "-V".into()],
            os(&["/bin/true"]),
        ];
        for c in &cmds {
            measure(c);
        }
        for r in 0..cheap * 3 {
            for i in 0..3 {
                let i = (i + r) % 3;
                v[i].push(measure(&cmds[i]));
            }
        }
        let [ipv, rnv, tru] = v.map(|s| stats(&s));
        self.row("start-up: -V", (ipv, rnv), None, None);
        self.row(
            "start-up: rnetns -V vs /bin/true (base = true)",
            (tru, rnv),
            Some(1.2),
            None,
        );
        self.note(&format!("ip -V / true = {:.2}", ipv.secs / tru.secs));

        // exec with no other namespace present.
        self.build("solo", 1);
        let nsenter = |name: &str| os(&["nsenter", &format!("--net={RUN_DIR}/{name}"), "true"]);
        let row = self
            .verb("exec NAME true, 0 others", &[], &["exec", "solo0", "true"])
            .target(0.8)
            .floor(nsenter("solo0"))
            .run(cheap);
        self.rows.push(row);
        self.clear();

        // The N fixture.
        let n = o.n;
        let took = self.build("ns", n);
        self.note(&format!(
            "built {n} namespaces with NSIDs in {:.1} s ({} entries)",
            took.as_secs_f64(),
            self.entries()
        ));
        let mid = format!("ns{}", n / 2);
        let victim = self.sleeper(Some(&mid)).to_string();
        for _ in 0..o.procs {
            self.sleeper(None);
        }
        std::thread::sleep(Duration::from_millis(200)); // let the sleepers exec

        let me = std::env::current_exe()
            .unwrap_or_else(|e| die(&e.to_string()))
            .into_os_string();
        let list = self
            .verb(&format!("list, N={n}"), &[], &["list"])
            .same_output()
            .target(0.35)
            .run(cheap);
        let rss = Row {
            name: format!("list peak RSS, N={n}"),
            target: Some(1.0),
            unit: Unit::Rss,
            ..list.clone()
        };
        self.rows.extend([list, rss]);
        let table = vec![
            self.verb(&format!("-j list, N={n}"), &["-j"], &["list"])
                .same_output()
                .target(0.35),
            self.verb(&format!("list-id, N={n}"), &[], &["list-id"])
                .same_output()
                .target(0.5),
        ];
        self.table(cheap, table);
        self.add_during_doctor(cheap, n);
        let table = vec![
            self.verb(&format!("identify PID, N={n}"), &[], &["identify", &victim])
                .same_output()
                .target(0.6),
            self.verb(
                &format!("pids NAME, N={n}, {} procs", o.procs),
                &[],
                &["pids", &mid],
            )
            .same_output()
            .target(0.6)
            .floor(vec![me.clone(), FLOOR_PROCS.into()]),
            self.verb(
                &format!("exec NAME true, N={n}"),
                &[],
                &["exec", &mid, "true"],
            )
            .target(0.8)
            .floor(nsenter(&mid)),
        ];
        self.table(cheap, table);
        let argv = [me, FLOOR_EXEC.into(), mid.clone().into()];
        let mnt = self.floor(cheap, &argv);
        self.info(
            &format!(
                "  floor of exec (setns, unshare(CLONE_NEWNS), rslave, new sysfs, exec), N={n}"
            ),
            mnt,
        );

        self.kill_victim();

        // add, one process per namespace, alternating; cleaned up after.
        let unshare_floor = self.floor(cheap, &os(&["unshare", "-n", "true"]));
        let (mut a, mut c) = (Vec::new(), Vec::new());
        for i in 0..o.adds {
            let ip = self.argv(Tool::Ip, &[], &["add", &format!("pa{i}")]);
            let rn = self.argv(Tool::Rn, &[], &["add", &format!("pr{i}")]);
            if i % 2 == 0 {
                a.push(measure(&ip));
                c.push(measure(&rn));
            } else {
                c.push(measure(&rn));
                a.push(measure(&ip));
            }
        }
        let dels = (0..o.adds)
            .flat_map(|i| [format!("netns delete pa{i}"), format!("netns delete pr{i}")]);
        self.rn_batch(dels);
        settle(2 * o.adds);
        self.row(
            &format!("add NAME (per process, {} each), N={n}", o.adds),
            (stats(&a), stats(&c)),
            Some(0.8),
            Some(unshare_floor),
        );

        // Batch add: the same file for both, cleaned up before each run.
        let k = o.batch;
        let file = self.batch_file((0..k).map(|i| format!("netns add b{i}")));
        let file = file.to_string_lossy().into_owned();
        let mut setup = |b: &mut Bench, _t: Tool| {
            if fs::metadata(format!("{RUN_DIR}/b0")).is_ok() {
                b.rn_batch((0..k).map(|i| format!("netns delete b{i}")));
                settle(k);
            }
        };
        let r = self.pair(o.heavy_reps, Some(&mut setup), &|b, t| match t {
            Tool::Ip => os(&[IP, "-b", &file]),
            Tool::Rn => vec![b.rn.clone().into(), "-b".into(), file.clone().into()],
        });
        setup(self, Tool::Rn);
        let me = std::env::current_exe().unwrap_or_else(|e| die(&e.to_string()));
        let mut fl = vec![
            me.into_os_string(),
            FLOOR_NETNS.into(),
            k.to_string().into(),
        ];
        let batch_floor: Vec<Sample> = (0..o.heavy_reps)
            .map(|_| {
                let s = measure(&fl);
                settle(k);
                s
            })
            .collect();
        fl.push("2".into());
        let batch_floor2: Vec<Sample> = (0..o.heavy_reps)
            .map(|_| {
                let s = measure(&fl);
                settle(k);
                s
            })
            .collect();
        fl.clear();
        self.row(
            &format!("batch add ({k} lines, -b), N={n}"),
            r,
            Some(0.6),
            Some(stats(&batch_floor).secs),
        );
        self.info(
            &format!("  floor of batch add on 2 threads (rnetns's pool: {k} unshare split over 2)"),
            stats(&batch_floor2).secs,
        );

        // -all delete: the fixture is rebuilt before every run, and the
        // kernel's teardown of the last one (and the rebuild) left to
        // settle, so neither tool pays for the other's namespaces.
        let mut setup = |b: &mut Bench, _t: Tool| {
            if b.entries() == 0 {
                settle(n);
                b.build("ns", n);
                settle(n);
            }
        };
        let reps = if o.quick {
            o.heavy_reps
        } else {
            o.heavy_reps.max(5)
        };
        let r = self.pair(reps, Some(&mut setup), &|b, t| {
            b.argv(t, &["-all"], &["delete"])
        });
        self.row(&format!("-all delete, N={n}"), r, Some(1.0), None);
        settle(n);
    }

    /// list, identify and pids at several N: total, per namespace, and the
    /// marginal cost per namespace added since the previous N (the fixed
    /// start-up cost cancels out of the last one).
    pub fn scaling(&mut self) -> String {
        let o = self.opts.clone();
        let mut out = String::from(
            "| N | scenario | iproute2 | rnetns | ratio | iproute2 per ns | rnetns per ns | iproute2 marginal per ns | rnetns marginal per ns |\n\
             |---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let mut prev: [Option<(usize, Stats, Stats)>; 3] = [None; 3];
        for &n in &o.scale {
            self.kill_victim();
            self.clear();
            let took = self.build("s", n);
            let built = self.entries();
            self.note(&format!(
                "scale: built {built} namespaces in {:.1} s",
                took.as_secs_f64()
            ));
            if built < n {
                let _ = writeln!(
                    out,
                    "| {n} | only {built} entries could be created | | | | | | | |"
                );
                continue;
            }
            let mid = format!("s{}", n / 2);
            let victim = self.sleeper(Some(&mid)).to_string();
            std::thread::sleep(Duration::from_millis(100));
            let reps = (o.reps * 1000 / n.max(1)).clamp(3.min(o.reps), o.reps);
            let cases: [(&str, Vec<&str>); 3] = [
                ("list", vec!["list"]),
                ("identify PID", vec!["identify", &victim]),
                ("pids NAME", vec!["pids", &mid]),
            ];
            for (i, (label, words)) in cases.into_iter().enumerate() {
                let (ip, rn) = self.pair(reps, None, &|b, t| b.argv(t, &[], &words));
                self.note(&format!(
                    "scale N={n} {label}: iproute2 {} rnetns {}",
                    fmt_ms(ip.secs),
                    fmt_ms(rn.secs)
                ));
                let per = |s: Stats| format!("{:.2} µs", s.secs * 1e6 / n as f64);
                let marginal = |now: Stats, before: Option<(usize, Stats)>| match before {
                    Some((m, b)) if n > m => {
                        format!("{:.2} µs", (now.secs - b.secs) * 1e6 / (n - m) as f64)
                    }
                    _ => "-".into(),
                };
                let _ = writeln!(
                    out,
                    "| {n} | {label} | {} | {} | {:.2} | {} | {} | {} | {} |",
                    fmt_ms(ip.secs),
                    fmt_ms(rn.secs),
                    rn.secs / ip.secs,
                    per(ip),
                    per(rn),
                    marginal(ip, prev[i].map(|(m, a, _)| (m, a))),
                    marginal(rn, prev[i].map(|(m, _, b)| (m, b))),
                );
                prev[i] = Some((n, ip, rn));
            }
        }
        self.kill_victim();
        self.clear();
        out
    }
}
