//! What ships besides the binary's behaviour: the help texts and their
//! streams, the man page (rendered by groff), and the shell completions
//! (bash run for real on a fake run dir, zsh and fish parsed by the real
//! shells, fish also run). None of this needs root. A missing tool (groff,
//! zsh, fish) is reported as ignored ("SKIP: ...") locally and fails its test under `CI=true`.

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");

/// spec 4.11, verbatim.
const IP_USAGE: &str = "Usage:\tip netns list
\tip netns add NAME
\tip netns attach NAME PID
\tip netns set NAME NETNSID
\tip [-all] netns delete [NAME]
\tip netns identify [PID]
\tip netns pids NAME
\tip [-all] netns exec [NAME] cmd ...
\tip netns monitor
\tip netns list-id [target-nsid POSITIVE-INT] [nsid POSITIVE-INT]
NETNSID := auto | POSITIVE-INT
";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A fresh, empty directory, unique to this call (tests run in parallel).
fn scratch(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rnetns-ship-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn double_dash_help_goes_to_stdout_with_status_0() {
    for opt in ["--help", "-help", "-he", "--he"] {
        let out = run(Command::new(RNETNS).arg(opt));
        assert_eq!(out.status.code(), Some(0), "{opt}");
        assert!(out.stderr.is_empty(), "{opt}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with("Usage:\trnetns list\n"), "{opt}");
        for word in [
            "--all-runtimes",
            "doctor",
            "docker:",
            "podman:",
            "pid:",
            "-json",
        ] {
            assert!(stdout.contains(word), "{opt}: no {word}");
        }
    }
}

fn help_subcommand_keeps_iproute2_stream_and_status() {
    let long = run(Command::new(RNETNS).arg("--help"));
    let out = run(Command::new(RNETNS).arg("help"));
    assert_eq!(out.status.code(), Some(255));
    assert!(out.stdout.is_empty());
    assert_eq!(text(&out.stderr), text(&long.stdout));
}

fn ip_netns_help_is_byte_identical_to_iproute2() {
    let dir = scratch("ipmode");
    let ip = dir.join("ip");
    std::os::unix::fs::symlink(RNETNS, &ip).expect("symlink");
    for sub in ["help", "h", "hel"] {
        let out = run(Command::new(&ip).args(["netns", sub]));
        assert_eq!(out.status.code(), Some(255), "{sub}");
        assert!(out.stdout.is_empty(), "{sub}");
        assert_eq!(text(&out.stderr), IP_USAGE, "{sub}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn version_names_rnetns_and_iproute2() {
    let out = run(Command::new(RNETNS).arg("-V"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!(
            "rnetns utility, rnetns-{}, compatible with iproute2-6.1.0\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

fn man_page_renders_without_warnings() {
    let out = run(Command::new("groff")
        .args(["-ww", "-man", "-Tutf8", "-P-cbou"])
        .arg(repo("man/rnetns.8")));
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "groff: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("DIFFERENCES FROM IPROUTE2"));
}

/// Runs bash with the completion file sourced, a fake run dir holding
/// `names`, and `script` after that; returns its stdout.
fn bash(names: &[&str], script: &str) -> String {
    let dir = scratch("bash");
    let rundir = dir.join("netns");
    std::fs::create_dir(&rundir).expect("run dir");
    for n in names {
        std::fs::write(rundir.join(n), b"").expect("entry");
    }
    let prelude = r#"
source "$1" || exit 99
complete_words() {
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    "$FN"
    if [[ ${#COMPREPLY[@]} -gt 0 ]]; then printf '%s\n' "${COMPREPLY[@]}"; fi
}
"#;
    let out = run(Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(format!("{prelude}\n{script}"))
        .arg("bash")
        .arg(repo("completions/rnetns.bash"))
        .env("RNETNS_RUN_DIR", &rundir));
    let _ = std::fs::remove_dir_all(dir);
    assert!(out.status.success(), "bash: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "bash: {}", text(&out.stderr));
    text(&out.stdout)
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn bash_completes_namespace_names_from_the_run_dir() {
    let names = ["blue", "red", "green"];
    for words in [
        "rnetns delete ''",
        "rnetns d ''",
        "rnetns del ''",
        "rnetns pids ''",
        "rnetns -j set ''",
        "rnetns exec ''",
        "rnetns -n ''",
        "rnetns --netns ''",
    ] {
        let got = bash(&names, &format!("FN=_rnetns complete_words {words}"));
        for n in names {
            assert!(lines(&got).contains(&n), "{words}: {got:?}");
        }
    }
    let got = bash(&names, "FN=_rnetns complete_words rnetns delete b");
    assert_eq!(lines(&got), ["blue"]);
    // ip mode: `ip netns` (any of its prefixes net, netn) completes the same.
    let got = bash(&names, "FN=_rnetns_ip complete_words ip -j net exec r");
    assert_eq!(lines(&got), ["red"]);
}

fn bash_completes_subcommands_options_and_refs() {
    let got = bash(&[], "FN=_rnetns complete_words rnetns ''");
    for sub in ["list", "add", "attach", "exec", "list-id", "doctor"] {
        assert!(lines(&got).contains(&sub), "{got:?}");
    }
    let got = bash(&[], "FN=_rnetns complete_words rnetns -j");
    assert_eq!(lines(&got), ["-json"]);
    let got = bash(&[], "FN=_rnetns complete_words rnetns s ''");
    assert_eq!(lines(&got), ["--all-runtimes"], "s is list");
    let got = bash(&[], "FN=_rnetns complete_words rnetns doctor ''");
    assert_eq!(lines(&got), ["--fix"]);
    // rnetns extensions are whole words: `doc` is an unknown command.
    let got = bash(&[], "FN=_rnetns complete_words rnetns doc ''");
    assert!(got.is_empty(), "{got:?}");
    let got = bash(&["blue"], "FN=_rnetns complete_words rnetns exec ''");
    for w in [
        "blue", "docker:", "podman:", "lxc:", "machine:", "k8s:", "pid:",
    ] {
        assert!(lines(&got).contains(&w), "{got:?}");
    }
    // attach's first word is a new name; its second is a PID or a ref.
    let got = bash(&["blue"], "FN=_rnetns complete_words rnetns attach ''");
    assert!(got.is_empty(), "{got:?}");
    let got = bash(&[], "FN=_rnetns complete_words rnetns attach x 1");
    assert!(lines(&got).contains(&"1"), "pid 1: {got:?}");
    let got = bash(&[], "FN=_rnetns complete_words rnetns identify 1");
    assert!(lines(&got).contains(&"1"), "pid 1: {got:?}");
    // `exec NAME` is followed by a command.
    let got = bash(&["blue"], "FN=_rnetns complete_words rnetns exec blue bas");
    assert!(lines(&got).contains(&"bash"), "{got:?}");
    let got = bash(&["blue"], "FN=_rnetns complete_words rnetns -all exec bas");
    assert!(lines(&got).contains(&"bash"), "{got:?}");
}

fn bash_leaves_other_ip_objects_to_bash_completion() {
    let script = "_ip() { COMPREPLY=(from-ip); }\nFN=_rnetns_ip complete_words ip link ''\nFN=_rnetns_ip complete_words ip ''";
    assert_eq!(lines(&bash(&["blue"], script)), ["from-ip", "from-ip"]);
}

fn zsh_parses_its_completion() {
    let out = run(Command::new("zsh")
        .arg("-n")
        .arg(repo("completions/_rnetns")));
    assert!(out.status.success(), "zsh -n: {}", text(&out.stderr));
}

fn fish_parses_and_runs_its_completion() {
    let file = repo("completions/rnetns.fish");
    let out = run(Command::new("fish").arg("--no-execute").arg(&file));
    assert!(out.status.success(), "fish: {}", text(&out.stderr));
    let dir = scratch("fish");
    std::fs::write(dir.join("blue"), b"").expect("entry");
    let out = run(Command::new("fish")
        .arg("--no-config")
        .arg("-c")
        .arg("source $argv[1]; complete -C'rnetns del '; complete -C'rnetns s '")
        .arg(&file)
        .env("RNETNS_RUN_DIR", &dir));
    let _ = std::fs::remove_dir_all(dir);
    assert!(out.status.success(), "fish: {}", text(&out.stderr));
    let got = text(&out.stdout);
    assert!(lines(&got).contains(&"blue"), "{got:?}");
    assert!(lines(&got).contains(&"--all-runtimes"), "{got:?}");
}

/// The binary is built static-pie for the host tuple named explicitly
/// (.cargo/config.toml), so cargo puts it in `target/<tuple>/<profile>/`,
/// and the Makefile's install, shim and deb targets read it from there.
/// (build.rs writes only inside OUT_DIR; `make build` links the usual
/// `target/release/rnetns`.)
fn makefile_reads_the_binary_where_cargo_puts_it() {
    let exe = Path::new(RNETNS);
    let tuple_dir = exe.parent().and_then(Path::parent).expect("tuple dir");
    let host = text(&run(Command::new("rustc").args(["--print", "host-tuple"])).stdout);
    assert_eq!(
        tuple_dir.file_name().and_then(|n| n.to_str()),
        Some(host.trim()),
        "{} is not under target/<host tuple>/",
        exe.display()
    );
    let make = std::fs::read_to_string(repo("Makefile")).expect("Makefile");
    assert!(
        make.lines()
            .any(|l| l.trim() == "BIN = target/$(TUPLE)/release/rnetns"),
        "Makefile's BIN is not target/$(TUPLE)/release/rnetns"
    );
    let build = std::fs::read_to_string(repo("build.rs")).expect("build.rs");
    assert!(
        !build.contains("symlink("),
        "build.rs writes a link outside OUT_DIR"
    );
}

/// A test whose tool (groff, zsh, fish) is missing is reported as ignored
/// with the reason, and fails under `CI=true` (tests/support/skip.rs).
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let plain: [(&str, fn()); 8] = named![
        double_dash_help_goes_to_stdout_with_status_0,
        help_subcommand_keeps_iproute2_stream_and_status,
        ip_netns_help_is_byte_identical_to_iproute2,
        version_names_rnetns_and_iproute2,
        bash_completes_namespace_names_from_the_run_dir,
        bash_completes_subcommands_options_and_refs,
        bash_leaves_other_ip_objects_to_bash_completion,
        makefile_reads_the_binary_where_cargo_puts_it,
    ];
    let mut trials: Vec<_> = plain
        .iter()
        .map(|&(name, f)| {
            libtest_mimic::Trial::test(name, move || {
                f();
                Ok(())
            })
        })
        .collect();
    trials.push(skip::needs_tool(
        "man_page_renders_without_warnings",
        "groff",
        man_page_renders_without_warnings,
    ));
    trials.push(skip::needs_tool(
        "zsh_parses_its_completion",
        "zsh",
        zsh_parses_its_completion,
    ));
    trials.push(skip::needs_tool(
        "fish_parses_and_runs_its_completion",
        "fish",
        fish_parses_and_runs_its_completion,
    ));
    libtest_mimic::run(&args, trials).exit();
}
