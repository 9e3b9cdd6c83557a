# The cgroup walk scenario of tests/runtimes_cgroups.rs, run by it in a
# sandbox (tests/support/sandbox.rs). Set by the test: RNETNS, ME (the
# test's PID, in cgroup names), DOCKER_ID and CONMON_ID
# (container ids); cgroup_hierarchy.sh runs first.
R=${RNETNS}
T=rnetns-test-${ME}
mount -t tmpfs sbx-varlib /var/lib || exit 89
# $mnt: the hierarchy rnetns walks (cgroup_hierarchy.sh, run before this).
echo "FACT mnt $mnt"
cd "$mnt" || exit 80
dirs=("lxc.payload.$T/sub" "lxc.payload.$T" "$T.slice/docker-${DOCKER_ID}.scope" "$T.slice/libpod-conmon-${CONMON_ID}.scope" "$T.slice")
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null
  for d in "${dirs[@]}"; do rmdir "$d" || echo "cannot remove cgroup $d" >&2; done
}
trap cleanup EXIT
# hold DIR: a process with its own netns, moved into cgroup DIR.
hold() {
  mkdir -p "$1" || exit 81
  unshare -n sleep 1000 >/dev/null 2>&1 &
  pids+=($!)
  echo $! >"$1/cgroup.procs" || exit 82
  echo "FACT $2 $!"
  eval "pid_$2=$!"
}
hold "lxc.payload.$T" lxc
hold "lxc.payload.$T/sub" lxcsub
hold "$T.slice/docker-${DOCKER_ID}.scope" docker
hold "$T.slice/libpod-conmon-${CONMON_ID}.scope" conmon
sleep 0.3
for p in "${pids[@]}"; do echo "FACT ino$p $(stat -L -c %i /proc/$p/ns/net)"; done
echo "=== walk"; $R -j list --all-runtimes; echo "rc=$?"
echo "=== walk-trace"; strace -f -e trace=openat -o "$SBX/trace" $R list --all-runtimes >/dev/null 2>&1
grep -c 'cgroup.procs' "$SBX/trace"; grep -cE '"[0-9]+/cgroup"' "$SBX/trace"
# Without the hierarchy (unmounted in a mount namespace of its own, so
# that this script keeps it): each /proc/PID/cgroup is read instead.
unshare -m --propagation private bash -c '
umount -l "$1" || exit 83
echo "=== procs"; "$2" -j list --all-runtimes; echo "rc=$?"
echo "=== procs-trace"; strace -f -e trace=openat -o "$3/trace" "$2" list --all-runtimes >/dev/null 2>&1
grep -c cgroup.procs "$3/trace"; grep -cE "\"[0-9]+/cgroup\"" "$3/trace"' - "$mnt" "$R" "$SBX" || exit 83
# Docker's own state for the docker scope's container: its sandbox file
# and PID agree, so its cgroup need not be read unless some process is in
# a namespace no runtime's state explains.
mkdir -p /run/docker/netns /var/lib/docker/containers/${DOCKER_ID} || exit 84
touch /run/docker/netns/abcdef123456 && mount --bind /proc/$pid_docker/ns/net /run/docker/netns/abcdef123456 || exit 84
printf '{"ID":"'"${DOCKER_ID}"'","Name":"/dk","State":{"Running":true,"Pid":%s},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/abcdef123456"}}' $pid_docker >/var/lib/docker/containers/${DOCKER_ID}/config.v2.json
docker_read() {
  echo "=== $1"; strace -f -e trace=openat -o "$SBX/trace" $R -j list --all-runtimes; echo "rc=$?"
  grep -c 'docker-'"${DOCKER_ID}"'.scope/cgroup.procs' "$SBX/trace"
}
docker_read unexplained  # the lxc and conmon processes' namespaces
kill $pid_lxc $pid_lxcsub $pid_conmon; wait $pid_lxc $pid_lxcsub $pid_conmon 2>/dev/null
docker_read explained
hold "$T.slice/docker-${DOCKER_ID}.scope" nested
sleep 0.3
echo "FACT ino$pid_nested $(stat -L -c %i /proc/$pid_nested/ns/net)"
docker_read nested
echo "=== end"
