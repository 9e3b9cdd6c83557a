//! Side-by-side benchmark: iproute2's `ip netns` against rnetns (targets and results: benches/RESULTS.md).
//!
//! `cargo bench --bench sidebyside -- [--n N] [--reps R] [--quick] [--docker]`
//! `[--wiring W] [--wiring-scale W1,W2,...] [--only-wiring] [--only SECTION,...]`
//! `[--doctor-n N] [--mixed C] [--bounded]`
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
//!
//! Most rows are a [`Scenario`]: a name, rnetns's command line, the base's
//! (iproute2's, a shell pipeline's, or a bare rnetns's), a target ratio and
//! an optional kernel-floor command; the files under `sidebyside/` hold
//! the tables, one file per job:
//!
//! - `verbs.rs`: the `ip netns` verbs against iproute2, and the scaling table;
//! - `doctor.rs`: `ip netns add` latency while `doctor` scans (spec 4.4's lock);
//! - `runtimes.rs`: `--all-runtimes` against the docker CLI (`--docker`, real
//!   daemon, on the host) and on a mixed host of runtime fixtures;
//! - `wiring.rs`: `--links` and `identify --iface` (README "See the wiring");
//! - `bounded.rs`: `--bounded`, hostile rootless inputs (README "Bounded reads").

#[path = "sidebyside/bounded.rs"]
mod bounded;
#[path = "../tests/support/dockerd.rs"]
mod dockerd;
#[path = "sidebyside/doctor.rs"]
mod doctor;
#[path = "../tests/support/fuse.rs"]
mod fuse;
#[path = "sidebyside/runtimes.rs"]
mod runtimes;
#[path = "sidebyside/verbs.rs"]
mod verbs;
#[path = "sidebyside/wiring.rs"]
mod wiring;

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
    /// Entries in the run dir while `doctor` scans and `ip netns add` is timed.
    doctor_n: usize,
    /// Containers of the mixed-host fixture (`--all-runtimes` per container).
    mixed: usize,
    docker: bool,
    quick: bool,
    /// Only the bounded-reads scenarios (README "Bounded reads").
    bounded: bool,
    rnetns: Option<PathBuf>,
    wiring: usize,
    wiring_scale: Vec<usize>,
    /// The sections to run (`--only`; `--only-wiring` is `--only wiring`);
    /// `None`: all of them.
    only: Option<Vec<String>>,
}

/// The sections `--only` picks from, in the order they run.
const SECTIONS: &[&str] = &["verbs", "docker", "doctor", "runtimes", "wiring", "scaling"];

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
            doctor_n: 3000,
            mixed: 200,
            docker: false,
            quick: false,
            bounded: false,
            rnetns: None,
            wiring: 200,
            wiring_scale: vec![20, 200, 2000],
            only: None,
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
                "--only-wiring" => o.only = Some(vec!["wiring".into()]),
                "--only" => {
                    let v = value("a list like verbs,doctor")?;
                    let list: Vec<String> = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if let Some(bad) = list.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                        return Err(format!("unknown section {bad:?} (one of {SECTIONS:?})"));
                    }
                    o.only = Some(list);
                }
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
                "--doctor-n" => o.doctor_n = num(value("a count")?)?.max(1),
                "--mixed" => o.mixed = num(value("a count")?)?.max(4),
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
            o.doctor_n = o.doctor_n.min(300);
            o.mixed = o.mixed.min(20);
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

    fn want(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|l| l.iter().any(|s| s == section))
    }
}

const USAGE: &str = "usage: cargo bench --bench sidebyside -- [--n N] [--reps R] [--quick] \
[--docker] [--containers C] [--scale N1,N2,...] [--rnetns PATH] \
[--wiring W] [--wiring-scale W1,W2,...] [--only-wiring] [--bounded] \
[--only verbs,docker,doctor,runtimes,wiring,scaling] [--doctor-n N] [--mixed C]";

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

#[derive(Clone)]
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

/// Rows cross from the host side (docker) into the sandbox through the
/// environment: one row a line, fields tab-separated.
fn encode_rows(rows: &[Row]) -> String {
    let st = |s: Option<Stats>| {
        s.map_or("-".into(), |s| {
            format!("{},{},{},{},{}", s.secs, s.cpu, s.rss_kb, s.n, s.failures)
        })
    };
    let num = |x: Option<f64>| x.map_or("-".into(), |x| x.to_string());
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.name.replace(['\t', '\n'], " "),
            st(r.base),
            st(r.rn),
            num(r.target),
            num(r.limit),
            num(r.floor),
            matches!(r.unit, Unit::Rss),
            r.skipped
                .as_deref()
                .unwrap_or("")
                .replace(['\t', '\n'], " "),
        );
    }
    out
}

fn decode_rows(text: &str) -> Vec<Row> {
    let st = |f: &str| -> Option<Stats> {
        let v: Vec<&str> = f.split(',').collect();
        Some(Stats {
            secs: v.first()?.parse().ok()?,
            cpu: v.get(1)?.parse().ok()?,
            rss_kb: v.get(2)?.parse().ok()?,
            n: v.get(3)?.parse().ok()?,
            failures: v.get(4)?.parse().ok()?,
        })
    };
    let num = |f: &str| f.parse::<f64>().ok();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 8).then(|| Row {
                name: f[0].into(),
                base: st(f[1]),
                rn: st(f[2]),
                target: num(f[3]),
                limit: num(f[4]),
                floor: num(f[5]),
                unit: if f[6] == "true" {
                    Unit::Rss
                } else {
                    Unit::Time
                },
                skipped: (!f[7].is_empty()).then(|| f[7].into()),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- scenarios

/// One side-by-side row of a table: rnetns's command line against a base
/// command line (iproute2's, a shell pipeline's, or another rnetns run),
/// measured alternately, with the largest acceptable rnetns/base ratio.
struct Scenario {
    name: String,
    base: Vec<OsString>,
    rn: Vec<OsString>,
    target: Option<f64>,
    /// A bare command whose median time is the row's kernel floor.
    floor: Option<Vec<OsString>>,
    /// Warn when the two print different bytes (rows against iproute2).
    same_output: bool,
}

impl Scenario {
    fn new(name: impl Into<String>, base: Vec<OsString>, rn: Vec<OsString>) -> Scenario {
        Scenario {
            name: name.into(),
            base,
            rn,
            target: None,
            floor: None,
            same_output: false,
        }
    }

    fn target(mut self, t: f64) -> Scenario {
        self.target = Some(t);
        self
    }

    fn floor(mut self, argv: Vec<OsString>) -> Scenario {
        self.floor = Some(argv);
        self
    }

    fn same_output(mut self) -> Scenario {
        self.same_output = true;
        self
    }

    /// Runs the scenario: the output check, the floor, then REPS
    /// alternating pairs after one warm-up each.
    fn run(&self, reps: usize) -> Row {
        if self.same_output {
            let (a, b) = (run_capture(&self.base), run_capture(&self.rn));
            if a != b {
                note(&format!(
                    "warning: {}: outputs differ (iproute2 {} bytes status {}, rnetns {} bytes status {})",
                    self.name,
                    a.1.len(),
                    a.0,
                    b.1.len(),
                    b.0
                ));
            }
        }
        let floor = self.floor.as_ref().map(|f| floor(reps, f));
        let (base, rn) = versus(reps, &self.base, &self.rn);
        note(&format!(
            "{}: base {} rnetns {}",
            self.name,
            fmt_ms(base.secs),
            fmt_ms(rn.secs)
        ));
        Row {
            name: self.name.clone(),
            base: Some(base),
            rn: Some(rn),
            target: self.target,
            limit: None,
            floor,
            unit: Unit::Time,
            skipped: None,
        }
    }
}

fn note(msg: &str) {
    println!("  {msg}");
    let _ = std::io::stdout().flush();
}

/// Median time of a single command (a kernel floor), after a warm-up.
fn floor(reps: usize, argv: &[OsString]) -> f64 {
    measure(argv);
    let v: Vec<Sample> = (0..reps).map(|_| measure(argv)).collect();
    stats(&v).secs
}

/// Times RN against BASE, alternating (the order flips every repetition),
/// after one unmeasured warm-up of each.
fn versus(reps: usize, base: &[OsString], rn: &[OsString]) -> (Stats, Stats) {
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

// ---------------------------------------------------------------- host side

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(verbs::FLOOR_NETNS) => {
            let threads = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
            verbs::floor_netns(
                args.get(1).and_then(|k| k.parse().ok()).unwrap_or(1),
                threads,
            );
        }
        Some(verbs::FLOOR_EXEC) => verbs::floor_exec(args.get(1).map_or("", String::as_str)),
        Some(verbs::FLOOR_PROCS) => verbs::floor_procs(),
        Some(runtimes::FLOOR_DOCKER) => runtimes::floor_docker(),
        Some(wiring::FLOOR_WIRING) => wiring::floor_wiring(),
        _ => {}
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
    let docker = if opts.want("docker") {
        runtimes::docker::scenario(&opts, &rn)
    } else {
        Vec::new()
    };
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
        .env(ENV_DOCKER, encode_rows(&docker))
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
    let docker = decode_rows(&std::env::var(ENV_DOCKER).unwrap_or_default());
    let mut b = Bench {
        opts,
        rn,
        rows: Vec::new(),
        kids: Vec::new(),
        victim: None,
        file_no: 0,
    };
    let t0 = Instant::now();
    if b.opts.want("verbs") {
        b.run_all();
    }
    if b.opts.want("docker") {
        b.rows.extend(docker);
    }
    if b.opts.want("doctor") {
        b.doctor_rows();
    }
    if b.opts.want("runtimes") {
        b.mixed_host();
    }
    let wiring_scale = if b.opts.want("wiring") {
        b.wiring()
    } else {
        String::new()
    };
    println!();
    print!("{}", render(&b.rows));
    let scale = if b.opts.want("scaling") {
        b.scaling()
    } else {
        String::new()
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
        note(msg);
    }

    /// rnetns's command line with WORDS.
    fn rn_argv(&self, words: &[&str]) -> Vec<OsString> {
        let mut v = vec![self.rn.clone().into_os_string()];
        v.extend(words.iter().map(OsString::from));
        v
    }

    /// Runs each scenario of TABLE (REPS pairs) and adds its row.
    fn table(&mut self, reps: usize, table: Vec<Scenario>) {
        for s in table {
            let row = s.run(reps);
            self.rows.push(row);
        }
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
        floor(reps, argv)
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
