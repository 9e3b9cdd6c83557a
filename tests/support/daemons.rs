//! The scaffolding the two real-daemon tests (runtimes_daemons,
//! wiring_daemons) share: their state dir and podman config, commands run
//! with that config and a time limit, the locally built busybox image, the
//! guard that removes what a test started, and the host state (nsfs
//! mounts, run-dir entries, links, container cgroups) that must be the
//! same afterwards. Shared through `#[path]` next to `dockerd.rs` (the
//! test file declares it as `mod dockerd;`) and a `STATE` constant naming
//! the test's own directory under `CARGO_TARGET_TMPDIR`.
#![allow(dead_code)]

#[path = "names.rs"]
mod names;

use libtest_mimic::Failed;
use names::names_in;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const IMG: &str = "rnetns-busybox:latest";

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1")
}

/// The test's own directory: podman's config, dockerd's log, the image.
pub fn state_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(super::STATE);
    let _ = std::fs::create_dir_all(&d);
    d
}

/// What this host lacks: root, or one of `bins` on PATH.
pub fn missing(bins: &[&str]) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root".into());
    }
    for bin in bins {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{bin} is not installed (.ci/run installs it)"));
        }
    }
    None
}

/// Runs a command with podman's config; returns its output.
pub fn cmd(argv: &[&str]) -> Output {
    let conf = state_dir().join("containers.conf");
    super::run::cmd_env(argv, &[("CONTAINERS_CONF", conf.as_os_str())])
}

/// `cmd`'s stdout, or an error with its status and output.
pub fn ok(argv: &[&str]) -> Result<String, Failed> {
    super::run::stdout_of(&format!("{argv:?}"), cmd(argv))
}

pub fn quiet(argv: &[&str]) {
    let _ = cmd(argv);
}

/// Undoes everything a test created, in Drop, so a failed assertion
/// still cleans up: the pod, containers labelled `label`, the networks,
/// the dockerd it started, and `podman0` when no other podman container
/// uses it.
pub struct Guard {
    pub dockerd: Option<super::dockerd::Dockerd>,
    pub label: &'static str,
    pub pod: &'static str,
    pub podman_net: Option<&'static str>,
    pub docker_net: &'static str,
}

impl Drop for Guard {
    fn drop(&mut self) {
        quiet(&["podman", "pod", "rm", "-f", "-t", "0", self.pod]);
        let label = format!("label={}", self.label);
        let ids = cmd(&["podman", "ps", "-aq", "--filter", &label]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            quiet(&["podman", "rm", "-f", "-t", "0", "--depend", id]);
        }
        if let Some(net) = self.podman_net {
            quiet(&["podman", "network", "rm", "-f", net]);
        }
        let ids = cmd(&["docker", "ps", "-aq", "--filter", &label]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            quiet(&["docker", "rm", "-f", id]);
        }
        quiet(&["docker", "network", "rm", self.docker_net]);
        drop(self.dockerd.take());
        let others = cmd(&["podman", "ps", "-q"]);
        if others.status.success() && others.stdout.is_empty() {
            quiet(&["ip", "link", "del", "podman0"]);
        }
    }
}

/// podman's config for the test (`cmd` passes it): the hard nofile limit
/// of this shell, and netavark.
pub fn podman_conf() -> Result<(), Failed> {
    let n = ok(&["sh", "-c", "ulimit -Hn"])?;
    let n = n.trim();
    std::fs::write(
        state_dir().join("containers.conf"),
        format!("[containers]\ndefault_ulimits = [\"nofile={n}:{n}\", \"nproc=4096:4096\"]\n[network]\nnetwork_backend = \"netavark\"\n"),
    )?;
    Ok(())
}

/// Imports a busybox image with the `applets` linked, which sleeps, into
/// docker (as `IMG`) and podman unless they have it; returns podman's
/// name for it.
pub fn import_busybox(applets: &[&str]) -> Result<String, Failed> {
    let root = state_dir().join("rootfs");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp", "run"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let busybox = ok(&["sh", "-c", "command -v busybox"])?;
    std::fs::copy(busybox.trim(), root.join("bin/busybox"))?;
    for a in applets {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a))?;
    }
    let tar = state_dir().join("rootfs.tar");
    let (r, t) = (root.display().to_string(), tar.display().to_string());
    ok(&["tar", "-C", &r, "-cf", &t, "."])?;
    let cmd_opt = "CMD [\"/bin/sleep\",\"100000\"]";
    if !cmd(&["docker", "image", "inspect", IMG]).status.success() {
        ok(&["docker", "import", "-c", cmd_opt, &t, IMG])?;
    }
    let pimg = format!("localhost/{IMG}");
    if !cmd(&["podman", "image", "exists", &pimg]).status.success() {
        ok(&["podman", "import", "-c", cmd_opt, &t, &pimg])?;
    }
    Ok(pimg)
}

/// What must be the same after the test: nsfs mounts, run-dir entries,
/// links and container cgroups (README "Tests"). Run under `flock
/// /tmp/rnetns-host.lock` so that no one else's daemon adds its own
/// meanwhile.
pub struct HostState {
    mounts: BTreeSet<String>,
    run_dir: BTreeSet<String>,
    links: BTreeSet<String>,
    cgroups: BTreeSet<String>,
}

impl HostState {
    pub fn now() -> HostState {
        HostState {
            mounts: nsfs_mounts(),
            run_dir: names_in("/run/netns"),
            links: names_in("/sys/class/net"),
            cgroups: container_cgroups(),
        }
    }

    /// What is new since `self`, waiting up to 5 s for links and cgroups
    /// (systemd and netavark remove theirs shortly after a container).
    pub fn left_behind(&self) -> String {
        let new = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> Vec<String> {
            a.difference(b).cloned().collect()
        };
        let mut now = HostState::now();
        for _ in 0..50 {
            if new(&now.links, &self.links).is_empty()
                && new(&now.cgroups, &self.cgroups).is_empty()
            {
                break;
            }
            // podman's cgroupfs manager on a v1/hybrid host leaves empty
            // `libpod_parent/ID` directories in the name=systemd and
            // unified hierarchies. Ours are the new ones; rmdir removes
            // only a cgroup that has no process and no child.
            for dir in new(&now.cgroups, &self.cgroups) {
                let _ = std::fs::remove_dir(dir);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            now = HostState::now();
        }
        // dockerd mounts its `default` sandbox lazily; a daemon this test
        // did not start may do so meanwhile (the one it starts is cleaned
        // up by its Drop), and nothing rnetns does creates it.
        let mounts: Vec<String> = new(&now.mounts, &self.mounts)
            .into_iter()
            .filter(|m| !m.ends_with(" /run/docker/netns/default"))
            .collect();
        let parts = [
            ("mounts", mounts),
            ("/run/netns entries", new(&now.run_dir, &self.run_dir)),
            ("links", new(&now.links, &self.links)),
            ("cgroups", new(&now.cgroups, &self.cgroups)),
        ];
        parts
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} {v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn nsfs_mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" - nsfs "))
        .map(|l| l.split(' ').skip(3).take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// podman makes `/run/netns` (a self-bind mount) for its rootful
/// containers and leaves it when they are gone. When the test brought it
/// and it is empty again, it goes: its bind mounts (only mounts whose mount
/// point is exactly `/run/netns`), then the directory.
pub fn undo_run_dir() {
    if !names_in("/run/netns").is_empty() {
        return;
    }
    let self_bound = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/run/netns"))
    };
    for _ in 0..8 {
        if !self_bound() {
            break;
        }
        let _ = nix::mount::umount2("/run/netns", nix::mount::MntFlags::MNT_DETACH);
    }
    if !self_bound() {
        let _ = std::fs::remove_dir("/run/netns");
    }
}

/// Cgroup directories that docker, podman or their runtimes make for a
/// container (`docker-ID.scope`, `libpod-ID.scope`, `libpod-conmon-…`,
/// `/docker/ID`, `/libpod_parent/…`), up to four levels below the root.
fn container_cgroups() -> BTreeSet<String> {
    fn walk(dir: &Path, depth: usize, out: &mut BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let parent = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.starts_with("docker-")
                || (name.starts_with("libpod") && name != "libpod_parent")
                || matches!(parent.as_deref(), Some("docker" | "libpod_parent"))
            {
                out.insert(path.to_string_lossy().into_owned());
            } else if depth > 0 {
                walk(&path, depth - 1, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(Path::new("/sys/fs/cgroup"), 4, &mut out);
    out
}
