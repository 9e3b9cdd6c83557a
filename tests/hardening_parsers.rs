//! Randomized inputs for the four parsers the fuzz targets cover (argument
//! grammar, batch reader and splitter, mountinfo, runtime state files),
//! seeded and deterministic
//! so they run under plain `cargo test` on stable without cargo-fuzz:
//! 20,000 cases each, built from the grammar's own words, quotes,
//! backslashes, NUL and high bytes. No panic, no hang (each case has a
//! time budget). The coverage-guided runs are `cargo fuzz` (README
//! "Fuzzing").

use rnetns::cli::batch::{split_words, Reader};
use rnetns::cli::{parse, Mode};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::{Duration, Instant};

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const CASES: usize = 20_000;

const WORDS: &[&str] = &[
    "netns",
    "net",
    "n",
    "-n",
    "-netns",
    "--netns",
    "-all",
    "-a",
    "-j",
    "-p",
    "-b",
    "-batch",
    "-force",
    "-fo",
    "-f",
    "-V",
    "-h",
    "-he",
    "--",
    "-",
    "list",
    "l",
    "s",
    "show",
    "list-id",
    "list-",
    "add",
    "a",
    "attach",
    "at",
    "set",
    "se",
    "delete",
    "d",
    "identify",
    "pids",
    "exec",
    "e",
    "monitor",
    "help",
    "doctor",
    "--fix",
    "nsid",
    "target-nsid",
    "auto",
    "0x7",
    "08",
    "-1",
    "2147483648",
    " 1",
    "+1",
    "",
    "/",
    ".",
    "..",
    "../x",
    "link",
    "ip",
    "true",
    "\"",
    "'",
    "#",
    "\\",
    "\t",
    "\n",
    "\0",
    "\u{ff}",
];

fn random_bytes(rng: &mut Rng, pieces: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..rng.index(pieces) {
        match rng.index(4) {
            0 => v.push(rng.next() as u8),
            1 => v.push(b' '),
            _ => v.extend_from_slice(WORDS[rng.index(WORDS.len())].as_bytes()),
        }
    }
    v
}

fn each_case(seed: u64, mut f: impl FnMut(&mut Rng)) {
    let mut rng = Rng::new(seed);
    for i in 0..CASES {
        let t = Instant::now();
        f(&mut rng);
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "case {i} (seed {seed}) took too long"
        );
    }
}

#[test]
fn argument_grammar_never_panics() {
    each_case(0x5eed_0001, |rng| {
        let words: Vec<OsString> = (0..rng.index(8))
            .map(|_| OsString::from_vec(random_bytes(rng, 3)))
            .collect();
        let _ = parse(Mode::Rnetns, &words);
        let _ = parse(Mode::Ip, &words);
    });
}

#[test]
fn batch_reader_and_splitter_never_panic() {
    each_case(0x5eed_0002, |rng| {
        let text = random_bytes(rng, 40);
        let _ = split_words(&text);
        let mut r = Reader::new(&text[..]);
        let mut last = 0;
        while let Some((n, line)) = r.next_line() {
            assert!(n > last);
            last = n;
            let _ = split_words(&line);
        }
    });
}

#[test]
fn mountinfo_parser_never_panics() {
    let real = std::fs::read("/proc/self/mountinfo").unwrap_or_default();
    each_case(0x5eed_0003, |rng| {
        let mut text = real.clone();
        for _ in 0..rng.index(8) {
            if text.is_empty() {
                break;
            }
            let at = rng.index(text.len());
            match rng.index(3) {
                0 => text[at] = rng.next() as u8,
                1 => {
                    text.truncate(at);
                }
                _ => text.splice(at..at, random_bytes(rng, 4)).for_each(drop),
            }
        }
        for m in rnetns::mountinfo::parse(&text) {
            let _ = m.propagation();
        }
    });
}

#[test]
fn runtime_state_parsers_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/runtime_state");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("fuzz/corpus/runtime_state")
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    // Each seed reaches the field extraction, not just the JSON decoder.
    for s in &seeds {
        assert!(
            rnetns::runtimes::parse_state_bytes(s) > 0,
            "{}",
            String::from_utf8_lossy(s)
        );
    }
    let depth = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
    assert_eq!(rnetns::runtimes::parse_state_bytes(&depth), 0);
    // Shapes docker's fast field reader must hand to the whole-file parse.
    const ID: &str = "c1c824d296376cab147979267602f5a1a0518d152d8ec6748a134c01309edcc9";
    let state = r#""State":{"Running":true,"Pid":12},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/abc"}"#;
    for case in [
        format!(r#"{{"ID":"x","ID":"{ID}","Name":"/aé",{state}}}"#),
        format!(
            r#"{{"ID":"{ID}","Name":"/w"eb","State":{{"Running":true,"Pid":-3,"X":[1,{{}}]}}}}"#
        ),
        format!(r#"{{"ID":"{ID}","Name":7,{state}}}"#),
        format!(r#"{{"ID":"{ID}","State":{{"Running":"true","Pid":1.0}}}}"#),
        format!(r#"{{"ID":"{ID}","State":null,"NetworkSettings":{{"SandboxKey":null}}}}"#),
        format!(r#"{{"ID":"{ID}","Name":"/a\/b",{state}}} "#),
        format!(r#"["{ID}","/a",{{"Running":true,"Pid":4}},null]"#),
        format!(r#"{{"ID":"{ID}"}} trailing"#),
    ] {
        assert!(
            rnetns::runtimes::docker_parses_agree(case.as_bytes()),
            "{case}"
        );
    }
    each_case(0x5eed_0004, |rng| {
        let mut text = seeds[rng.index(seeds.len())].clone();
        for _ in 0..rng.index(8) {
            if text.is_empty() {
                break;
            }
            let at = rng.index(text.len());
            match rng.index(4) {
                0 => text[at] = rng.next() as u8,
                1 => {
                    text.truncate(at);
                }
                2 => {
                    let piece = [
                        r#"{"a":"#, "[", "]", "}", "null", "7", r#""""#, "\\u0000", ",",
                    ];
                    let p = piece[rng.index(piece.len())].as_bytes();
                    text.splice(at..at, p.iter().copied()).for_each(drop);
                }
                _ => text.splice(at..at, random_bytes(rng, 4)).for_each(drop),
            }
        }
        let _ = rnetns::runtimes::parse_state_bytes(&text);
        assert!(
            rnetns::runtimes::docker_parses_agree(&text),
            "{}",
            String::from_utf8_lossy(&text)
        );
    });
}
