//! The differential compat suite: every case in `compat/cases/*.case` runs
//! twice against the real iproute2 `ip` and once against rnetns invoked as
//! `ip`, each in a fresh sandbox, and stdout, stderr, exit status and the
//! resulting state (run-dir entries, mounts under /run and /etc, list-id)
//! are compared byte for byte. See `compat/README.md` for the case format.
//!
//! Environment: `COMPAT_REF_ONLY=1` runs only the two reference runs (to
//! check a new case); `COMPAT_BLESS=1` writes `compat/expected/NAME.out`
//! for ledger cases; `COMPAT_SHOW=1` prints every rendered result.

#[path = "support/sandbox.rs"]
mod sandbox;

use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Case {
    name: String,
    setup: Vec<String>,
    run: Vec<String>,
    state: Vec<String>,
}

fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let mut case = Case {
        name: name.to_string(),
        setup: vec![],
        run: vec![],
        state: vec![],
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, val) = line
            .split_once(':')
            .ok_or_else(|| format!("{name}:{}: expected KEY: VALUE", i + 1))?;
        let val = val.strip_prefix(' ').unwrap_or(val).to_string();
        match key {
            "setup" => case.setup.push(val),
            "run" => case.run.push(val),
            "state" => case.state.push(val),
            _ => return Err(format!("{name}:{}: unknown key {key:?}", i + 1)),
        }
    }
    if case.run.is_empty() {
        return Err(format!("{name}: no run: line"));
    }
    Ok(case)
}

/// A directory holding one file, `ip`, pointing at the program under test.
fn bindir(label: &str, target: &Path) -> PathBuf {
    let dir = sandbox::scratch_root().join(format!("bin-{label}"));
    let _ = fs::create_dir_all(&dir);
    let link = dir.join("ip");
    let _ = fs::remove_file(&link);
    symlink(target, &link).expect("symlink ip");
    dir
}

/// The bash body that runs a case inside the sandbox, leaving its results
/// in `$SBX/res`.
fn case_script(case: &Case, bindir: &Path, refdir: &Path) -> String {
    let q = sandbox::shell_quote;
    let mut s = String::new();
    s.push_str("mkdir -p \"$SBX/res\"\n");
    // The program under test must really be the one the case runs.
    for d in [bindir, refdir] {
        s.push_str(&format!(
            "[ -x {0}/ip ] || {{ echo \"sandbox: {0}/ip is not reachable\" >&2; exit 91; }}\n",
            q(&d.to_string_lossy())
        ));
    }
    let path = |d: &Path| format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", d.display());
    for (i, line) in case.setup.iter().enumerate() {
        s.push_str(&format!(
            "PATH={} bash -c {} >\"$SBX/res/setup.{i}\" 2>&1 </dev/null || {{ echo \"setup line {} failed: $(cat \"$SBX/res/setup.{i}\")\" >&2; exit 90; }}\n",
            q(&path(refdir)),
            q(line),
            i + 1
        ));
    }
    for (i, line) in case.run.iter().enumerate() {
        s.push_str(&format!(
            "PATH={} bash -c {} >\"$SBX/res/out.{i}\" 2>\"$SBX/res/err.{i}\" </dev/null; echo $? >\"$SBX/res/rc.{i}\"\n",
            q(&path(bindir)),
            q(line)
        ));
    }
    let ip = sandbox::real_ip();
    s.push_str(&format!(
        "{{ stat -c '%F %a' /run/netns 2>&1; find /run/netns -mindepth 1 -maxdepth 1 -printf '%P %M %y\\n' 2>/dev/null | LC_ALL=C sort; }} >\"$SBX/res/entries\"\n\
         cat /proc/self/mountinfo >\"$SBX/res/mountinfo\"\n\
         timeout -k 1 3 {} netns list-id >\"$SBX/res/listid\" 2>&1\n",
        ip.display()
    ));
    for (i, line) in case.state.iter().enumerate() {
        s.push_str(&format!(
            "PATH={} bash -c {} >\"$SBX/res/state.{i}\" 2>&1 </dev/null\n",
            q(&path(refdir)),
            q(line)
        ));
    }
    s.push_str("exit 0\n");
    s
}

/// Keeps the mountinfo lines of the sandbox's own /run (and what is mounted
/// below it) and of mounts under /etc/, without mount ids and device
/// numbers, with nsfs inodes and peer group ids renumbered in order of
/// appearance (they differ from run to run). Mounts copied from the host
/// when the sandbox was made (e.g. a running dockerd's, now hidden under
/// the sandbox's tmpfs) are left out: they are not the case's doing.
fn normalize_mountinfo<'a>(text: &'a str) -> String {
    let rows: Vec<Vec<&'a str>> = text
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f.len() >= 10)
        .collect();
    let sandbox_roots: Vec<&'a str> = rows
        .iter()
        .filter(|f| {
            let dash = f.iter().position(|x| *x == "-").unwrap_or(0);
            matches!(f.get(dash + 2), Some(&"sbx-run") | Some(&"sbx-etc"))
                && (f[4] == "/run" || f[4] == "/etc")
        })
        .map(|f| f[0])
        .collect();
    let parent: HashMap<&'a str, &'a str> = rows.iter().map(|f| (f[0], f[1])).collect();
    let in_sandbox = |mut id: &'a str| {
        for _ in 0..64 {
            if sandbox_roots.contains(&id) {
                return true;
            }
            match parent.get(id) {
                Some(p) if p != &id => id = p,
                _ => return false,
            }
        }
        false
    };
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut number = |kind: &str, v: &str| {
        let n = ids.len() + 1;
        let k = format!("{kind}{v}");
        format!("{kind}#{}", ids.entry(k).or_insert(n))
    };
    let mut out = String::new();
    for f in &rows {
        let mp = f[4];
        if !(mp == "/run" || mp.starts_with("/run/") || mp.starts_with("/etc/")) {
            continue;
        }
        if !in_sandbox(f[0]) {
            continue;
        }
        let root = match f[3].strip_prefix("net:[") {
            Some(ino) => format!("net:[{}]", number("ino", ino.trim_end_matches(']'))),
            None => f[3].to_string(),
        };
        let dash = f.iter().position(|x| *x == "-").unwrap_or(f.len());
        let optional: Vec<String> = f[6..dash]
            .iter()
            .map(|o| match o.split_once(':') {
                Some((k, v)) => format!("{k}:{}", number("peer", v)),
                None => o.to_string(),
            })
            .collect();
        out.push_str(&format!(
            "{mp} {root} {} [{}] - {}\n",
            f[5],
            optional.join(" "),
            f[dash + 1..].join(" ")
        ));
    }
    out
}

fn render(case: &Case, res: &Path) -> Vec<u8> {
    let read = |n: &str| fs::read(res.join(n)).unwrap_or_else(|_| b"<missing>".to_vec());
    let mut out = Vec::new();
    let section = |out: &mut Vec<u8>, title: &str, body: &[u8]| {
        out.extend_from_slice(format!("[{title} {} bytes]\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        if !body.ends_with(b"\n") && !body.is_empty() {
            out.extend_from_slice(b"\n<no newline>\n");
        }
    };
    for (i, line) in case.run.iter().enumerate() {
        out.extend_from_slice(format!("$ {line}\n").as_bytes());
        section(&mut out, "stdout", &read(&format!("out.{i}")));
        section(&mut out, "stderr", &read(&format!("err.{i}")));
        section(&mut out, "exit", &read(&format!("rc.{i}")));
    }
    section(&mut out, "run dir", &read("entries"));
    let mi = String::from_utf8_lossy(&read("mountinfo")).into_owned();
    section(&mut out, "mounts", normalize_mountinfo(&mi).as_bytes());
    section(&mut out, "list-id", &read("listid"));
    for (i, line) in case.state.iter().enumerate() {
        section(
            &mut out,
            &format!("state {line}"),
            &read(&format!("state.{i}")),
        );
    }
    out
}

fn run_once(case: &Case, label: &str, bin: &Path, refdir: &Path) -> Result<Vec<u8>, String> {
    let scratch = sandbox::scratch_root().join(format!("{}-{label}", case.name));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let out = sandbox::run_script(&scratch, &case_script(case, bin, refdir))
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{label}: sandbox failed (exit {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if !scratch
        .join("res")
        .join(format!("rc.{}", case.run.len() - 1))
        .exists()
    {
        return Err(format!(
            "{label}: the sandbox left no results in {}",
            scratch.display()
        ));
    }
    let blob = render(case, &scratch.join("res"));
    let _ = fs::remove_dir_all(&scratch);
    Ok(blob)
}

fn diff(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut s = String::new();
    for i in 0..al.len().max(bl.len()) {
        let (x, y) = (al.get(i).copied(), bl.get(i).copied());
        if x != y {
            s.push_str(&format!(
                "  line {}:\n    iproute2: {:?}\n    rnetns:   {:?}\n",
                i + 1,
                x,
                y
            ));
        }
    }
    format!("{s}--- iproute2 ---\n{a}--- rnetns ---\n{b}")
}

fn check_case(case: &Case, ledger: Option<&str>, dirs: &Dirs) -> Result<(), Failed> {
    let r1 = run_once(case, "ref1", &dirs.refbin, &dirs.refbin)?;
    let r2 = run_once(case, "ref2", &dirs.refbin, &dirs.refbin)?;
    if r1 != r2 {
        return Err(format!(
            "broken case: the two iproute2 runs differ\n{}",
            diff(&r1, &r2)
        )
        .into());
    }
    if std::env::var_os("COMPAT_REF_ONLY").is_some() {
        if std::env::var_os("COMPAT_SHOW").is_some() {
            println!("{}", String::from_utf8_lossy(&r1));
        }
        return Ok(());
    }
    let mine = run_once(case, "rnetns", &dirs.rnbin, &dirs.refbin)?;
    if std::env::var_os("COMPAT_SHOW").is_some() {
        println!("{}", String::from_utf8_lossy(&mine));
    }
    let Some(reason) = ledger else {
        return if r1 == mine {
            Ok(())
        } else {
            Err(diff(&r1, &mine).into())
        };
    };
    if r1 == mine {
        return Err(format!(
            "ledger case now matches iproute2: remove its line from compat/ledger.tsv ({reason})"
        )
        .into());
    }
    let expected_path = Path::new(ROOT)
        .join("compat/expected")
        .join(format!("{}.out", case.name));
    if std::env::var_os("COMPAT_BLESS").is_some() {
        fs::create_dir_all(expected_path.parent().unwrap()).map_err(|e| e.to_string())?;
        fs::write(&expected_path, &mine).map_err(|e| e.to_string())?;
    }
    let expected = fs::read(&expected_path).map_err(|e| {
        format!(
            "{}: {e} (ledger cases pin rnetns's output; COMPAT_BLESS=1 writes it)",
            expected_path.display()
        )
    })?;
    if expected != mine {
        return Err(format!(
            "ledger case: rnetns differs from its pinned output\n{}",
            diff(&expected, &mine)
        )
        .into());
    }
    Ok(())
}

struct Dirs {
    refbin: PathBuf,
    rnbin: PathBuf,
}

fn load_ledger() -> BTreeMap<String, String> {
    let text = fs::read_to_string(Path::new(ROOT).join("compat/ledger.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn main() {
    let args = Arguments::from_args();
    let dirs = std::sync::Arc::new(Dirs {
        refbin: bindir("ref", &sandbox::real_ip()),
        rnbin: bindir("rnetns", Path::new(env!("CARGO_BIN_EXE_rnetns"))),
    });
    let ledger = load_ledger();
    let unavailable = sandbox::unavailable();
    if let Some(why) = &unavailable {
        if sandbox::in_ci() {
            eprintln!("compat: cannot build sandboxes under CI=true: {why}");
        } else {
            eprintln!("compat: skipped: needs root or user namespaces ({why})");
        }
    }
    let mut names: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("compat/cases"))
        .expect("compat/cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    names.sort();
    let mut trials = Vec::new();
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).expect("read case");
        let dirs = dirs.clone();
        let led = ledger.get(&name).cloned();
        let unavailable = unavailable.clone();
        let skip = unavailable.is_some() && !sandbox::in_ci();
        trials.push(
            Trial::test(name.clone(), move || {
                if let Some(why) = unavailable {
                    return Err(format!("sandbox unavailable: {why}").into());
                }
                let case = parse_case(&name, &text)?;
                check_case(&case, led.as_deref(), &dirs)
            })
            .with_ignored_flag(skip),
        );
    }
    for name in ledger.keys() {
        if !trials.iter().any(|t| t.name() == name) {
            eprintln!("compat: ledger names a case that does not exist: {name}");
            std::process::exit(1);
        }
    }
    let whole_suite = args.filter.is_none() && args.skip.is_empty() && !args.ignored;
    let conclusion = libtest_mimic::run(&args, trials);
    let floor_path = Path::new(ROOT).join("compat/passcount");
    let floor: u64 = fs::read_to_string(&floor_path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if whole_suite && std::env::var_os("COMPAT_REF_ONLY").is_none() {
        println!(
            "compat: {} passed (recorded floor {floor})",
            conclusion.num_passed
        );
        if conclusion.num_passed < floor {
            eprintln!("compat: pass count dropped below the recorded {floor}");
            std::process::exit(1);
        }
    }
    conclusion.exit();
}
