//! Notes that can be acted on (README "Tests"): `list --all-runtimes` names the
//! processes it could not inspect (`PID 1 (bash) ...`, at most five, then
//! "and N more"), says once what a note means for the answer, and `-q`
//! silences notes without changing the exit status. Run as nobody in a
//! sandbox of its own, where PID 1 and a sleeper belong to root, and
//! /var/lib is empty (no runtime state of the host's to note).

#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

fn main() {
    skip::main_privileged(&named![
        uninspectable_processes_are_named_and_q_silences_the_notes,
        more_than_five_are_counted,
    ]);
}

fn script(body: &str) -> String {
    format!(
        "R={}\nmount -t tmpfs sbx-varlib /var/lib || exit 89\nnobody() {{ setpriv --reuid=65534 --regid=65534 --clear-groups \"$@\"; }}\n{body} >$SBX/out 2>&1\nsed -E 's/[0-9]+ \\(sleep\\)/N (sleep)/g' $SBX/out",
        sandbox::shell_quote(env!("CARGO_BIN_EXE_rnetns"))
    )
}

fn uninspectable_processes_are_named_and_q_silences_the_notes() {
    let out = sandbox::run_checked(
        "notes-named",
        &script(
            "sleep 100 &
             {
             nobody $R list --all-runtimes 2>&1 >/dev/null; echo rc=$?
             nobody $R -j list --all-runtimes 2>&1 >/dev/null; echo rc=$?
             nobody $R -q list --all-runtimes 2>&1 >/dev/null; echo rc=$?
             nobody $R -q -j identify --all-runtimes 2>&1 >/dev/null; echo rc=$?
             }",
        ),
    )
    .expect(skip::IN_PRIVILEGED);
    let note = "rnetns: note: PIDs 1 (bash), N (sleep) could not be inspected (Permission denied); namespaces only they hold are missing; run as root for a complete list\n\
                rnetns: note: notes name what could not be read; the rest of the answer is complete and the exit status unchanged (-q silences notes)\n";
    assert_eq!(out, format!("{note}rc=0\n{note}rc=0\nrc=0\nrc=0\n"));
}

fn more_than_five_are_counted() {
    let out = sandbox::run_checked(
        "notes-capped",
        &script(
            "for i in 1 2 3 4 5 6 7; do sleep 100 & done
             { nobody $R list --all-runtimes 2>&1 >/dev/null; }",
        ),
    )
    .expect(skip::IN_PRIVILEGED);
    assert_eq!(
        out,
        "rnetns: note: PIDs 1 (bash), N (sleep), N (sleep), N (sleep), N (sleep) and 3 more could not be inspected (Permission denied); namespaces only they hold are missing; run as root for a complete list\n\
         rnetns: note: notes name what could not be read; the rest of the answer is complete and the exit status unchanged (-q silences notes)\n"
    );
}
