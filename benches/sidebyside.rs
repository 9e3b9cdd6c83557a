//! Side-by-side benchmark: iproute2's `ip netns` against rnetns (targets and results: benches/RESULTS.md).
//!
//! `cargo bench --bench sidebyside -- [--n N] [--reps R] [--quick] [--docker]`
//! `[--wiring W] [--wiring-scale W1,W2,...] [--only-wiring]`
//!
//! The wiring rows (README "See the wiring") build W namespaces, each with a veth to one
//! host bridge and an address, and time `list --all-runtimes --links` and
//! `identify --iface` against the shell pipeline a user writes today
//! (`for n in $(ip netns); do ip -n $n -j -d link; ip -n $n -j addr; done`)
//! and against a bare `list --all-runtimes`; then the listing's time, peak
//! RSS and marginal cost per namespace at each of the wiring scale's sizes.
//!
//! Everything that creates namespaces runs in a sandbox: the binary
//! re-executes itself under `unshare --mount --net --pid --fork --mount-proc
//! --propagation private`, mounts a tmpfs on /run, and checks that it is
//! PID 1 of a new pid namespace, in a new netns, and that /run is its own
//! tmpfs before it creates anything. The host's namespaces are never
//! touched. Only `--docker` works on the host, and only with containers it
//! creates (labelled `rnetns-bench=1`) and removes again; when no dockerd
//! answers it starts one and stops it, by PID, at the end.
//!
//! Each scenario runs both tools alternately (the order flips every
//! repetition) after one unmeasured warm-up, and reports medians of the
//! wall time from spawn to wait4, and of ru_maxrss from wait4's rusage.

#[path = "sidebyside/bounded.rs"]
mod bounded;
#[path = "../tests/support/dockerd.rs"]
mod dockerd;
#[path = "../tests/support/fuse.rs"]
mod fuse;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IP: &str = "/usr/sbin/ip";
const RUN_DIR: &str = "/run/netns";
/// Scratch space for batch files, on the sandbox's /run tmpfs.
const SCRATCH: &str = "/run/rnetns-bench";
const ENV_SANDBOX: &str = "RNETNS_BENCH_HOST_NETNS";
const ENV_BIN: &str = "RNETNS_BENCH_BIN";
const ENV_DOCKER: &str = "RNETNS_BENCH_DOCKER";
const TMPFS_MAGIC: i64 = 0x0102_1994;
const LABEL: &str = "rnetns-bench=1";
const IMAGE: &str = "rnetns-bench-busybox:latest";

// ---------------------------------------------------------------- options

#[derive(Clone, Debug)]
struct Opts {
    n: usize,
    reps: usize,
    heavy_reps: usize,
    adds: usize,
    batch: usize,
    procs: usize,
    scale: Vec<usize>,
    containers: usize,
    docker: bool,
    quick: bool,
    /// Only the bounded-reads scenarios (README "Bounded reads").
    bounded: bool,
    rnetns: Option<PathBuf>,
    wiring: usize,
    wiring_scale: Vec<usize>,
    only_wiring: bool,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts {
            n: 2000,
            reps: 15,
            heavy_reps: 3,
            adds: 200,
            batch: 1000,
            procs: 300,
            scale: vec![100, 1000, 10000],
            containers: 50,
            docker: false,
            quick: false,
            bounded: false,
            rnetns: None,
            wiring: 200,
            wiring_scale: vec![20, 200, 2000],
            only_wiring: false,
        };
        let (mut n, mut reps, mut scale) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |what: &str| {
                it.next()
                    .ok_or_else(|| format!("{a} needs {what}"))
                    .cloned()
            };
            let num = |s: String| s.parse::<usize>().map_err(|_| format!("bad number {s:?}"));
            match a.as_str() {
                "--bench" => {} // added by `cargo bench`
                "--quick" => o.quick = true,
                "--bounded" => o.bounded = true,
                "--docker" => o.docker = true,
                "--only-wiring" => o.only_wiring = true,
                "--wiring" => o.wiring = num(value("a count")?)?.max(1),
                "--wiring-scale" => {
                    let v = value("a list like 20,200")?;
                    let list: Result<Vec<usize>, String> = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| num(s.into()))
                        .collect();
                    o.wiring_scale = list?;
                }
                "--n" => n = Some(num(value("a count")?)?),
                "--reps" => reps = Some(num(value("a count")?)?),
                "--containers" => o.containers = num(value("a count")?)?,
                "--rnetns" => o.rnetns = Some(PathBuf::from(value("a path")?)),
                "--scale" => {
                    let v = value("a list like 100,1000")?;
                    let list: Result<Vec<usize>, String> = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| num(s.into()))
                        .collect();
                    scale = Some(list?);
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if o.quick {
            (o.n, o.reps, o.heavy_reps, o.adds, o.batch, o.procs) = (50, 3, 1, 10, 20, 20);
            o.scale = vec![10, 50];
            o.containers = o.containers.min(5);
            o.wiring = o.wiring.min(20);
            o.wiring_scale = vec![10, 20];
        }
        if let Some(n) = n {
            o.n = n.max(1);
        }
        if let Some(r) = reps {
            o.reps = r.max(1);
            o.heavy_reps = o.heavy_reps.min(o.reps);
        }
        if let Some(s) = scale {
            o.scale = s;
        }
        Ok(o)
    }
}

const USAGE: &str = "usage: cargo bench --bench sidebyside -- [--n N] [--reps R] [--quick] \
[--docker] [--containers C] [--scale N1,N2,...] [--rnetns PATH] \
[--wiring W] [--wiring-scale W1,W2,...] [--only-wiring] [--bounded]";

// ---------------------------------------------------------------- measuring

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Ip,
    Rn,
}

/// One timed run: wall seconds from spawn to reaping, ru_maxrss (KiB), status.
#[derive(Clone, Copy, Debug)]
struct Sample {
    secs: f64,
    /// user + system CPU time of the process (and its reaped children).
    cpu: f64,
    rss_kb: i64,
    code: i32,
}

/// Medians over the samples of one tool in one scenario.
#[derive(Clone, Copy, Debug)]
struct Stats {
    secs: f64,
    cpu: f64,
    rss_kb: i64,
    n: usize,
    failures: usize,
}

fn median_f(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn stats(samples: &[Sample]) -> Stats {
    let mut t: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    let mut r: Vec<f64> = samples.iter().map(|s| s.rss_kb as f64).collect();
    let mut c: Vec<f64> = samples.iter().map(|s| s.cpu).collect();
    Stats {
        secs: median_f(&mut t),
        cpu: median_f(&mut c),
        rss_kb: median_f(&mut r) as i64,
        n: samples.len(),
        failures: samples.iter().filter(|s| s.code != 0).count(),
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Spawns ARGV with stdin/stdout/stderr on /dev/null and reaps it with
/// wait4 to get its rusage.
fn measure(argv: &[OsString]) -> Sample {
    let t0 = Instant::now();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => die(&format!("cannot run {:?}: {e}", argv[0])),
    };
    let (code, cpu, rss_kb) = reap(child);
    Sample {
        secs: t0.elapsed().as_secs_f64(),
        cpu,
        rss_kb,
        code,
    }
}

/// wait4 on CHILD: (exit status or 128+signal, user+sys seconds,
/// ru_maxrss in KiB).
fn reap(child: Child) -> (i32, f64, i64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; PID is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            die(&format!("wait4: {e}"));
        }
    }
    drop(child); // already reaped; dropping a Child neither waits nor kills
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    (code, tv(ru.ru_utime) + tv(ru.ru_stime), ru.ru_maxrss)
}

/// Runs ARGV to completion, returning (status, stdout).
fn run_capture(argv: &[OsString]) -> (i32, Vec<u8>) {
    match Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        Ok(o) => (o.status.code().unwrap_or(128), o.stdout),
        Err(e) => die(&format!("cannot run {:?}: {e}", argv[0])),
    }
}

fn sh(script: &str) -> (i32, Vec<u8>) {
    run_capture(&os(&["sh", "-c", script]))
}

fn die(msg: &str) -> ! {
    eprintln!("sidebyside: {msg}");
    std::process::exit(1);
}

// ---------------------------------------------------------------- the table

#[derive(Clone, Copy, Debug)]
enum Unit {
    Time,
    /// The row compares peak RSS instead of time.
    Rss,
}

struct Row {
    name: String,
    base: Option<Stats>,
    rn: Option<Stats>,
    /// Largest acceptable rnetns/base ratio.
    target: Option<f64>,
    /// Largest acceptable rnetns-column time in seconds (a row whose bound
    /// is absolute, not a ratio).
    limit: Option<f64>,
    floor: Option<f64>,
    unit: Unit,
    skipped: Option<String>,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        let (b, r) = (self.base?, self.rn?);
        match self.unit {
            Unit::Time => Some(r.secs / b.secs),
            Unit::Rss => Some(r.rss_kb as f64 / b.rss_kb as f64),
        }
    }
}

fn fmt_ms(secs: f64) -> String {
    let ms = secs * 1e3;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{secs:.2} s")
    }
}

fn cell(s: Option<Stats>, unit: Unit) -> String {
    match (s, unit) {
        (None, _) => "-".into(),
        (Some(s), Unit::Time) => fmt_ms(s.secs),
        (Some(s), Unit::Rss) => format!("{} KiB", s.rss_kb),
    }
}

fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | iproute2 | rnetns | ratio | target | result | kernel floor | RSS iproute2 | RSS rnetns | CPU ratio |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for r in rows {
        if let Some(why) = &r.skipped {
            let _ = writeln!(out, "| {} | skipped: {why} | | | | | | | | |", r.name);
            continue;
        }
        let ratio = r.ratio();
        let verdict = match (ratio, r.target, r.limit.zip(r.rn)) {
            (_, _, Some((l, n))) if n.secs <= l => "PASS",
            (_, _, Some(_)) => "MISS",
            (Some(x), Some(t), _) if x <= t => "PASS",
            (Some(_), Some(_), _) => "MISS",
            _ => "",
        };
        let fail = |s: Option<Stats>| match s {
            Some(s) if s.failures > 0 => format!(" ({} failed)", s.failures),
            _ => String::new(),
        };
        let rss = |s: Option<Stats>| s.map_or("-".into(), |s| format!("{} KiB", s.rss_kb));
        let cpu = match (r.base, r.rn, r.unit) {
            (Some(b), Some(n), Unit::Time) if b.cpu > 0.0 => format!("{:.2}", n.cpu / b.cpu),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {}{} | {}{} | {} | {} | {} | {} | {} | {} | {cpu} |",
            r.name,
            cell(r.base, r.unit),
            fail(r.base),
            cell(r.rn, r.unit),
            fail(r.rn),
            ratio.map_or("-".into(), |x| format!("{x:.2}")),
            match (r.target, r.limit) {
                (_, Some(l)) => format!("rnetns <= {}", fmt_ms(l)),
                (Some(t), None) => format!("<= {t}"),
                (None, None) => String::new(),
            },
            verdict,
            r.floor.map_or(String::new(), fmt_ms),
            rss(r.base),
            rss(r.rn),
        );
    }
    out
}

// ---------------------------------------------------------------- host side

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(FLOOR_NETNS) {
        let threads = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
        floor_netns(
            args.get(1).and_then(|k| k.parse().ok()).unwrap_or(1),
            threads,
        );
    }
    if args.first().map(String::as_str) == Some(FLOOR_EXEC) {
        floor_exec(args.get(1).map_or("", String::as_str));
    }
    if args.first().map(String::as_str) == Some(FLOOR_PROCS) {
        floor_procs();
    }
    if args.first().map(String::as_str) == Some(FLOOR_DOCKER) {
        floor_docker();
    }
    if args.first().map(String::as_str) == Some(FLOOR_WIRING) {
        floor_wiring();
    }
    let opts = match Opts::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("sidebyside: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if std::env::var_os(ENV_SANDBOX).is_some() {
        inside(opts, args);
    } else {
        outside(opts, args);
    }
}

/// Hidden mode, run only inside the sandbox: the kernel floor of `add`
/// in one process, K times unshare(CLONE_NEWNET) keeping each new netns
/// alive by an open fd (no placeholder, no mount), then back home.
const FLOOR_NETNS: &str = "--floor-netns";

fn floor_netns(k: usize, threads: usize) -> ! {
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
const FLOOR_EXEC: &str = "--floor-exec";

fn floor_exec(name: &str) -> ! {
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
const FLOOR_PROCS: &str = "--floor-procs";

/// Hidden mode: the /proc pass, plus what any tool naming docker's
/// namespaces without its API must read: each container's
/// `config.v2.json` (open, fstat, read, close) and each sandbox file's
/// identity (open, fstat).
const FLOOR_DOCKER: &str = "--floor-docker";

fn floor_docker() -> ! {
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
    floor_procs()
}

fn floor_procs() -> ! {
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

/// The rnetns binary to measure: --rnetns, else the one cargo built for
/// this bench (with the bench profile, which is the release profile).
fn locate_rnetns(opts: &Opts) -> PathBuf {
    let p = match &opts.rnetns {
        Some(p) => p.as_path(),
        None => Path::new(env!("CARGO_BIN_EXE_rnetns")),
    };
    fs::canonicalize(p).unwrap_or_else(|e| die(&format!("{}: {e}", p.display())))
}

fn netns_ino() -> u64 {
    fs::metadata("/proc/self/ns/net")
        .map(|m| m.ino())
        .unwrap_or_else(|e| die(&format!("/proc/self/ns/net: {e}")))
}

fn outside(opts: Opts, args: Vec<String>) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        die("needs root (it builds namespaces inside its own sandbox)");
    }
    if !Path::new(IP).exists() {
        die("iproute2's /usr/sbin/ip is not installed");
    }
    let rn = locate_rnetns(&opts);
    println!(
        "sidebyside: {} vs {IP} ({}); N={} reps={} quick={}",
        rn.display(),
        String::from_utf8_lossy(&run_capture(&os(&[IP, "-V"])).1).trim(),
        opts.n,
        opts.reps,
        opts.quick
    );
    println!(
        "load: {}",
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let _ = std::io::stdout().flush();
    let docker = docker::scenario(&opts, &rn);
    let me = std::env::current_exe().unwrap_or_else(|e| die(&format!("current_exe: {e}")));
    let status = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
        ])
        .arg(&me)
        .args(&args)
        .env(ENV_SANDBOX, netns_ino().to_string())
        .env(ENV_BIN, &rn)
        .env(ENV_DOCKER, docker.encode())
        .status()
        .unwrap_or_else(|e| die(&format!("cannot run unshare: {e}")));
    std::process::exit(status.code().unwrap_or(1));
}

// ---------------------------------------------------------------- sandbox

/// Mounts the sandbox's /run and refuses to go on unless the sandbox
/// really is one: PID 1 of a new pid namespace, a netns other than the
/// host's, and /run a tmpfs of our own.
fn enter_sandbox() {
    let host_ino: u64 = std::env::var(ENV_SANDBOX)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| die("bad sandbox marker"));
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != 1 {
        die("not PID 1 of a new pid namespace; refusing to create anything");
    }
    if netns_ino() == host_ino {
        die("still in the host's network namespace; refusing to create anything");
    }
    let src = c"rnetns-bench";
    let fstype = c"tmpfs";
    let target = c"/run";
    // SAFETY: NUL-terminated constants; no data argument.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if r != 0 {
        die(&format!(
            "mount tmpfs on /run: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: statfs is plain old data; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statfs(target.as_ptr(), &mut st) } != 0 || st.f_type as i64 != TMPFS_MAGIC {
        die("/run is not a tmpfs after mounting one; refusing to go on");
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let last_run = mountinfo
        .lines()
        .rev()
        .find(|l| l.split(' ').nth(4) == Some("/run"))
        .unwrap_or("");
    if !last_run.contains(" - tmpfs rnetns-bench ") {
        die("/run is not the sandbox's tmpfs; refusing to go on");
    }
    if fs::read_dir("/run").map_or(true, |mut d| d.next().is_some()) {
        die("/run is not empty; refusing to go on");
    }
    fs::create_dir_all(SCRATCH).unwrap_or_else(|e| die(&format!("{SCRATCH}: {e}")));
}

/// Untimed work before each measured run (rebuilding a fixture).
type Setup<'a> = dyn FnMut(&mut Bench, Tool) + 'a;

struct Bench {
    opts: Opts,
    rn: PathBuf,
    rows: Vec<Row>,
    /// Long-lived processes (sleepers), killed at the end.
    kids: Vec<Child>,
    /// The process inside a fixture namespace that `identify` looks for;
    /// killed before its namespace is deleted, so that `settle` never
    /// waits on a namespace it keeps alive.
    victim: Option<Child>,
    file_no: usize,
}

fn inside(opts: Opts, _args: Vec<String>) {
    enter_sandbox();
    let rn = PathBuf::from(std::env::var_os(ENV_BIN).unwrap_or_else(|| die("no binary")));
    if opts.bounded {
        print!("{}", bounded::run(&rn));
        return;
    }
    let docker = docker::Result::decode(&std::env::var(ENV_DOCKER).unwrap_or_default());
    let mut b = Bench {
        opts,
        rn,
        rows: Vec::new(),
        kids: Vec::new(),
        victim: None,
        file_no: 0,
    };
    let t0 = Instant::now();
    if !b.opts.only_wiring {
        b.run_all();
        b.rows.push(docker.row());
    }
    let wiring_scale = b.wiring();
    println!();
    print!("{}", render(&b.rows));
    let scale = if b.opts.only_wiring {
        String::new()
    } else {
        b.scaling()
    };
    println!();
    print!("{scale}");
    println!();
    print!("{wiring_scale}");
    println!(
        "\n(medians; N={}, reps={} (batch add {}, -all delete {}), {} processes alive for pids; total {:.0} s)",
        b.opts.n,
        b.opts.reps,
        b.opts.heavy_reps,
        if b.opts.quick {
            b.opts.heavy_reps
        } else {
            b.opts.heavy_reps.max(5)
        },
        b.opts.procs,
        t0.elapsed().as_secs_f64()
    );
    b.cleanup();
}

impl Bench {
    fn argv(&self, tool: Tool, globals: &[&str], words: &[&str]) -> Vec<OsString> {
        let mut v: Vec<OsString> = Vec::new();
        match tool {
            Tool::Ip => {
                v.push(IP.into());
                v.extend(globals.iter().map(OsString::from));
                v.push("netns".into());
            }
            Tool::Rn => {
                v.push(self.rn.clone().into());
                v.extend(globals.iter().map(OsString::from));
            }
        }
        v.extend(words.iter().map(OsString::from));
        v
    }

    fn note(&self, msg: &str) {
        println!("  {msg}");
        let _ = std::io::stdout().flush();
    }

    /// Writes LINES to a fresh scratch batch file.
    fn batch_file(&mut self, lines: impl Iterator<Item = String>) -> PathBuf {
        self.file_no += 1;
        let p = PathBuf::from(format!("{SCRATCH}/batch{}", self.file_no));
        let mut text = String::new();
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        fs::write(&p, text).unwrap_or_else(|e| die(&format!("{}: {e}", p.display())));
        p
    }

    /// Runs a batch with rnetns (fixture work, not measured); -force so one
    /// bad line does not stop the rest.
    fn rn_batch(&mut self, lines: impl Iterator<Item = String>) {
        let f = self.batch_file(lines);
        let mut argv = vec![self.rn.clone().into_os_string()];
        argv.extend(os(&["-force", "-b"]));
        argv.push(f.into());
        let (code, _) = run_capture(&argv);
        if code != 0 {
            self.note(&format!("warning: fixture batch exited {code}"));
        }
    }

    /// N namespaces PREFIX0..PREFIX{N-1}, each with an NSID.
    fn build(&mut self, prefix: &str, n: usize) -> Duration {
        let t0 = Instant::now();
        let adds = (0..n).map(|i| format!("netns add {prefix}{i}"));
        let sets = (0..n).map(|i| format!("netns set {prefix}{i} auto"));
        self.rn_batch(adds.chain(sets));
        t0.elapsed()
    }

    fn entries(&self) -> usize {
        fs::read_dir(RUN_DIR).map_or(0, |d| d.count())
    }

    /// Deletes every entry (fixture work) and lets the kernel's
    /// asynchronous netns teardown finish before anything is timed again.
    fn clear(&mut self) {
        let n = self.entries();
        let (_, _) = run_capture(&[self.rn.clone().into(), "-all".into(), "delete".into()]);
        settle(n);
    }

    /// Measures both tools alternately (order flipped every repetition,
    /// one warm-up each unless SETUP is given, which runs before every
    /// run and is not timed).
    fn pair(
        &mut self,
        reps: usize,
        mut setup: Option<&mut Setup<'_>>,
        argv: &dyn Fn(&Bench, Tool) -> Vec<OsString>,
    ) -> (Stats, Stats) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        if setup.is_none() {
            measure(&argv(self, Tool::Ip));
            measure(&argv(self, Tool::Rn));
        }
        for r in 0..reps {
            let order = if r % 2 == 0 {
                [Tool::Ip, Tool::Rn]
            } else {
                [Tool::Rn, Tool::Ip]
            };
            for t in order {
                if let Some(s) = setup.as_mut() {
                    s(self, t);
                }
                let s = measure(&argv(self, t));
                match t {
                    Tool::Ip => a.push(s),
                    Tool::Rn => b.push(s),
                }
            }
        }
        (stats(&a), stats(&b))
    }

    fn row(
        &mut self,
        name: &str,
        (ip, rn): (Stats, Stats),
        target: Option<f64>,
        floor: Option<f64>,
    ) {
        self.note(&format!(
            "{name}: iproute2 {} rnetns {}",
            fmt_ms(ip.secs),
            fmt_ms(rn.secs)
        ));
        self.rows.push(Row {
            name: name.into(),
            base: Some(ip),
            rn: Some(rn),
            target,
            floor,
            limit: None,
            unit: Unit::Time,
            skipped: None,
        });
    }

    /// `ip netns add` latency alone (iproute2 column) and while `rnetns
    /// doctor` scans the N entries (rnetns column): doctor scans without
    /// the run dir's flock, so the add must not wait for the scan (issue
    /// 22; before, it waited 2.0 s with 3,000 entries). Bound: 50 ms.
    fn add_during_doctor(&mut self, reps: usize, n: usize) {
        let add = self.argv(Tool::Ip, &[], &["add", "latprobe"]);
        let del = self.argv(Tool::Ip, &[], &["delete", "latprobe"]);
        let (mut quiet, mut busy) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            quiet.push(measure(&add));
            run_capture(&del);
            let mut doctor = std::process::Command::new(&self.rn)
                .arg("doctor")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| die(&format!("doctor: {e}")));
            // Well into the scan (it takes hundreds of ms at N=3,000).
            std::thread::sleep(Duration::from_millis(50));
            busy.push(measure(&add));
            run_capture(&del);
            let _ = doctor.wait();
        }
        let (ip, rn) = (stats(&quiet), stats(&busy));
        self.note(&format!(
            "ip netns add alone {}, while rnetns doctor scans N={n}: {}",
            fmt_ms(ip.secs),
            fmt_ms(rn.secs)
        ));
        self.rows.push(Row {
            name: format!("ip netns add latency while doctor scans N={n} (iproute2 = alone)"),
            base: Some(ip),
            rn: Some(rn),
            target: None,
            limit: Some(0.050),
            floor: None,
            unit: Unit::Time,
            skipped: None,
        });
    }

    /// A row with only a kernel floor in it.
    fn info(&mut self, name: &str, floor: f64) {
        self.note(&format!("{name}: {}", fmt_ms(floor)));
        self.rows.push(Row {
            name: name.into(),
            base: None,
            rn: None,
            target: None,
            floor: Some(floor),
            limit: None,
            unit: Unit::Time,
            skipped: None,
        });
    }

    /// Median time of a single command (a kernel floor).
    fn floor(&self, reps: usize, argv: &[OsString]) -> f64 {
        measure(argv);
        let v: Vec<Sample> = (0..reps).map(|_| measure(argv)).collect();
        stats(&v).secs
    }

    /// Checks that both tools print the same bytes (a benchmark of wrong
    /// output would be worthless).
    fn same_output(&self, what: &str, globals: &[&str], words: &[&str]) {
        let a = run_capture(&self.argv(Tool::Ip, globals, words));
        let b = run_capture(&self.argv(Tool::Rn, globals, words));
        if a != b {
            self.note(&format!(
                "warning: {what}: outputs differ (iproute2 {} bytes status {}, rnetns {} bytes status {})",
                a.1.len(),
                a.0,
                b.1.len(),
                b.0
            ));
        }
    }

    fn sleeper(&mut self, netns: Option<&str>) -> u32 {
        let mut c = match netns {
            Some(n) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={RUN_DIR}/{n}")).arg("sleep");
                c
            }
            None => Command::new("sleep"),
        };
        let child = c
            .arg("1000000")
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot start sleep: {e}")));
        let pid = child.id();
        if netns.is_some() {
            self.kill_victim();
            self.victim = Some(child);
        } else {
            self.kids.push(child);
        }
        pid
    }

    fn kill_victim(&mut self) {
        if let Some(mut k) = self.victim.take() {
            let _ = k.kill();
            let _ = k.wait();
        }
    }

    fn cleanup(&mut self) {
        self.kill_victim();
        for mut k in self.kids.drain(..) {
            let _ = k.kill();
            let _ = k.wait();
        }
        // We are PID 1 here: reap anything orphaned onto us.
        // SAFETY: waitpid with a null status pointer is always valid.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
    }

    fn run_all(&mut self) {
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
        let nsenter_floor = |b: &Bench, name: &str| {
            b.floor(
                cheap,
                &os(&["nsenter", &format!("--net={RUN_DIR}/{name}"), "true"]),
            )
        };
        let f0 = nsenter_floor(self, "solo0");
        let r = self.pair(cheap, None, &|b, t| {
            b.argv(t, &[], &["exec", "solo0", "true"])
        });
        self.row("exec NAME true, 0 others", r, Some(0.8), Some(f0));
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

        self.same_output("list", &[], &["list"]);
        let r = self.pair(cheap, None, &|b, t| b.argv(t, &[], &["list"]));
        self.row(&format!("list, N={n}"), r, Some(0.35), None);
        self.rows.push(Row {
            name: format!("list peak RSS, N={n}"),
            base: Some(r.0),
            rn: Some(r.1),
            target: Some(1.0),
            floor: None,
            limit: None,
            unit: Unit::Rss,
            skipped: None,
        });
        self.same_output("-j list", &["-j"], &["list"]);
        let r = self.pair(cheap, None, &|b, t| b.argv(t, &["-j"], &["list"]));
        self.row(&format!("-j list, N={n}"), r, Some(0.35), None);
        self.same_output("list-id", &[], &["list-id"]);
        let r = self.pair(cheap, None, &|b, t| b.argv(t, &[], &["list-id"]));
        self.row(&format!("list-id, N={n}"), r, Some(0.5), None);
        self.add_during_doctor(cheap, n);
        self.same_output("identify", &[], &["identify", &victim]);
        let r = self.pair(cheap, None, &|b, t| b.argv(t, &[], &["identify", &victim]));
        self.row(&format!("identify PID, N={n}"), r, Some(0.6), None);
        self.same_output("pids", &[], &["pids", &mid]);
        let r = self.pair(cheap, None, &|b, t| b.argv(t, &[], &["pids", &mid]));
        let me = std::env::current_exe().unwrap_or_else(|e| die(&e.to_string()));
        let walk = self.floor(cheap, &[me.into_os_string(), FLOOR_PROCS.into()]);
        self.row(
            &format!("pids NAME, N={n}, {} procs", o.procs),
            r,
            Some(0.6),
            Some(walk),
        );
        let fl = nsenter_floor(self, &mid);
        let r = self.pair(cheap, None, &|b, t| b.argv(t, &[], &["exec", &mid, "true"]));
        self.row(&format!("exec NAME true, N={n}"), r, Some(0.8), Some(fl));
        let me = std::env::current_exe().unwrap_or_else(|e| die(&e.to_string()));
        let argv = [me.into_os_string(), FLOOR_EXEC.into(), mid.clone().into()];
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
    fn scaling(&mut self) -> String {
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

/// Waits for the kernel's asynchronous teardown of DELETED namespaces
/// (cleanup_net runs on a workqueue after the last mount goes away), so it
/// does not eat into the next measurement on a 2-core machine: first until
/// `list-id` shows no NSID without a name (a dying namespace keeps its
/// NSID until its teardown has started, spec 4.7), then a pause in
/// proportion to the namespaces deleted for the rest of the teardown.
fn settle(deleted: usize) {
    let t0 = Instant::now();
    while deleted > 0 && t0.elapsed() < Duration::from_secs(20) {
        let (_, out) = run_capture(&os(&[IP, "netns", "list-id"]));
        let dying = out
            .split(|&c| c == b'\n')
            .filter(|l| l.starts_with(b"nsid ") && !l.ends_with(b")"))
            .count();
        if dying == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let ms = 100 + deleted as u64 / 2;
    std::thread::sleep(Duration::from_millis(ms.min(5000)));
}

// ---------------------------------------------------------------- docker

/// `list --all-runtimes` against the docker CLI pipeline, on the host:
/// the containers live in the host's namespaces, so this is the one
/// scenario outside the sandbox. It only creates containers labelled
/// `rnetns-bench=1` and removes exactly those.
mod docker {
    use super::*;

    pub enum Result {
        Skipped(String),
        /// The pipeline, rnetns, and the /proc pass's kernel floor.
        Ran(Stats, Stats, f64),
    }

    const PIPELINE: &str =
        "docker ps -q | xargs docker inspect -f '{{.Name}} {{.NetworkSettings.SandboxKey}}'";

    impl Result {
        pub fn encode(&self) -> String {
            match self {
                Result::Skipped(why) => format!("skip\t{why}"),
                Result::Ran(a, b, floor) => format!(
                    "ran\t{}\t{}\t{}\t{}\t{}\t{}\t{floor}",
                    a.secs, a.rss_kb, a.n, b.secs, b.rss_kb, b.n
                ),
            }
        }

        pub fn decode(s: &str) -> Result {
            let f: Vec<&str> = s.split('\t').collect();
            let st = |i: usize| -> Option<Stats> {
                Some(Stats {
                    secs: f.get(i)?.parse().ok()?,
                    cpu: 0.0,
                    rss_kb: f.get(i + 1)?.parse().ok()?,
                    n: f.get(i + 2)?.parse().ok()?,
                    failures: 0,
                })
            };
            let floor = f.get(7).and_then(|s| s.parse().ok());
            match (f.first(), st(1), st(4), floor) {
                (Some(&"ran"), Some(a), Some(b), Some(floor)) => Result::Ran(a, b, floor),
                (Some(&"skip"), _, _, _) => Result::Skipped(f.get(1).unwrap_or(&"").to_string()),
                _ => Result::Skipped("no result".into()),
            }
        }

        pub fn row(&self) -> Row {
            let mut row = Row {
                name: "list --all-runtimes vs docker ps + inspect pipeline (base = pipeline)"
                    .into(),
                base: None,
                rn: None,
                target: Some(0.05),
                floor: None,
                limit: None,
                unit: Unit::Time,
                skipped: None,
            };
            match self {
                Result::Skipped(why) => row.skipped = Some(why.clone()),
                Result::Ran(a, b, floor) => {
                    (row.base, row.rn, row.floor) = (Some(*a), Some(*b), Some(*floor));
                }
            }
            row
        }
    }

    pub fn scenario(opts: &Opts, rn: &Path) -> Result {
        if !opts.docker {
            return Result::Skipped("pass --docker to run it".into());
        }
        // A running daemon is used as is; otherwise one is started for
        // this scenario and stopped (by PID) when it is done.
        let state = std::env::temp_dir().join("rnetns-bench-dockerd");
        let _ = fs::create_dir_all(&state);
        let daemon = match super::dockerd::Dockerd::ensure(&state) {
            Ok(d) => d,
            Err(e) => return Result::Skipped(e),
        };
        let mut probe = vec![rn.as_os_str().to_owned()];
        probe.extend(os(&["-j", "list", "--all-runtimes"]));
        let (code, out) = run_capture(&probe);
        if code != 0 || !out.windows(9).any(|w| w == b"\"runtime\"") {
            return Result::Skipped("this rnetns has no `list --all-runtimes`".into());
        }
        let mut imported = false;
        let result = match setup(opts, &mut imported) {
            Ok(()) => run(opts, rn),
            Err(e) => Result::Skipped(e),
        };
        teardown(imported);
        drop(daemon);
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
                 cp /bin/busybox {d}/r/bin/; for a in sh sleep; do ln -s busybox {d}/r/bin/$a; done; \
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

    fn run(opts: &Opts, rn: &Path) -> Result {
        let mut argv = vec![rn.as_os_str().to_owned()];
        argv.extend(os(&["list", "--all-runtimes"]));
        let pipe = os(&["sh", "-c", PIPELINE]);
        let (_, listed) = run_capture(&argv);
        let seen = String::from_utf8_lossy(&listed)
            .matches("rnetns-bench-")
            .count();
        if seen < opts.containers {
            println!(
                "  docker: warning: rnetns list --all-runtimes names {seen} of our {} containers",
                opts.containers
            );
        }
        let me =
            std::env::current_exe().map_or_else(|e| die(&e.to_string()), |p| p.into_os_string());
        let floor_argv = vec![me.clone(), FLOOR_PROCS.into()];
        let floor_docker_argv = vec![me, FLOOR_DOCKER.into()];
        measure(&pipe);
        measure(&argv);
        let reps = opts.reps.max(3);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for r in 0..reps {
            if r % 2 == 0 {
                a.push(measure(&pipe));
                b.push(measure(&argv));
            } else {
                b.push(measure(&argv));
                a.push(measure(&pipe));
            }
        }
        let (mut floor, mut floor_docker) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            floor.push(measure(&floor_argv));
            floor_docker.push(measure(&floor_docker_argv));
        }
        let (a, b) = (stats(&a), stats(&b));
        let (floor, floor_docker) = (stats(&floor).secs, stats(&floor_docker).secs);
        println!(
            "  docker: pipeline {} rnetns list --all-runtimes {} floor of its /proc pass {} \
             and with docker's state read {}",
            fmt_ms(a.secs),
            fmt_ms(b.secs),
            fmt_ms(floor),
            fmt_ms(floor_docker)
        );
        Result::Ran(a, b, floor_docker)
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

// ---------------------------------------------------------------- wiring

/// Deletes the wiring fixture's bridges.
fn del_bridges() {
    let (_, out) = run_capture(&os(&[IP, "-o", "link", "show", "type", "bridge"]));
    for line in String::from_utf8_lossy(&out).lines() {
        if let Some(name) = line.split(": ").nth(1).filter(|n| n.starts_with("wbr")) {
            let (_, _) = run_capture(&os(&[IP, "link", "del", name]));
        }
    }
}

/// The pipeline a user writes today to see every namespace's interfaces.
const WIRING_PIPELINE: &str =
    "for n in $(ip netns | cut -d' ' -f1); do ip -n $n -j -d link; ip -n $n -j addr; done";

impl Bench {
    /// W namespaces w0.. each with `eth0`, a veth to a host bridge
    /// (host end `wv<i>`), up, with an address (fixture work, not timed).
    /// A bridge takes at most 1,024 ports: veth i is on bridge `wbr<i/1000>`.
    fn build_wired(&mut self, w: usize) {
        self.clear();
        del_bridges();
        self.rn_batch((0..w).map(|i| format!("netns add w{i}")));
        let mut host = Vec::new();
        for b in 0..w.div_ceil(1000) {
            host.push(format!("link add wbr{b} type bridge"));
            host.push(format!("link set wbr{b} up"));
        }
        for i in 0..w {
            host.push(format!(
                "link add wv{i} type veth peer name eth0 netns w{i}"
            ));
            host.push(format!("link set wv{i} master wbr{} up", i / 1000));
        }
        let f = self.batch_file(host.into_iter());
        let (code, _) = run_capture(&[IP.into(), "-force".into(), "-b".into(), f.into()]);
        if code != 0 {
            self.note(&format!("warning: wiring host batch exited {code}"));
        }
        let script = format!(
            "for i in $(seq 0 {}); do ip -n w$i link set eth0 up && \
             ip -n w$i addr add 10.$((100 + i / 65536)).$((i / 256 % 256)).$((i % 256))/8 dev eth0; done",
            w.saturating_sub(1)
        );
        if sh(&script).0 != 0 {
            self.note("warning: wiring addresses failed");
        }
    }

    /// Times rnetns ARGV against base BASE, alternating, after a warm-up.
    fn versus(&self, reps: usize, base: &[OsString], rn: &[OsString]) -> (Stats, Stats) {
        measure(base);
        measure(rn);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for r in 0..reps {
            if r % 2 == 0 {
                a.push(measure(base));
                b.push(measure(rn));
            } else {
                b.push(measure(rn));
                a.push(measure(base));
            }
        }
        (stats(&a), stats(&b))
    }

    /// The wiring rows at W namespaces, then the scale table it returns.
    fn wiring(&mut self) -> String {
        let o = self.opts.clone();
        let w = o.wiring;
        let t0 = Instant::now();
        self.build_wired(w);
        self.note(&format!(
            "wiring: built {w} namespaces with a veth each in {:.1} s",
            t0.elapsed().as_secs_f64()
        ));
        let bin = self.rn.clone().into_os_string();
        let rn = |words: &[&str]| -> Vec<OsString> {
            let mut v = vec![bin.clone()];
            v.extend(words.iter().map(OsString::from));
            v
        };
        let links = rn(&["list", "--all-runtimes", "--links"]);
        let (_, out) = run_capture(&links);
        let peers = String::from_utf8_lossy(&out).matches("<-> wv").count();
        if peers < w {
            self.note(&format!(
                "warning: --links resolved {peers} of {w} container ends"
            ));
        }
        let pipe = os(&["sh", "-c", WIRING_PIPELINE]);
        let reps = o.reps.clamp(3, 10);
        let r = self.versus(reps, &pipe, &links);
        self.row(
            &format!("list --all-runtimes --links vs ip pipeline (base = pipeline), W={w}"),
            r,
            Some(0.05),
            None,
        );
        let bare = rn(&["list", "--all-runtimes"]);
        let r = self.versus(reps, &bare, &links);
        let me = std::env::current_exe().unwrap_or_else(|e| die(&e.to_string()));
        let floor = self.floor(reps, &[me.into_os_string(), FLOOR_WIRING.into()]);
        self.row(
            &format!("list --all-runtimes --links vs list --all-runtimes (base = bare), W={w}"),
            r,
            Some(2.0),
            Some(floor),
        );
        let iface = format!("wv{}", w / 2);
        let ident = rn(&["identify", "--iface", &iface]);
        let r = self.versus(reps, &pipe, &ident);
        self.row(
            &format!("identify --iface HOSTVETH vs ip pipeline (base = pipeline), W={w}"),
            r,
            Some(0.1),
            None,
        );
        let mut out = String::from(
            "| W | list --all-runtimes --links | CPU | per ns | marginal per ns | CPU marginal per ns | peak RSS | ip pipeline |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let mut prev: Option<(usize, Stats)> = None;
        for &n in &o.wiring_scale {
            self.build_wired(n);
            let reps = (o.reps * 200 / n.max(1)).clamp(3, o.reps.max(3));
            // The pipeline is context only: past a few hundred namespaces
            // it takes minutes (each `ip -n` copies every mount).
            let p = (n <= 200).then(|| self.versus(1, &pipe, &links).0);
            measure(&links);
            let s = stats(&(0..reps).map(|_| measure(&links)).collect::<Vec<_>>());
            self.note(&format!(
                "wiring scale W={n}: rnetns {} (CPU {}) pipeline {}",
                fmt_ms(s.secs),
                fmt_ms(s.cpu),
                p.map_or("-".into(), |p| fmt_ms(p.secs))
            ));
            let marginal = |f: fn(&Stats) -> f64| match prev {
                Some((m, b)) if n > m => {
                    format!("{:.1} µs", (f(&s) - f(&b)) * 1e6 / (n - m) as f64)
                }
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "| {n} | {} | {} | {:.1} µs | {} | {} | {} KiB | {} |",
                fmt_ms(s.secs),
                fmt_ms(s.cpu),
                s.secs * 1e6 / n as f64,
                marginal(|s| s.secs),
                marginal(|s| s.cpu),
                s.rss_kb,
                p.map_or("-".into(), |p| fmt_ms(p.secs))
            );
            prev = Some((n, s));
        }
        self.clear();
        del_bridges();
        out
    }
}

/// Hidden mode: the kernel floor of `--links`: for every run-dir entry,
/// open it, setns, and read an RTM_GETLINK and an RTM_GETADDR dump to the
/// end on a fresh NETLINK_ROUTE socket, parsing nothing.
const FLOOR_WIRING: &str = "--floor-wiring";

fn floor_wiring() -> ! {
    let mut buf = vec![0u8; 65536];
    let dump = |fd: i32, kind: u16, buf: &mut [u8]| {
        // nlmsghdr (16) + ifinfomsg/rtgenmsg padded to 16.
        let mut req = [0u8; 32];
        req[..4].copy_from_slice(&32u32.to_ne_bytes());
        req[4..6].copy_from_slice(&kind.to_ne_bytes());
        req[6..8].copy_from_slice(&(0x301u16).to_ne_bytes()); // REQUEST|DUMP
                                                              // SAFETY: req is a valid buffer of its length.
        unsafe { libc::send(fd, req.as_ptr().cast(), req.len(), 0) };
        loop {
            // SAFETY: buf is a valid writable buffer of its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                return;
            }
            let mut off = 0usize;
            while off + 16 <= n as usize {
                let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
                let t = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                if t == 3 || t == 2 || len < 16 {
                    return;
                }
                off += (len + 3) & !3;
            }
        }
    };
    let mut paths = vec![PathBuf::from("/proc/self/ns/net")];
    if let Ok(d) = fs::read_dir(RUN_DIR) {
        paths.extend(d.flatten().map(|e| e.path()));
    }
    for p in paths {
        let Ok(f) = fs::File::open(&p) else { continue };
        use std::os::fd::AsRawFd;
        // SAFETY: plain syscalls on fds we own.
        unsafe {
            libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET);
            let s = libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            dump(s, 18, &mut buf); // RTM_GETLINK
            dump(s, 22, &mut buf); // RTM_GETADDR
            libc::close(s);
        }
    }
    std::process::exit(0)
}
