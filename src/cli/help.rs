//! rnetns's command line described once, with clap, for `rnetns --help`,
//! the man page and the shell completions (their tests check against it).
//! clap never parses argv here and never prints: iproute2's grammar stays
//! the ordered prefix tables in [`super::grammar`], and a test keeps the
//! two in step. Option names follow iproute2: one dash (`-json`), and a
//! leading `--` is folded to one dash (spec 2.1), so clap's `long` holds
//! the iproute2 keyword without its dash and `short` the one-letter
//! abbreviation that iproute2's first-match rule resolves to that option.

use super::Mode;
use crate::error::usage_text;
use clap::{Arg, ArgAction, Command};

/// Subcommands that iproute2 6.1 does not have (whole words only, tried
/// after iproute2's table, so they never shadow an abbreviation).
pub const EXTENSION_SUBCOMMANDS: &[&str] = &["doctor", "graph"];

/// Heading of the global options that have no effect on netns.
const IGNORED: &str = "Accepted for ip compatibility, no effect on netns";

/// The rnetns-only part of the help text, in rnetns syntax (what follows
/// `ip netns`).
const EXTENSIONS: &str = "\
As rnetns the word netns is left out: \"rnetns add NAME\" is \"ip netns add NAME\".

rnetns extensions:
\trnetns [-j [-p]] list --all-runtimes [--links]
\trnetns [-all] exec [REF] cmd ...
\trnetns pids REF
\trnetns set REF NETNSID
\trnetns attach NAME REF
\trnetns identify [--all-runtimes] [PID]
\trnetns [-j [-p]] identify --iface IFNAME|IFINDEX [REF]
\trnetns [-j [-p]] graph [--dot]
\trnetns [-j [-p]] doctor [--fix]
\trnetns -q ...    (no note: lines on stderr; exit status unchanged)
\trnetns help SUBCOMMAND, rnetns SUBCOMMAND --help    (that subcommand's help)
REF := NAME | docker:NAME-or-ID-prefix | podman:[USER/]NAME-or-ID-prefix
       | k8s:NAMESPACE/POD[/CONTAINER] | lxc:NAME | machine:NAME | pid:PID | PATH
       (a run-dir entry with that exact name always wins; a podman NAME that
       containers of several owners share is an error unless USER/ picks one)
Other users' state (--all-runtimes, docker:, podman:) is read within 2 s in
all, at most 64 MiB and 10000 entries a directory per user tree, never through
FUSE or a FIFO; what is skipped is a note (rnetns(8), Bounded reads).
";

fn flag(keyword: &'static str, short: Option<char>, help: &'static str) -> Arg {
    let arg = Arg::new(keyword)
        .long(keyword)
        .action(ArgAction::SetTrue)
        .help(help);
    match short {
        Some(c) => arg.short(c),
        None => arg,
    }
}

fn valued(
    keyword: &'static str,
    short: Option<char>,
    value: &'static str,
    help: &'static str,
) -> Arg {
    let arg = Arg::new(keyword)
        .long(keyword)
        .value_name(value)
        .action(ArgAction::Set)
        .help(help);
    match short {
        Some(c) => arg.short(c),
        None => arg,
    }
}

fn ignored(keyword: &'static str, short: Option<char>) -> Arg {
    flag(keyword, short, "accepted and ignored").help_heading(IGNORED)
}

/// The global options, in iproute2's matching order (spec 2.1).
fn global_options() -> Vec<Arg> {
    vec![
        valued("loops", Some('l'), "COUNT", "accepted and ignored").help_heading(IGNORED),
        valued(
            "family",
            Some('f'),
            "FAMILY",
            "accepted and ignored (-f is -family, not -force)",
        )
        .value_parser(super::grammar::FAMILIES.to_vec())
        .help_heading(IGNORED),
        ignored("4", None),
        ignored("6", None),
        ignored("0", None),
        ignored("M", None),
        ignored("B", None),
        ignored("human", Some('h')).visible_alias("human-readable"),
        ignored("iec", Some('i')),
        ignored("stats", Some('s')).visible_alias("statistics"),
        ignored("details", Some('d')),
        ignored("resolve", Some('r')),
        ignored("oneline", Some('o')),
        ignored("timestamp", Some('t')),
        ignored("tshort", None),
        flag(
            "Version",
            Some('V'),
            "print the rnetns and iproute2 versions and exit",
        ),
        flag(
            "force",
            None,
            "with -batch: go on after a failed line (-fo is the shortest form)",
        ),
        valued(
            "batch",
            Some('b'),
            "FILE",
            "read commands from FILE (- is standard input), one per line",
        ),
        ignored("brief", None),
        flag(
            "json",
            Some('j'),
            "JSON output (list, list-id, identify --all-runtimes/--iface, graph, doctor)",
        ),
        flag("pretty", Some('p'), "with -json: indented JSON"),
        valued("rcvbuf", None, "SIZE", "accepted and ignored").help_heading(IGNORED),
        Arg::new("color")
            .long("color")
            .short('c')
            .value_name("WHEN")
            .num_args(0..=1)
            .require_equals(true)
            .value_parser(["always", "never", "auto"])
            .help("accepted and ignored")
            .help_heading(IGNORED),
        flag(
            "help",
            None,
            "print this help and exit (-he is the shortest form)",
        ),
        valued(
            "netns",
            Some('n'),
            "NAME",
            "run the command inside network namespace NAME",
        ),
        ignored("Numeric", Some('N')),
        flag(
            "all",
            Some('a'),
            "delete or exec: act on every named namespace",
        ),
        ignored("echo", None),
    ]
}

/// A subcommand's `--WORD` flag.
fn flag_arg(word: &'static str, help: &'static str) -> Arg {
    Arg::new(word)
        .long(word)
        .action(ArgAction::SetTrue)
        .help(help)
}

fn name(help: &'static str) -> Arg {
    Arg::new("NAME").help(help)
}

fn subcommands() -> Vec<Command> {
    let all_runtimes = || {
        Arg::new("all-runtimes")
            .long("all-runtimes")
            .action(ArgAction::SetTrue)
    };
    vec![
        Command::new("list")
            .visible_aliases(["show", "lst"])
            .about("list the named network namespaces (the default)")
            .arg(
                all_runtimes()
                    .help("every network namespace on the host, with its runtime and containers"),
            )
            .arg(flag_arg(
                "links",
                "after --all-runtimes: each namespace's interfaces, addresses, masters and \
                 where each veth/macvlan/vxlan leads (may leave NSIDs, as ip link does)",
            )),
        Command::new("list-id")
            .about("list the NSIDs the current namespace has assigned")
            .arg(Arg::new("target-nsid").value_name("target-nsid POSITIVE-INT"))
            .arg(Arg::new("nsid").value_name("nsid POSITIVE-INT")),
        Command::new("help").about("print the usage text (to standard error, exit 255)"),
        Command::new("add")
            .about("create a new named network namespace")
            .arg(name("the new name").required(true)),
        Command::new("set")
            .about("assign an NSID to a namespace")
            .arg(name("a name or runtime reference").required(true))
            .arg(
                Arg::new("NETNSID")
                    .help("auto or a positive integer")
                    .required(true),
            ),
        Command::new("delete")
            .about("delete a named namespace (every one with -all)")
            .arg(name("the name to delete")),
        Command::new("identify")
            .about("print the names of a process's network namespace")
            .arg(all_runtimes().help("also name the runtime and containers that own it"))
            .arg(
                Arg::new("iface")
                    .long("iface")
                    .value_name("IFNAME|IFINDEX")
                    .help("the namespace at the far end of this interface (of REF's namespace if given, else this one)"),
            )
            .arg(Arg::new("PID").help("a process id (default: this process)")),
        Command::new("pids")
            .about("list the processes in a namespace")
            .arg(name("a name or runtime reference").required(true)),
        Command::new("exec")
            .about("run a command in a namespace (in each one with -all)")
            .arg(name("a name or runtime reference"))
            .arg(Arg::new("cmd").num_args(1..).trailing_var_arg(true)),
        Command::new("monitor").about("print namespace additions and deletions as they happen"),
        Command::new("attach")
            .about("name the network namespace of a process")
            .arg(name("the new name").required(true))
            .arg(
                Arg::new("PID")
                    .help("a process id or runtime reference")
                    .required(true),
            ),
        Command::new("graph")
            .about("namespaces and their links: a tree, DOT, or -j JSON")
            .arg(flag_arg("dot", "Graphviz DOT (dot -Tsvg draws it)")),
        Command::new("doctor")
            .about("diagnose run-dir mounts; --fix repairs them")
            .arg(
                Arg::new("fix")
                    .long("fix")
                    .action(ArgAction::SetTrue)
                    .help("repair what is safe to repair, saying each thing done"),
            ),
    ]
}

/// What `rnetns help WORD` and `rnetns SUBCOMMAND --help` print for one
/// subcommand or reference form, besides what [`command`] describes (the
/// one-line summary and the options). One entry per subcommand and per
/// `RUNTIME:` form: adding a subcommand's help is adding its entry here
/// (a test checks that every described subcommand has one).
pub struct Topic {
    /// A subcommand keyword, or a reference form with its colon (`docker:`).
    pub name: &'static str,
    /// The syntax, in rnetns form.
    pub usage: &'static str,
    /// What rnetns adds to iproute2 6.1 here ("" for nothing).
    pub extensions: &'static str,
    pub example: &'static str,
}

const REF_NOTE: &str = "REF may be a runtime reference: docker:NAME, podman:NAME, pid:PID or an nsfs path (rnetns help docker:); a run-dir entry with that exact name wins";

/// Every subcommand's and reference form's help, in the order of
/// `rnetns help`.
pub const TOPICS: &[Topic] = &[
    Topic { name: "list", usage: "rnetns [-j [-p]] list [--all-runtimes [--links]]", extensions: "--all-runtimes: every network namespace on the host once, with its names, NSID, runtime, containers and processes; what cannot be read is a note on stderr (-q silences notes). --links: each namespace's interfaces and what their far ends are plugged into", example: "rnetns list --all-runtimes --links" },
    Topic { name: "list-id", usage: "rnetns [-j [-p]] list-id [target-nsid POSITIVE-INT] [nsid POSITIVE-INT]", extensions: "", example: "rnetns list-id" },
    Topic { name: "help", usage: "rnetns help [SUBCOMMAND | docker: | podman: | pid:]", extensions: "with a word: that subcommand's help on stdout, exit 0 (without one, the full help on stderr, exit 255, as ip netns help); SUBCOMMAND --help and -h do the same as rnetns, never as ip", example: "rnetns help doctor" },
    Topic { name: "add", usage: "rnetns add NAME", extensions: "", example: "rnetns add blue" },
    Topic { name: "set", usage: "rnetns set REF NETNSID\nNETNSID := auto | POSITIVE-INT", extensions: REF_NOTE, example: "rnetns set docker:web auto" },
    Topic { name: "delete", usage: "rnetns [-all] delete [NAME]", extensions: "", example: "rnetns delete blue" },
    Topic { name: "identify", usage: "rnetns [-j [-p]] identify [--all-runtimes] [PID]\nrnetns [-j [-p]] identify --iface IFNAME|IFINDEX [REF]", extensions: "--all-runtimes: also the runtime, containers and names of every kind that own the namespace. --iface: the namespace (and container) at the far end of a host interface, or of REF's", example: "rnetns identify --iface veth3de0e04" },
    Topic { name: "pids", usage: "rnetns pids REF", extensions: REF_NOTE, example: "rnetns pids podman:db" },
    Topic { name: "exec", usage: "rnetns [-all] exec [REF] cmd ...", extensions: REF_NOTE, example: "rnetns exec docker:web ip -br addr" },
    Topic { name: "monitor", usage: "rnetns monitor", extensions: "each line is flushed as it is printed (D4 in compat/ledger.tsv); stop it with Ctrl-C", example: "rnetns monitor" },
    Topic { name: "attach", usage: "rnetns attach NAME REF", extensions: "REF may be a PID or a runtime reference (rnetns help docker:): the namespace gets a persistent name", example: "rnetns attach web docker:web" },
    Topic { name: "doctor", usage: "rnetns [-j [-p]] doctor [--fix]", extensions: "not in iproute2: explains broken run-dir mounts, stale entries and daemons with private mounts; exit 0 when all is well, 1 when something needs attention; a problem counts only if two more scans 25 ms apart see it too; other mount namespaces are read within 2 s, past that other-namespaces-skipped (info)", example: "rnetns doctor --fix" },
    Topic { name: "docker:", usage: "docker:NAME-or-ID-prefix  (where exec, pids, set, attach or identify take a name)", extensions: "the network namespace of a running docker container, read from dockerd's data-root and exec-root (its arguments or /etc/docker/daemon.json; by default /var/lib/docker and /run/docker/netns; no daemon API)", example: "rnetns exec docker:web ip -br addr" },
    Topic { name: "podman:", usage: "podman:[USER/]NAME-or-ID-prefix  (where exec, pids, set, attach or identify take a name)", extensions: "the network namespace of a running podman container (rootful, and rootless under /run/user), read from podman's storage; failing a container, a pod of that name (its members share one namespace)", example: "rnetns pids podman:db" },
    Topic { name: "graph", usage: "rnetns [-j [-p]] graph [--dot]", extensions: "not in iproute2: the host's uplinks, bridges, veth pairs and every namespace's interfaces as a tree; --dot for Graphviz (dot -Tsvg), -j for nodes and edges", example: "rnetns graph --dot | dot -Tsvg > net.svg" },
    Topic { name: "k8s:", usage: "k8s:NAMESPACE/POD[/CONTAINER]  (as rnetns, where exec, pids, set, attach or identify take a name)", extensions: "the network namespace of a Kubernetes pod, from containerd's and CRI-O's on-disk state (every container of a pod shares it)", example: "rnetns exec k8s:kube-system/coredns ip -br addr" },
    Topic { name: "lxc:", usage: "lxc:NAME  (where exec, pids, set, attach or identify take a name)", extensions: "the network namespace of a running LXC container, found by its lxc.payload.NAME cgroup", example: "rnetns exec lxc:web ip -br addr" },
    Topic { name: "machine:", usage: "machine:NAME  (where exec, pids, set, attach or identify take a name)", extensions: "the network namespace of a running systemd-nspawn machine", example: "rnetns exec machine:build ip -br addr" },
    Topic { name: "pid:", usage: "pid:PID  (where exec, pids, set, attach or identify take a name)", extensions: "the network namespace of process PID", example: "rnetns exec pid:4321 ss -tln" },
];

/// The topic `word` asks for: a reference form by its runtime (`docker`,
/// `docker:`, `docker:web`), a subcommand by iproute2's prefix rule, an
/// extension subcommand by its whole word.
pub fn topic(word: &[u8]) -> Option<&'static Topic> {
    let runtime = word.split(|&b| b == b':').next().unwrap_or(word);
    if let Some(t) = TOPICS
        .iter()
        .find(|t| t.name.strip_suffix(':').map(str::as_bytes) == Some(runtime))
    {
        return Some(t);
    }
    let name = match super::grammar::lookup_subcommand(word) {
        Some(_) => super::grammar::SUBCOMMANDS
            .iter()
            .find(|(k, _)| super::grammar::matches(word, k))
            .map(|(k, _)| *k)?,
        None => std::str::from_utf8(word).ok()?,
    };
    let name = match name {
        "show" | "lst" => "list",
        n => n,
    };
    TOPICS.iter().find(|t| {
        t.name == name && (!EXTENSION_SUBCOMMANDS.contains(&name) || word == name.as_bytes())
    })
}

/// One topic's help: summary, usage, options, extensions, one example.
pub fn topic_text(t: &Topic) -> String {
    let cmd = command();
    let sub = cmd.get_subcommands().find(|s| s.get_name() == t.name);
    let mut out = match sub.and_then(|s| s.get_about()) {
        Some(about) => format!("rnetns {}: {about}\n\nUsage:\n", t.name),
        None => format!(
            "{}: a runtime reference, accepted where a namespace name is\n\nUsage:\n",
            t.usage.split_whitespace().next().unwrap_or(t.name)
        ),
    };
    for line in t.usage.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nOptions:\n");
    let opts: Vec<&Arg> = sub
        .map(|s| {
            s.get_arguments()
                .filter(|a| a.get_long().is_some())
                .collect()
        })
        .unwrap_or_default();
    for a in &opts {
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "  --{:<16}{help}\n",
            a.get_long().unwrap_or_default()
        ));
    }
    if opts.is_empty() {
        out.push_str("  none (global options: rnetns --help)\n");
    }
    out.push_str("\nExtensions (not in iproute2 6.1):\n");
    match t.extensions {
        "" => out.push_str("  none: as ip netns\n"),
        e => {
            for line in wrap_words(e, 74) {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out.push_str(&format!("\nExample:\n  {}\n", t.example));
    out
}

/// `rnetns help WORD` and `rnetns SUBCOMMAND --help` (rnetns mode only):
/// that topic's help on stdout, exit 0.
pub fn print_topic(t: &Topic) -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out
        .write_all(topic_text(t).as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// rnetns's command line (global options, then a subcommand).
pub fn command() -> Command {
    Command::new("rnetns")
        .version(env!("CARGO_PKG_VERSION"))
        .about("a drop-in replacement for iproute2's ip netns")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .args(global_options())
        .subcommands(subcommands())
}

/// `-x, -xyz VALUE` as iproute2 spells it.
fn option_label(arg: &Arg) -> String {
    let mut names: Vec<String> = arg
        .get_short()
        .map(|c| format!("-{c}"))
        .into_iter()
        .collect();
    names.extend(
        arg.get_long_and_visible_aliases()
            .unwrap_or_default()
            .into_iter()
            .map(|l| format!("-{l}")),
    );
    let mut label = names.join(", ");
    if let Some(v) = arg.get_value_names().and_then(|v| v.first()) {
        if arg.is_require_equals_set() {
            label.push_str(&format!("[={v}]"));
        } else {
            label.push_str(&format!(" {v}"));
        }
    }
    label
}

/// The help text in rnetns mode: iproute2's usage, then the extensions,
/// subcommands and options taken from [`command`].
pub fn help_text() -> String {
    let cmd = command();
    let mut out = usage_text();
    out.push('\n');
    out.push_str(EXTENSIONS);
    out.push_str("\nSubcommands (any prefix, first match wins: s is list, a is add):\n");
    for sub in cmd.get_subcommands() {
        let names: Vec<&str> = std::iter::once(sub.get_name())
            .chain(sub.get_visible_aliases())
            .collect();
        let mut about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        if EXTENSION_SUBCOMMANDS.contains(&sub.get_name()) {
            about.push_str(" [whole word]");
        }
        out.push_str(&format!("  {:<18}{about}\n", names.join(", ")));
    }
    out.push_str("\nOptions (one dash; --x is the same as -x):\n");
    let mut ignored = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.get_help_heading() == Some(IGNORED) {
            ignored.push(option_label(arg));
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        out.push_str(&format!("  {:<18}{help}\n", option_label(arg)));
    }
    out.push_str(&format!("{IGNORED}:\n"));
    for line in wrap(&ignored.join("  "), 76) {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nSee rnetns(8) and ip-netns(8).\n");
    out
}

/// Splits at spaces into lines of at most `width` characters (a longer
/// word stays whole).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(l) if l.len() + 1 + word.len() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Splits at double spaces into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for item in text.split("  ") {
        match lines.last_mut() {
            Some(l) if l.len() + 2 + item.len() <= width => {
                l.push_str("  ");
                l.push_str(item);
            }
            _ => lines.push(item.to_string()),
        }
    }
    lines
}

/// `rnetns -V`: the version line on stdout, exit 0 even when it cannot be
/// written (a closed or full stdout), as `ip -V` does.
pub fn print_version() -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let line = format!(
        "rnetns utility, rnetns-{}, compatible with iproute2-{IPROUTE2_VERSION}\n",
        env!("CARGO_PKG_VERSION")
    );
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    0
}

/// The iproute2 release whose `ip netns` rnetns reproduces.
const IPROUTE2_VERSION: &str = "6.1.0";

/// `rnetns -help` / `--help`: the help text on stdout, exit 0 (the GNU
/// convention; `ip -help` is handed to the real ip in ip mode).
pub fn print_help() -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out
        .write_all(help_text().as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The `help` subcommand's text: iproute2's usage in ip mode (spec 4.11,
/// byte for byte), the full help text as rnetns. Either way it goes to
/// stderr with exit 255, as `ip netns help` does.
pub fn netns_help_text(mode: Mode) -> String {
    match mode {
        Mode::Ip => usage_text(),
        Mode::Rnetns => help_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::grammar::{self, How, OPTIONS, SUBCOMMANDS};
    use super::*;
    use std::collections::BTreeSet;

    /// The table entry iproute2's first-match rule picks for `word`.
    fn entry(word: &str) -> Option<usize> {
        let name = word.split('=').next().unwrap_or(word).as_bytes();
        OPTIONS.iter().position(|(how, _)| match how {
            How::Prefix(k) => grammar::matches(name, k),
            How::Exact(k) => name == k.as_bytes(),
        })
    }

    fn keyword(how: &How) -> &'static str {
        match how {
            How::Prefix(k) | How::Exact(k) => k,
        }
    }

    fn clap_option_keywords() -> BTreeSet<String> {
        command()
            .get_arguments()
            .flat_map(|a| a.get_long_and_visible_aliases().unwrap_or_default())
            .map(|l| format!("-{l}"))
            .collect()
    }

    #[test]
    fn clap_description_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_grammar_option_is_described_and_vice_versa() {
        let grammar: BTreeSet<String> = OPTIONS.iter().map(|(h, _)| keyword(h).into()).collect();
        assert_eq!(clap_option_keywords(), grammar);
    }

    #[test]
    fn described_option_names_resolve_to_their_own_entry() {
        for arg in command().get_arguments() {
            let long = arg.get_long().expect("every option has its keyword");
            let own = entry(&format!("-{long}"));
            assert!(own.is_some(), "-{long}");
            for alias in arg.get_visible_aliases().unwrap_or_default() {
                assert!(entry(&format!("-{alias}")).is_some(), "-{alias}");
            }
            if let Some(c) = arg.get_short() {
                assert_eq!(entry(&format!("-{c}")), own, "-{c} is not -{long}");
            }
        }
    }

    #[test]
    fn every_grammar_subcommand_is_described_and_vice_versa() {
        let cmd = command();
        let described: BTreeSet<&str> = cmd
            .get_subcommands()
            .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_visible_aliases()))
            .collect();
        let grammar: BTreeSet<&str> = SUBCOMMANDS.iter().map(|(k, _)| *k).collect();
        for k in &grammar {
            assert!(
                described.contains(k),
                "{k} missing from the clap description"
            );
        }
        for k in &described {
            assert!(
                grammar.contains(k) || EXTENSION_SUBCOMMANDS.contains(k),
                "{k} is neither in grammar::SUBCOMMANDS nor an extension"
            );
        }
    }

    #[test]
    fn help_starts_with_the_iproute2_usage_and_names_every_extension() {
        let text = help_text();
        assert!(text.starts_with(&usage_text()));
        for word in [
            "--all-runtimes",
            "--fix",
            "doctor",
            "docker:",
            "podman:",
            "pid:",
        ] {
            assert!(text.contains(word), "{word}");
        }
        for k in clap_option_keywords() {
            assert!(text.contains(&k), "{k}");
        }
    }

    #[test]
    fn every_subcommand_and_reference_form_has_a_help_topic() {
        for sub in command().get_subcommands() {
            let t = topic(sub.get_name().as_bytes());
            assert_eq!(t.map(|t| t.name), Some(sub.get_name()), "no TOPICS entry");
        }
        for form in ["docker:", "podman:", "pid:", "k8s:", "lxc:", "machine:"] {
            assert!(topic(form.as_bytes()).is_some(), "{form}");
        }
        for t in TOPICS {
            let is_sub = command().get_subcommands().any(|s| s.get_name() == t.name);
            assert!(is_sub || t.name.ends_with(':'), "{} is neither", t.name);
            let text = topic_text(t);
            for part in ["Usage:", "Options:", "Extensions", "Example:", t.example] {
                assert!(text.contains(part), "{}: no {part}", t.name);
            }
            assert!(t.example.starts_with("rnetns "), "{}", t.name);
        }
    }

    #[test]
    fn help_topics_follow_the_subcommand_prefix_rule() {
        let name = |w: &str| topic(w.as_bytes()).map(|t| t.name);
        assert_eq!(name("a"), Some("add"));
        assert_eq!(name("s"), Some("list"));
        assert_eq!(name("show"), Some("list"));
        assert_eq!(name("list-"), Some("list-id"));
        assert_eq!(name("docker"), Some("docker:"));
        assert_eq!(name("docker:web"), Some("docker:"));
        assert_eq!(name("pid:12"), Some("pid:"));
        assert_eq!(name("doctor"), Some("doctor"));
        // Extensions are whole words, as on the command line.
        assert_eq!(name("doc"), None);
        assert_eq!(name("nope"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn ip_mode_help_is_the_bare_usage() {
        assert_eq!(netns_help_text(Mode::Ip), usage_text());
    }

    fn repo_file(path: &str) -> String {
        let p = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    /// The man page's text with roff's font escapes and `\-` removed.
    fn man_text() -> String {
        let mut s = repo_file("man/rnetns.8").replace("\\-", "-");
        for esc in ["\\fB", "\\fI", "\\fR", "\\fP", "\\&"] {
            s = s.replace(esc, "");
        }
        s
    }

    #[test]
    fn man_page_documents_every_subcommand_and_option() {
        let man = man_text();
        let cmd = command();
        for sub in cmd.get_subcommands() {
            for n in std::iter::once(sub.get_name()).chain(sub.get_visible_aliases()) {
                assert!(man.contains(n), "man page lacks subcommand {n}");
            }
            for a in sub.get_arguments().filter_map(|a| a.get_long()) {
                assert!(man.contains(&format!("--{a}")), "man page lacks --{a}");
            }
        }
        for k in clap_option_keywords() {
            assert!(man.contains(k.as_str()), "man page lacks option {k}");
        }
        for path in [
            "/run/netns",
            "/etc/netns",
            "/run/docker/netns",
            "/var/lib/docker/containers",
            "/run/user/",
            "/var/lib/containers/storage",
            "/run/containerd",
        ] {
            assert!(man.contains(path), "man page lacks {path}");
        }
    }

    #[test]
    fn man_page_lists_every_divergence_in_the_ledger() {
        let man = man_text();
        for line in repo_file("compat/ledger.tsv").lines() {
            let reason = line.split('\t').nth(1).unwrap_or_default();
            let Some((tag, _)) = reason.split_once(':') else {
                continue;
            };
            assert!(
                man.contains(&format!(".IP {tag} ")),
                "man page DIFFERENCES lacks {tag} ({line})"
            );
        }
    }

    /// The words of a `NAME=(...)` (bash, zsh) or `set NAME ...` (fish)
    /// line in a completion script.
    fn shell_list(file: &str, var: &str) -> Vec<String> {
        let text = repo_file(file);
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| {
                l.starts_with(&format!("{var}=(")) || l.starts_with(&format!("set -g {var} "))
            })
            .unwrap_or_else(|| panic!("{file}: no {var} list"));
        let body = line
            .strip_prefix(&format!("{var}=("))
            .map(|b| b.trim_end_matches(')'))
            .or_else(|| line.strip_prefix(&format!("set -g {var} ")))
            .unwrap_or_default();
        body.split_whitespace()
            .map(|w| w.trim_matches('\'').to_string())
            .collect()
    }

    #[test]
    fn completions_follow_the_grammar_tables_in_order() {
        let options: Vec<String> = OPTIONS
            .iter()
            .map(|(h, _)| keyword(h).to_string())
            .collect();
        let mut subs: Vec<String> = SUBCOMMANDS.iter().map(|(k, _)| k.to_string()).collect();
        for ext in EXTENSION_SUBCOMMANDS {
            if !subs.iter().any(|s| s == ext) {
                subs.push(ext.to_string());
            }
        }
        for file in [
            "completions/rnetns.bash",
            "completions/_rnetns",
            "completions/rnetns.fish",
        ] {
            assert_eq!(shell_list(file, "_rnetns_options"), options, "{file}");
            assert_eq!(shell_list(file, "_rnetns_subcommands"), subs, "{file}");
            let text = repo_file(file);
            for word in ["--all-runtimes", "--fix", "docker:", "podman:", "pid:"] {
                assert!(text.contains(word), "{file} lacks {word}");
            }
        }
    }
}
