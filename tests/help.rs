//! Help for each subcommand (README "Tests"): as rnetns, `help WORD`,
//! `SUBCOMMAND --help` and `SUBCOMMAND -h` print that subcommand's usage,
//! options, extensions and one example on stdout with exit 0, and the
//! completions offer these forms. Only commands that change nothing even
//! if the help were missing run here, on the host (read-only, bounded by
//! `timeout`); `add --help` and the ip-mode bytes are compat cases
//! (divergence-r5-subcommand-help, help-flags-as-ip), in sandboxes.

use std::process::{Command, Output, Stdio};

const RNETNS: &str = env!("CARGO_BIN_EXE_rnetns");

fn rnetns(args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("10")
        .arg(RNETNS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rnetns")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_topic(args: &[&str], first_line: &str, example: &str) {
    let o = rnetns(args);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    assert!(o.stderr.is_empty(), "{args:?}: {}", text(&o.stderr));
    assert_eq!(out.lines().next(), Some(first_line), "{args:?}:\n{out}");
    for part in [
        "\nUsage:\n",
        "\nOptions:\n",
        "\nExtensions (not in iproute2 6.1):\n",
    ] {
        assert!(out.contains(part), "{args:?} lacks {part:?}:\n{out}");
    }
    assert!(
        out.ends_with(&format!("\nExample:\n  {example}\n")),
        "{args:?}:\n{out}"
    );
}

#[test]
fn doctor_help_in_every_form_prints_usage_options_and_example() {
    // README "Tests": `rnetns doctor --help` exited 255 with "unknown argument".
    let first = "rnetns doctor: diagnose run-dir mounts; --fix repairs them";
    for args in [
        &["help", "doctor"][..],
        &["doctor", "--help"],
        &["doctor", "-h"],
    ] {
        assert_topic(args, first, "rnetns doctor --fix");
    }
    let out = text(&rnetns(&["help", "doctor"]).stdout);
    assert!(out.contains("  --fix "), "{out}");
}

#[test]
fn monitor_help_returns_instead_of_monitoring() {
    // README "Tests": `rnetns monitor --help` started monitoring and never returned.
    let first = "rnetns monitor: print namespace additions and deletions as they happen";
    for args in [
        &["monitor", "--help"][..],
        &["monitor", "-h"],
        &["help", "monitor"],
        &["help", "m"],
    ] {
        assert_topic(args, first, "rnetns monitor");
    }
}

#[test]
fn identify_help_is_help_not_a_pid_error() {
    // README "Tests": "Specified string '--help' is not a pid".
    let first = "rnetns identify: print the names of a process's network namespace";
    assert_topic(
        &["identify", "--help"],
        first,
        "rnetns identify --iface veth3de0e04",
    );
    assert_topic(&["i", "-h"], first, "rnetns identify --iface veth3de0e04");
}

#[test]
fn every_runtime_reference_form_has_help() {
    for (word, first) in [
        ("docker:", "docker:NAME-or-ID-prefix"),
        ("docker:web", "docker:NAME-or-ID-prefix"),
        ("podman", "podman:[USER/]NAME-or-ID-prefix"),
        ("pid:1", "pid:PID"),
        ("k8s:ns/web", "k8s:NAMESPACE/POD[/CONTAINER]"),
        ("lxc:", "lxc:NAME"),
        ("machine:x", "machine:NAME"),
    ] {
        let o = rnetns(&["help", word]);
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{word}");
        assert!(
            out.starts_with(&format!("{first}: a runtime reference")),
            "{word}:\n{out}"
        );
        assert!(out.contains("\nExample:\n  rnetns "), "{word}:\n{out}");
    }
}

#[test]
fn bare_help_and_unknown_words_keep_the_full_help_on_stderr() {
    for args in [&["help"][..], &["help", "nope"], &["help", "doc"]] {
        let o = rnetns(args);
        assert_eq!(o.status.code(), Some(255), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(
            text(&o.stderr).starts_with("Usage:\trnetns list\n"),
            "{args:?}"
        );
    }
}

/// Completes `words` (the last one being completed) with the bash
/// completion and returns the candidates.
fn bash_complete(func: &str, words: &str) -> Vec<String> {
    let script = format!(
        r#"source "$1" || exit 99
COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=()
{func}
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    let o = Command::new("bash")
        .args(["--norc", "-c", &script, "bash"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/completions/rnetns.bash"
        ))
        .env("RNETNS_RUN_DIR", "/nonexistent")
        .output()
        .expect("bash");
    assert!(o.status.success(), "bash: {}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_offers_the_help_forms_as_rnetns_only() {
    let got = bash_complete("_rnetns", "rnetns doctor -");
    assert!(
        got.contains(&"--help".into()) && got.contains(&"-h".into()),
        "{got:?}"
    );
    let got = bash_complete("_rnetns", "rnetns help ''");
    for w in ["doctor", "monitor", "add", "docker:", "podman:", "pid:"] {
        assert!(got.contains(&w.to_string()), "{w}: {got:?}");
    }
    let got = bash_complete("_rnetns", "rnetns help do");
    assert_eq!(got, ["doctor", "docker:"]);
    // As ip, `ip netns add --help` adds a namespace: nothing offered.
    let got = bash_complete("_rnetns_ip", "ip netns add -");
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn version_exits_0_when_stdout_is_full_or_closed() {
    // ip -V >/dev/full and ip -V >&- exit 0; rnetns -V aborted (134) on
    // the full one, from println!'s panic.
    for redirect in [">/dev/full", ">&-"] {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("\"$0\" -V {redirect}; echo \"rc=$?\" >&2"))
            .arg(env!("CARGO_BIN_EXE_rnetns"))
            .output()
            .expect("sh");
        assert_eq!(text(&o.stderr), "rc=0\n", "rnetns -V {redirect}");
    }
}
