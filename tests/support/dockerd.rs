//! A dockerd for the real-daemon test and the benchmark's docker scenario:
//! an already running daemon is used and never stopped; otherwise one is
//! started (plain, then with the vfs driver, then also without iptables and
//! bridge, for machines where overlayfs or netfilter are unavailable) and,
//! on drop, stopped by its PID, with what a clean stop leaves behind
//! (`/run/docker/netns/default`, `docker0`). [`Dockerd::start`] starts one
//! of our own with extra arguments (a `--config-file`) and the exec root
//! they give it, for runtimes_docker_root. Shared through `#[path]`; each
//! user takes a part.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

pub struct Dockerd {
    /// The daemon we started; `None` when it was someone else's.
    started: Option<Pid>,
    /// Its exec root, where it leaves `netns/default`.
    exec_root: PathBuf,
}

fn docker_info_ok() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Dockerd {
    /// A daemon that answers `docker info`; its output goes to `state`.
    pub fn ensure(state: &Path) -> Result<Dockerd, String> {
        if docker_info_ok() {
            return Ok(Dockerd {
                started: None,
                exec_root: PathBuf::from("/run/docker"),
            });
        }
        Dockerd::start(state, &[], Path::new("/run/docker"))
    }

    /// A daemon of our own, started with `extra` before each attempt's
    /// own options; `exec_root` is the exec root they give it. An error
    /// when a daemon already answers `docker info` (it is not ours).
    pub fn start(state: &Path, extra: &[&str], exec_root: &Path) -> Result<Dockerd, String> {
        if docker_info_ok() {
            return Err("a dockerd already answers `docker info`".into());
        }
        let file = |n: &str| std::fs::File::create(state.join(n)).map_err(|e| e.to_string());
        for opts in [
            &[][..],
            &["--storage-driver=vfs"][..],
            &["--storage-driver=vfs", "--iptables=false", "--bridge=none"][..],
        ] {
            let child = Command::new("dockerd")
                .args(extra)
                .args(opts)
                .stdin(Stdio::null())
                .stdout(file("dockerd.log")?)
                .stderr(file("dockerd.err")?)
                .spawn()
                .map_err(|e| format!("cannot start dockerd: {e}"))?;
            let mut daemon = Dockerd {
                started: Some(Pid::from_raw(child.id() as i32)),
                exec_root: exec_root.to_path_buf(),
            };
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(60) {
                if docker_info_ok() {
                    return Ok(daemon);
                }
                let pid = Pid::from_raw(child.id() as i32);
                if let Ok(WaitStatus::Exited(..)) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                    daemon.started = None;
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            drop(daemon); // stops it if it is still running
        }
        Err(format!(
            "dockerd did not start; see {}",
            state.join("dockerd.err").display()
        ))
    }

    /// The PID of the daemon we started (`None`: someone else's).
    pub fn pid(&self) -> Option<u32> {
        self.started.map(|p| p.as_raw() as u32)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let Some(pid) = self.started.take() else {
            return;
        };
        let _ = kill(pid, Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) && kill(pid, None).is_ok() {
            let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        // dockerd leaves these behind after a clean stop; its pidfile
        // too when it was killed (removed only when it names ours).
        let default = self.exec_root.join("netns/default");
        let _ = nix::mount::umount2(&default, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&default);
        let pidfile = std::fs::read_to_string("/run/docker.pid").unwrap_or_default();
        if pidfile.trim() == pid.to_string() {
            let _ = std::fs::remove_file("/run/docker.pid");
        }
        // Its containerd's shims make /run/containerd/s for their sockets
        // (and leave it, empty): removed only when empty.
        let _ = std::fs::remove_dir("/run/containerd/s");
        let _ = std::fs::remove_dir("/run/containerd");
        let _ = Command::new("ip")
            .args(["link", "del", "docker0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
