#!/bin/sh
# Captures docs/all-runtimes.txt: `rnetns list --all-runtimes` on a host
# where every real runtime the tests drive runs at once. The four
# real-runtime tests run side by side, each with RNETNS_TEST_HOLD set
# (tests/support/hold.rs): once its containers are up and its own checks
# passed, a test writes HOLD/NAME.ready and waits (180 s at most) for
# HOLD/NAME.release (or HOLD/release) before its cleanup.
#   runtimes_daemons     docker + rootful podman
#   runtimes_cri         containerd CRI pods + a ctr task
#   runtimes_lxc_nspawn  LXC + systemd-nspawn
#   runtimes_rootless    rootless podman + rootless docker
# They start one after another, each once the one before holds, and are
# released in reverse order, each once the one after it has finished, so
# each test's before/after look at the host sees the others' runtimes
# standing still. The order matters for the runtimes too: rootful podman
# self-binds /run/netns (as `ip netns add` does); done after containerd has
# mounted its pods' namespaces in a plain /run/netns, the bind copies those
# mounts over the originals, containerd's teardown unmounts only the copies
# and the pods' namespaces stay pinned by hidden nsfs mounts.
# When all four hold, the listing is taken (plain, and -j -p beside it in
# target/all-runtimes); the script fails unless all four pass (their own
# cleanup and host checks included). Needs root and what .ci/run
# installs; holds the host lock while the tests run.
set -eu
cd "$(dirname "$0")/.."
tests="runtimes_daemons runtimes_cri runtimes_lxc_nspawn runtimes_rootless"
out="$PWD/target/all-runtimes"
hold="$out/hold"

if [ -z "${RNETNS_ALL_RUNTIMES_LOCKED:-}" ]; then
    # Build first (no lock needed), then run again under the host lock.
    args=""
    for t in $tests; do args="$args --test $t"; done
    # shellcheck disable=SC2086
    cargo test --no-run $args --message-format=json >"$PWD/target/all-runtimes.build.json"
    exec env RNETNS_ALL_RUNTIMES_LOCKED=1 flock /tmp/rnetns-host.lock "$0" "$@"
fi

rm -rf "$out"
mkdir -p "$hold"
mv "$PWD/target/all-runtimes.build.json" "$out/build.json"
# What cargo built: the test binaries and the rnetns they run.
built() {
    grep -o '"executable":"[^"]*"' "$out/build.json" | sed 's/^"executable":"//; s/"$//' |
        grep "/$1\$" | tail -n 1
}
rnetns=$(built rnetns)
test -x "$rnetns" || { echo "all-runtimes: rnetns was not built" >&2; exit 1; }

now() { date +%s; }
t0=$(now)
release_all() { touch "$hold/release"; }
trap 'release_all' EXIT
trap 'release_all; exit 130' INT TERM
fail() {
    echo "all-runtimes: $*; releasing every test" >&2
    release_all
    wait
    for t in $tests; do
        test -e "$out/$t.log" || continue
        echo "--- $out/$t.log (last lines)" >&2
        tail -n 30 "$out/$t.log" >&2
    done
    exit 1
}

reversed=""
for t in $tests; do
    bin=$(built "$t-[0-9a-f]*")
    test -x "$bin" || fail "no test binary for $t"
    started=$(now)
    (
        rc=0
        RNETNS_TEST_HOLD="$hold" "$bin" --nocapture >"$out/$t.log" 2>&1 || rc=$?
        echo "$rc" >"$out/$t.rc"
    ) &
    reversed="$t $reversed"
    # It holds, or it ended (failed or skipped) first.
    while ! test -e "$hold/$t.ready"; do
        test -e "$out/$t.rc" && fail "$t ended before holding (exit $(cat "$out/$t.rc"))"
        [ $(($(now) - started)) -le 300 ] || fail "$t not holding after 300 s"
        sleep 1
    done
    echo "$t holds after $(($(now) - started)) s (all: $(($(now) - t0)) s)"
done
t_ready=$(now)

"$rnetns" list --all-runtimes >"$out/all-runtimes.txt"
"$rnetns" -j -p list --all-runtimes >"$out/all-runtimes.json"
# A test that waited out its 180 s has begun its cleanup: the listing
# may miss it.
late=$(grep -l '^hold: no ' "$out"/*.log || true)
[ -z "$late" ] || fail "a test stopped holding before the listing: $late"

status=0
for t in $reversed; do
    touch "$hold/$t.release"
    released=$(now)
    while ! test -e "$out/$t.rc"; do sleep 1; done
    if [ "$(cat "$out/$t.rc")" = 0 ]; then
        echo "$t: passed (cleanup and checks: $(($(now) - released)) s)"
    else
        echo "$t: FAILED (log: $out/$t.log)" >&2
        tail -n 30 "$out/$t.log" >&2
        status=1
    fi
done
wait
late=$(grep -l '^hold: no ' "$out"/*.log || true)
[ -z "$late" ] || { echo "all-runtimes: held past 180 s: $late" >&2; status=1; }
echo "all holding after $((t_ready - t0)) s; all done after $(($(now) - t0)) s"
[ "$status" = 0 ] || exit 1
{
    echo "# rnetns list --all-runtimes on one host running docker, rootful and"
    echo "# rootless podman, rootless docker, containerd (CRI pods and a ctr"
    echo "# task), LXC and systemd-nspawn at once: docs/all-runtimes.sh."
    cat "$out/all-runtimes.txt"
} >docs/all-runtimes.txt
echo "docs/all-runtimes.txt written; JSON and the tests' logs in $out"
