//! Throwaway sandboxes for privileged tests: new mount, net and pid
//! namespaces with private propagation, a tmpfs over /run and /tmp and an
//! overlay over /etc, so nothing a test does reaches the host (spec appendix A).
//!
//! The sandbox checks that it took effect (its own netns, our tmpfs on /run)
//! before it runs anything. Without the privilege to build it, a test fails
//! under `CI=true` and is reported as ignored ("SKIP: needs root ...")
//! otherwise, through tests/support/skip.rs. Files still on cargo's
//! standard harness get a SKIP line on stderr from `run_checked` instead.
//! The long scripts the tests run are in tests/scripts/.
#![allow(dead_code)]

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The real iproute2 `ip`, the reference.
pub fn real_ip() -> PathBuf {
    for p in ["/usr/sbin/ip", "/sbin/ip", "/bin/ip", "/usr/bin/ip"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("iproute2's ip is not installed (apt-get install iproute2)");
}

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1")
}

/// Why sandboxes cannot be built here, if they cannot.
pub fn unavailable() -> Option<String> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let dir = scratch_root().join("probe");
            let _ = std::fs::create_dir_all(&dir);
            match run_script(&dir, "true") {
                Ok(o) if o.status.success() => None,
                Ok(o) => Some(format!(
                    "sandbox probe failed (exit {:?}): {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Some(format!("cannot run unshare: {e}")),
            }
        })
        .clone()
}

/// Runs `body` in a fresh sandbox with a fresh (emptied) scratch directory
/// `name` and returns its stdout, failing the test (with stdout and
/// stderr) if the script fails. The one way tests run a sandboxed script
/// and check it. `None` (after a SKIP line on stderr) where no sandbox
/// can be built, which a test inside `skip::privileged` never sees (it
/// expects `skip::IN_PRIVILEGED`); under CI that fails.
pub fn run_checked(name: &str, body: &str) -> Option<String> {
    if let Some(why) = unavailable() {
        if in_ci() {
            panic!("sandbox unavailable under CI: {why}");
        }
        // cargo's standard harness cannot mark a test ignored at run time:
        // say it on the real stderr, which the harness does not capture.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: {}: needs root or user namespaces ({why})",
            std::thread::current().name().unwrap_or("?")
        );
        return None;
    }
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let out = run_script(&dir, body).expect("run sandbox");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "script failed: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(text)
}

/// Where per-run scratch directories live: under cargo's target tmpdir, not
/// /tmp, because the sandbox mounts its own tmpfs over /tmp.
pub fn scratch_root() -> PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("rnetns-sandbox")
}

fn host_netns_ino() -> u64 {
    std::fs::metadata("/proc/self/ns/net")
        .map(|m| m.ino())
        .unwrap_or(0)
}

/// The cargo target directory (binaries, scratch): it must stay reachable
/// inside the sandbox even when the checkout lives under /tmp.
fn target_dir() -> PathBuf {
    scratch_root()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The preamble that builds the sandbox inside `unshare` and proves it
/// took effect. `$SBX` is the run's scratch directory (on the host disk,
/// visible inside); `/run`, `/tmp` and `/etc` are private copies. When the
/// target dir is under /tmp (a checkout in /tmp), it is bound back into
/// the private /tmp so binaries and scratch stay reachable.
fn preamble(scratch: &Path) -> String {
    let keep = target_dir();
    let rebind = match keep.strip_prefix("/tmp") {
        Ok(rel) if !rel.as_os_str().is_empty() => format!(
            "mkdir -p {k} && mount --rbind /run/.sbx-host-tmp/{r} {k} || exit 93\n",
            k = shell_quote(&keep.to_string_lossy()),
            r = shell_quote(&rel.to_string_lossy()),
        ),
        _ => String::new(),
    };
    format!(
        r#"set -u
export SBX={scratch}
# Detach the host's mounts at and under /run in this private mount
# namespace (the host keeps them): a tmpfs over them would only hide them,
# and /proc/self/mountinfo would still list the host's /run/netns/NAME
# mounts to the tests and to rnetns (README "Tests"). The shortest mount point
# first: detaching it takes the mounts below it, and uncovers any mount
# hidden under it (a deeper one may not be reachable by its path until
# then). Octal escapes (\040) are undone by printf %b.
for _ in $(seq 1000); do
  m=$(awk '($5 == "/run" || index($5, "/run/") == 1) && (m == "" || length($5) < length(m)) {{ m = $5 }} END {{ print m }}' /proc/self/mountinfo)
  [ -n "$m" ] || break
  umount -l "$(printf '%b' "${{m//\\/\\0}}")" || {{ echo "sandbox: cannot detach the host's $m" >&2; exit 91; }}
done
mount -t tmpfs sbx-run /run || exit 99
mkdir -p /run/.sbx-host-tmp && mount --rbind /tmp /run/.sbx-host-tmp || exit 99
mkdir -p "$SBX/ovl" && mount -t tmpfs sbx-ovl "$SBX/ovl" || exit 99
mkdir -p "$SBX/ovl/up" "$SBX/ovl/work"
mount -t overlay sbx-etc -o lowerdir=/etc,upperdir="$SBX/ovl/up",workdir="$SBX/ovl/work" /etc || exit 98
mount -t tmpfs sbx-tmp /tmp || exit 99
{rebind}umount -l /run/.sbx-host-tmp && rmdir /run/.sbx-host-tmp || exit 99
[ -d "$SBX" ] || {{ echo "sandbox: scratch dir $SBX not reachable" >&2; exit 92; }}
[ "$(stat -L -c %i /proc/self/ns/net)" != "{host}" ] || {{ echo "sandbox: still in the host netns" >&2; exit 97; }}
[ "$(findmnt -n -o SOURCE /run)" = sbx-run ] || {{ echo "sandbox: /run is not the sandbox tmpfs" >&2; exit 96; }}
[ ! -e /run/netns ] && [ ! -e /run/.sbx-host-tmp ] || {{ echo "sandbox: /run is not fresh" >&2; exit 95; }}
[ "$(awk '$5 == "/run" || index($5, "/run/") == 1' /proc/self/mountinfo | wc -l)" = 1 ] || {{ echo "sandbox: a mount from the host is left under /run" >&2; exit 90; }}
{ip} link set lo up || exit 94
cd /tmp
"#,
        scratch = shell_quote(&scratch.to_string_lossy()),
        host = host_netns_ino(),
        ip = real_ip().display(),
    )
}

/// Runs `body` (bash) in a fresh sandbox and returns its output.
pub fn run_script(scratch: &Path, body: &str) -> std::io::Result<std::process::Output> {
    let script = format!("{}{}\n", preamble(scratch), body);
    // Bounded: a hung command fails its test instead of hanging the suite.
    Command::new("timeout")
        .args([
            "-k",
            "5",
            "300",
            "unshare",
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
            "bash",
            "-c",
            &script,
            "sbox",
        ])
        .stdin(Stdio::null())
        .output()
}

/// What a scenario script prints for its test to judge: `FACT KEY VALUE`
/// lines (a bare `FACT KEY` has the value ""), and under each `=== NAME`
/// line the text up to the next one (present, maybe empty, once the
/// line is).
pub struct Report {
    pub facts: HashMap<String, String>,
    pub sections: HashMap<String, String>,
}

impl Report {
    pub fn parse(text: &str) -> Report {
        let mut facts = HashMap::new();
        let mut sections = HashMap::new();
        let mut current: Option<String> = None;
        for line in text.split_inclusive('\n') {
            if let Some(f) = line.strip_prefix("FACT ") {
                let (k, v) = f.trim_end().split_once(' ').unwrap_or((f.trim_end(), ""));
                facts.insert(k.to_string(), v.to_string());
            } else if let Some(name) = line.strip_prefix("=== ") {
                let name = name.trim_end().to_string();
                sections.entry(name.clone()).or_insert_with(String::new);
                current = Some(name);
            } else if let Some(c) = &current {
                sections
                    .entry(c.clone())
                    .or_insert_with(String::new)
                    .push_str(line);
            }
        }
        Report { facts, sections }
    }
}

/// The one snapshot of a sandbox's run dir and mounts, the bash function
/// `state` (tests/scripts/state.sh), for a script to define first.
pub const STATE_FN: &str = include_str!("../scripts/state.sh");

/// `body` (a script under tests/scripts/, by `include_str!`) after one
/// shell assignment per `(NAME, value)`, each value quoted: how a test
/// passes its parameters to a script instead of formatting them into it.
pub fn with_vars(vars: &[(&str, &str)], body: &str) -> String {
    let mut s: String = vars
        .iter()
        .map(|(k, v)| format!("{k}={}\n", shell_quote(v)))
        .collect();
    s.push_str(body);
    s
}

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
