//! `ip netns add` latency while `rnetns doctor` (and `doctor --fix`)
//! scans the run dir: doctor scans without holding the run dir's lock, so
//! a real iproute2 `add` must not wait for its scan. Bound: 50 ms.

use super::*;

/// The bound on one `ip netns add` while doctor scans.
const LIMIT: f64 = 0.050;

impl Bench {
    /// `ip netns add` latency alone (iproute2 column) and while `rnetns
    /// doctor` scans the N entries (rnetns column): doctor scans without
    /// the run dir's flock, so the add must not wait for the scan (before,
    /// it waited 2.0 s with 3,000 entries). Bound: 50 ms.
    pub fn add_during_doctor(&mut self, reps: usize, n: usize) {
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
            limit: Some(LIMIT),
            floor: None,
            unit: Unit::Time,
            skipped: None,
        });
    }

    /// The same at `--doctor-n` entries (3,000 by default), with several
    /// adds during each scan: for `doctor` and `doctor --fix`, one row with
    /// the median and one with the slowest add, both against the bound.
    pub fn doctor_rows(&mut self) {
        let n = self.opts.doctor_n;
        let scans = if self.opts.quick { 2 } else { 5 };
        self.clear();
        let took = self.build("d", n);
        self.note(&format!(
            "doctor: built {n} namespaces in {:.1} s ({} entries)",
            took.as_secs_f64(),
            self.entries()
        ));
        let add = |k: usize| os(&[IP, "netns", "add", &format!("lat{k}")]);
        let del = |k: usize| os(&[IP, "netns", "delete", &format!("lat{k}")]);
        let mut alone = Vec::new();
        for k in 0..self.opts.reps {
            alone.push(measure(&add(k)));
            run_capture(&del(k));
        }
        let alone = stats(&alone);
        for words in [&["doctor"][..], &["doctor", "--fix"][..]] {
            let cmd = words.join(" ");
            let (mut during, mut scan_secs) = (Vec::new(), Vec::new());
            // At most SCANS scans, and no third one past a minute (a scan
            // of 3,000 entries takes tens of seconds on a loaded machine).
            let started = Instant::now();
            while scan_secs.len() < scans
                && (scan_secs.len() < 2 || started.elapsed() < Duration::from_secs(60))
            {
                let t0 = Instant::now();
                let mut doctor = Command::new(&self.rn)
                    .args(words)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| die(&format!("doctor: {e}")));
                // Adds one after another for as long as the scan runs
                // (an add still running when it ends counts).
                let mut k = 0;
                loop {
                    std::thread::sleep(Duration::from_millis(5));
                    if doctor.try_wait().ok().flatten().is_some() {
                        break;
                    }
                    during.push(measure(&add(k)));
                    run_capture(&del(k));
                    k += 1;
                }
                scan_secs.push(t0.elapsed().as_secs_f64());
                let _ = doctor.wait();
            }
            let scan = median_f(&mut scan_secs.clone());
            if during.is_empty() {
                self.note(&format!("doctor: `{cmd}` ended before any add could start"));
                continue;
            }
            let median = stats(&during);
            let max = during.iter().map(|s| s.secs).fold(0.0, f64::max);
            self.note(&format!(
                "ip netns add alone {}, during `rnetns {cmd}` at N={n} (scan {}): median {} max {} over {} adds",
                fmt_ms(alone.secs),
                fmt_ms(scan),
                fmt_ms(median.secs),
                fmt_ms(max),
                during.len()
            ));
            for (what, s) in [
                ("median", median),
                (
                    "max",
                    Stats {
                        secs: max,
                        ..median
                    },
                ),
            ] {
                self.rows.push(Row {
                    name: format!(
                        "ip netns add while rnetns {cmd} scans N={n}: {what} of {} adds in {} scans of {} (iproute2 = alone)",
                        during.len(),
                        scan_secs.len(),
                        fmt_ms(scan)
                    ),
                    base: Some(alone),
                    rn: Some(s),
                    target: None,
                    limit: Some(LIMIT),
                    floor: None,
                    unit: Unit::Time,
                    skipped: None,
                });
            }
        }
        self.clear();
    }
}
