#!/bin/sh
# Regenerates docs/topology.svg, the README's picture (README "See the
# wiring"), from a real docker + podman host: tests/wiring_daemons.rs
# starts its containers (docker's default bridge plus a user network, a
# --net=container: and a --net=host container; a podman netavark network
# and a pod), checks them, and with RNETNS_TOPOLOGY_OUT set also runs
#   rnetns graph --dot | dot -Tsvg > topology.svg
# and saves the plain listing, the tree and an `identify --iface` answer
# beside it; then it removes everything it started. Needs root, docker,
# podman and graphviz; holds the host lock while it runs.
set -eu
cd "$(dirname "$0")/.."
out="$PWD/target/topology"
rm -rf "$out"
flock /tmp/rnetns-host.lock env RNETNS_TOPOLOGY_OUT="$out" \
    cargo test --test wiring_daemons -- --nocapture
test -s "$out/topology.svg" || { echo "no picture: the test was skipped" >&2; exit 1; }
cp "$out/topology.svg" docs/topology.svg
echo "docs/topology.svg written; listing.txt, graph.txt, identify.txt in $out"
