//! iproute2's grammar as ordered tables (spec 2.1-2.3, 3.4): global
//! options, `ip` objects and netns subcommands, each matched by the
//! non-empty-prefix rule where the first entry in table order wins.

/// iproute2's `matches()`: `word` is a non-empty, case-sensitive prefix of
/// `keyword` (spec 2.3; the empty string matches nothing since 5.3).
pub fn matches(word: &[u8], keyword: &str) -> bool {
    !word.is_empty() && keyword.as_bytes().starts_with(word)
}

/// What a global option does (only the ones that matter to netns carry data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    /// Accepted and ignored; the flag says whether it consumes the next word.
    Ignored {
        takes_value: bool,
    },
    Family,
    Version,
    Force,
    Batch,
    Json,
    Pretty,
    Rcvbuf,
    Color,
    Help,
    Netns,
    All,
}

/// How an entry of the option table matches a word.
#[derive(Debug, Clone, Copy)]
pub enum How {
    Prefix(&'static str),
    Exact(&'static str),
}

/// The global options in iproute2's matching order (spec 2.1). `-color`
/// has its own matcher, applied at its place in the order.
pub const OPTIONS: &[(How, Opt)] = &[
    (How::Prefix("-loops"), Opt::Ignored { takes_value: true }),
    (How::Prefix("-family"), Opt::Family),
    (How::Exact("-4"), Opt::Ignored { takes_value: false }),
    (How::Exact("-6"), Opt::Ignored { takes_value: false }),
    (How::Exact("-0"), Opt::Ignored { takes_value: false }),
    (How::Exact("-M"), Opt::Ignored { takes_value: false }),
    (How::Exact("-B"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-human"), Opt::Ignored { takes_value: false }),
    (
        How::Prefix("-human-readable"),
        Opt::Ignored { takes_value: false },
    ),
    (How::Prefix("-iec"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-stats"), Opt::Ignored { takes_value: false }),
    (
        How::Prefix("-statistics"),
        Opt::Ignored { takes_value: false },
    ),
    (How::Prefix("-details"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-resolve"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-oneline"), Opt::Ignored { takes_value: false }),
    (
        How::Prefix("-timestamp"),
        Opt::Ignored { takes_value: false },
    ),
    (How::Prefix("-tshort"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-Version"), Opt::Version),
    (How::Prefix("-force"), Opt::Force),
    (How::Prefix("-batch"), Opt::Batch),
    (How::Prefix("-brief"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-json"), Opt::Json),
    (How::Prefix("-pretty"), Opt::Pretty),
    (How::Prefix("-rcvbuf"), Opt::Rcvbuf),
    (How::Prefix("-color"), Opt::Color),
    (How::Prefix("-help"), Opt::Help),
    (How::Prefix("-netns"), Opt::Netns),
    (How::Prefix("-Numeric"), Opt::Ignored { takes_value: false }),
    (How::Prefix("-all"), Opt::All),
    (How::Exact("-echo"), Opt::Ignored { takes_value: false }),
];

/// Looks a (dash-folded) option word up in [`OPTIONS`].
pub fn lookup_option(word: &[u8]) -> Option<Opt> {
    OPTIONS.iter().find_map(|(how, opt)| {
        let hit = match (how, opt) {
            (How::Prefix(k), Opt::Color) => color_matches(word, k),
            (How::Prefix(k), _) => matches(word, k),
            (How::Exact(k), _) => word == k.as_bytes(),
        };
        hit.then_some(*opt)
    })
}

/// `-color[=always|never|auto]`, any prefix of `-color` before the `=`.
fn color_matches(word: &[u8], keyword: &str) -> bool {
    let (name, value) = match word.iter().position(|&b| b == b'=') {
        Some(i) => (&word[..i], Some(&word[i + 1..])),
        None => (word, None),
    };
    matches(name, keyword)
        && value.is_none_or(|v| matches!(v, b"" | b"always" | b"never" | b"auto"))
}

/// `-family` values iproute2 accepts (spec 2.1: others are "invalid
/// protocol family"; `help` prints the ip usage).
pub const FAMILIES: &[&str] = &["inet", "inet6", "link", "bridge", "mpls"];

/// `ip` objects in iproute2's order (spec 2.2).
pub const OBJECTS: &[&str] = &[
    "address",
    "addrlabel",
    "maddress",
    "route",
    "rule",
    "neighbor",
    "neighbour",
    "ntable",
    "ntbl",
    "link",
    "l2tp",
    "fou",
    "ila",
    "macsec",
    "tunnel",
    "tunl",
    "tuntap",
    "tap",
    "token",
    "tcpmetrics",
    "tcp_metrics",
    "monitor",
    "xfrm",
    "mroute",
    "mrule",
    "netns",
    "netconf",
    "vrf",
    "sr",
    "nexthop",
    "mptcp",
    "ioam",
    "help",
    "stats",
];

/// Whether an object word selects `netns` (`net`, `netn`, `netns`).
pub fn is_netns_object(word: &[u8]) -> bool {
    OBJECTS.iter().find(|o| matches(word, o)) == Some(&"netns")
}

/// The netns subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    List,
    ListId,
    Help,
    Add,
    Set,
    Delete,
    Identify,
    Pids,
    Exec,
    Monitor,
    Attach,
}

/// Subcommand keywords in iproute2's order (spec 3.4): `s` is list, `a` is
/// add, `list-` is list-id.
pub const SUBCOMMANDS: &[(&str, Sub)] = &[
    ("list", Sub::List),
    ("show", Sub::List),
    ("lst", Sub::List),
    ("list-id", Sub::ListId),
    ("help", Sub::Help),
    ("add", Sub::Add),
    ("set", Sub::Set),
    ("delete", Sub::Delete),
    ("identify", Sub::Identify),
    ("pids", Sub::Pids),
    ("exec", Sub::Exec),
    ("monitor", Sub::Monitor),
    ("attach", Sub::Attach),
];

pub fn lookup_subcommand(word: &[u8]) -> Option<Sub> {
    SUBCOMMANDS
        .iter()
        .find(|(k, _)| matches(word, k))
        .map(|(_, s)| *s)
}

/// spec 3.3: a netns name is non-empty, at most 255 bytes, has no `/` and
/// is neither `.` nor `..`.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= 255 && !name.contains(&b'/') && name != b"." && name != b".."
}

/// strtol(3) with base 0 into a C int: optional leading white space and
/// sign, `0x` hex, leading-`0` octal; the whole string must be consumed and
/// the value must fit in i32. `None` is iproute2's "invalid".
pub fn parse_c_int(s: &[u8]) -> Option<i32> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = &s[i..];
    let (radix, digits) = if (rest.starts_with(b"0x") || rest.starts_with(b"0X"))
        && rest.get(2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        (16, &rest[2..])
    } else if rest.starts_with(b"0") {
        (8, rest)
    } else {
        (10, rest)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix)? as i64;
        v = v * radix as i64 + d;
        if v > i64::from(u32::MAX) + 1 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_word_matches_nothing() {
        assert!(!matches(b"", "list"));
        assert_eq!(lookup_subcommand(b""), None);
    }

    #[test]
    fn subcommand_abbreviations_follow_table_order() {
        let cases: &[(&[u8], Option<Sub>)] = &[
            (b"s", Some(Sub::List)),
            (b"sh", Some(Sub::List)),
            (b"se", Some(Sub::Set)),
            (b"l", Some(Sub::List)),
            (b"ls", Some(Sub::List)),
            (b"list-", Some(Sub::ListId)),
            (b"a", Some(Sub::Add)),
            (b"at", Some(Sub::Attach)),
            (b"d", Some(Sub::Delete)),
            (b"h", Some(Sub::Help)),
            (b"i", Some(Sub::Identify)),
            (b"p", Some(Sub::Pids)),
            (b"e", Some(Sub::Exec)),
            (b"m", Some(Sub::Monitor)),
            (b"listx", None),
            (b"LIST", None),
            (b"rm", None),
            (b"--help", None),
        ];
        for (w, want) in cases {
            assert_eq!(
                lookup_subcommand(w),
                *want,
                "{}",
                String::from_utf8_lossy(w)
            );
        }
    }

    #[test]
    fn option_abbreviations_follow_table_order() {
        assert_eq!(lookup_option(b"-f"), Some(Opt::Family));
        assert_eq!(lookup_option(b"-fo"), Some(Opt::Force));
        assert_eq!(lookup_option(b"-a"), Some(Opt::All));
        assert_eq!(lookup_option(b"-j"), Some(Opt::Json));
        assert_eq!(lookup_option(b"-p"), Some(Opt::Pretty));
        assert_eq!(lookup_option(b"-b"), Some(Opt::Batch));
        assert_eq!(
            lookup_option(b"-br"),
            Some(Opt::Ignored { takes_value: false })
        );
        assert_eq!(lookup_option(b"-n"), Some(Opt::Netns));
        assert_eq!(
            lookup_option(b"-N"),
            Some(Opt::Ignored { takes_value: false })
        );
        assert_eq!(
            lookup_option(b"-h"),
            Some(Opt::Ignored { takes_value: false })
        );
        assert_eq!(lookup_option(b"-he"), Some(Opt::Help));
        assert_eq!(lookup_option(b"-V"), Some(Opt::Version));
        assert_eq!(
            lookup_option(b"-"),
            Some(Opt::Ignored { takes_value: true })
        );
        assert_eq!(lookup_option(b"-c=always"), Some(Opt::Color));
        assert_eq!(lookup_option(b"-color=bogus"), None);
        assert_eq!(lookup_option(b"-e"), None);
        assert_eq!(
            lookup_option(b"-echo"),
            Some(Opt::Ignored { takes_value: false })
        );
    }

    #[test]
    fn netns_object_words() {
        for w in [&b"net"[..], b"netn", b"netns"] {
            assert!(is_netns_object(w));
        }
        for w in [&b"n"[..], b"ne", b"netc", b"netnsx", b""] {
            assert!(!is_netns_object(w));
        }
    }

    #[test]
    fn name_validation() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", &[b'x'; 256]] {
            assert!(!valid_name(bad));
        }
        for good in [
            &b".foo"[..],
            b"...",
            b"--",
            b"-x",
            b"a b",
            b"a\nb",
            &[b'x'; 255],
        ] {
            assert!(valid_name(good));
        }
    }

    #[test]
    fn strtol_base0_rules() {
        assert_eq!(parse_c_int(b"010"), Some(8));
        assert_eq!(parse_c_int(b"0x10"), Some(16));
        assert_eq!(parse_c_int(b" 1"), Some(1));
        assert_eq!(parse_c_int(b"+1"), Some(1));
        assert_eq!(parse_c_int(b"-5"), Some(-5));
        assert_eq!(parse_c_int(b"0"), Some(0));
        assert_eq!(parse_c_int(b"2147483647"), Some(i32::MAX));
        for bad in [
            &b"08"[..],
            b"",
            b"0x",
            b"12a",
            b"2147483648",
            b"abc",
            b"1 ",
            b"-",
        ] {
            assert_eq!(parse_c_int(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
