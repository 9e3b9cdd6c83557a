//! A dockerd for the real-daemon test and the benchmark's docker scenario:
//! an already running daemon is used and never stopped; otherwise one is
//! started (plain, then with the vfs driver, then also without iptables and
//! bridge, for machines where overlayfs or netfilter are unavailable) and,
//! on drop, stopped by its PID, with what a clean stop leaves behind
//! (`/run/docker/netns/default`, `docker0`). Shared through `#[path]`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

pub struct Dockerd {
    /// The daemon we started; `None` when it was someone else's.
    started: Option<Pid>,
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
            return Ok(Dockerd { started: None });
        }
        let file = |n: &str| std::fs::File::create(state.join(n)).map_err(|e| e.to_string());
        for opts in [
            &[][..],
            &["--storage-driver=vfs"][..],
            &["--storage-driver=vfs", "--iptables=false", "--bridge=none"][..],
        ] {
            let child = Command::new("dockerd")
                .args(opts)
                .stdin(Stdio::null())
                .stdout(file("dockerd.log")?)
                .stderr(file("dockerd.err")?)
                .spawn()
                .map_err(|e| format!("cannot start dockerd: {e}"))?;
            let mut daemon = Dockerd {
                started: Some(Pid::from_raw(child.id() as i32)),
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
        // dockerd leaves these behind after a clean stop.
        let _ = nix::mount::umount2(
            "/run/docker/netns/default",
            nix::mount::MntFlags::MNT_DETACH,
        );
        let _ = std::fs::remove_file("/run/docker/netns/default");
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
