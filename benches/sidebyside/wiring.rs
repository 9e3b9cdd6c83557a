//! README "See the wiring": `list --all-runtimes --links` and `identify
//! --iface` on W namespaces, each with a veth to a host bridge and an
//! address, against the shell pipeline a user writes today and against a
//! bare `list --all-runtimes`; then time, peak RSS and marginal cost per
//! namespace at each size of the wiring scale. (The same rows with real
//! docker containers are in `runtimes.rs`.)

use super::*;

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
    pub fn build_wired(&mut self, w: usize) {
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

    /// The wiring rows at W namespaces, then the scale table it returns.
    pub fn wiring(&mut self) -> String {
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
        let me = std::env::current_exe().unwrap_or_else(|e| die(&e.to_string()));
        let iface = format!("wv{}", w / 2);
        let table = vec![
            Scenario::new(
                format!("list --all-runtimes --links vs ip pipeline (base = pipeline), W={w}"),
                pipe.clone(),
                links.clone(),
            )
            .target(0.05),
            Scenario::new(
                format!("list --all-runtimes --links vs list --all-runtimes (base = bare), W={w}"),
                rn(&["list", "--all-runtimes"]),
                links.clone(),
            )
            .target(2.0)
            .floor(vec![me.into_os_string(), FLOOR_WIRING.into()]),
            Scenario::new(
                format!("identify --iface HOSTVETH vs ip pipeline (base = pipeline), W={w}"),
                pipe.clone(),
                rn(&["identify", "--iface", &iface]),
            )
            .target(0.1),
        ];
        self.table(reps, table);
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
            let p = (n <= 200).then(|| versus(1, &pipe, &links).0);
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
pub const FLOOR_WIRING: &str = "--floor-wiring";

pub fn floor_wiring() -> ! {
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
