# README "Trust": the scenario of tests/trust.rs, run by it in a sandbox
# (tests/support/sandbox.rs). Set by the test: RNETNS, and the container
# ids WEB DB KT MINE DUP_ROOT DUP_USER ESC EVIL CACHE CACHE_USER;
# cgroup_hierarchy.sh runs first.
R=${RNETNS}
mount -t tmpfs sbx-varlib /var/lib || exit 89
mount -t tmpfs sbx-home /home || exit 89
ino() { stat -L -c %i "$1"; }
fact() { echo "FACT $1 $2"; }
fact hostino "$(ino /proc/self/ns/net)"
echo 'mallory:x:1001:1001::/home/mallory:/bin/sh' >>/etc/passwd
echo 'mallory:200000:65536' >/etc/subuid

# $mnt: the container hierarchy (cgroup_hierarchy.sh, run before this).
CG="$mnt/rnetns-trust-$$"
cleanup() { kill $PROOT $KTP $PAUSE $M2 $MH 2>/dev/null; wait 2>/dev/null; sleep 0.2; rmdir "$CG/docker-${WEB}.scope" "$CG/libpod-${CACHE}.scope" "$CG" 2>/dev/null; }
trap cleanup EXIT

# Root's namespace `prod`, and a root process in it whose cgroup path
# holds web's id.
ip netns add prod; fact prodino "$(ino /run/netns/prod)"
ip netns exec prod sleep 1000 >/dev/null 2>&1 & PROOT=$!
mkdir -p "$CG/docker-${WEB}.scope" || exit 81
echo $PROOT >"$CG/docker-${WEB}.scope/cgroup.procs" || exit 82
fact proot $PROOT

# A root process in root cgroups only, in the caller's own namespace: what
# kthreadd (PID 2) looks like to a cgroup check.
# The root of every mounted hierarchy (v1 controllers, v2 or v1's
# unified), from mountinfo.
roots=$(awk '{ for (i = 7; i <= NF && $i != "-"; i++) ; t = $(i+1);
  if ($4 == "/" && (t == "cgroup" || t == "cgroup2")) print $5 }' /proc/self/mountinfo)
toroot() { for m in $roots; do echo $1 >"$m/cgroup.procs" 2>/dev/null; done; }
sleep 1000 >/dev/null 2>&1 & KTP=$!
toroot $KTP
awk -F: '$3 != "/" { bad = 1 } END { exit bad }' /proc/$KTP/cgroup || { echo "could not move $KTP to the root cgroups" >&2; cat /proc/$KTP/cgroup >&2; exit 83; }
fact ktp $KTP

# Rootful podman: `dup`, placed through its spec's netns path.
ip netns add rootdup; fact rootdupino "$(ino /run/netns/rootdup)"
S=/var/lib/containers/storage/overlay-containers
mkdir -p $S/${DUP_ROOT}/userdata
echo '[{"id":"'"${DUP_ROOT}"'","names":["dup"]}]' >$S/containers.json
echo '{"annotations":{"io.container.manager":"libpod"},"linux":{"namespaces":[{"type":"network","path":"/run/netns/rootdup"}]}}' >$S/${DUP_ROOT}/userdata/config.json
# ... and `cache`, stopped, whose id a process of mallory's, in a
# namespace of hers, carries in its cgroup's name.
mkdir -p $S/${CACHE}/userdata
echo '[{"id":"'"${DUP_ROOT}"'","names":["dup"]},{"id":"'"${CACHE}"'","names":["cache"]}]' >$S/containers.json
echo '{"annotations":{"io.container.manager":"libpod"}}' >$S/${CACHE}/userdata/config.json
setpriv --reuid 1001 --regid 1001 --clear-groups unshare -Urn sleep 1000 >/dev/null 2>&1 & M2=$!
for i in $(seq 50); do [ "$(readlink /proc/$M2/exe)" = "$(command -v sleep)" ] && break; sleep 0.1; done
mkdir -p "$CG/libpod-${CACHE}.scope" && echo $M2 >"$CG/libpod-${CACHE}.scope/cgroup.procs" || exit 86
fact m2ino "$(ino /proc/$M2/ns/net)"

# mallory's run dir (as logind makes it) and her pause process: her own
# user, mount and network namespaces, made by her, unprivileged. In its
# mount namespace she binds the host's namespace (her process's before
# `unshare -n`) and then her own into her netns dir.
U=/run/user/1001
mkdir -p $U/netns $U/libpod/tmp $U/containers
touch $U/netns/netns-host $U/netns/netns-mine "$U/netns/x$(printf '\033[2J\007')"
chown -R 1001:1001 $U
chmod 700 $U
setpriv --reuid 1001 --regid 1001 --clear-groups unshare -Urm --propagation private sh -c '
  mount --bind /proc/self/ns/net /run/user/1001/netns/netns-host || exit 1
  exec unshare -n sh -c "mount --bind /proc/self/ns/net /run/user/1001/netns/netns-mine &&
    mount --bind /proc/self/ns/net \"/run/user/1001/netns/x$(printf "\033[2J\007")\" && exec sleep 1000"' >/dev/null 2>&1 &
PAUSE=$!
for i in $(seq 50); do [ "$(readlink /proc/$PAUSE/exe)" = "$(command -v sleep)" ] && break; sleep 0.1; done
[ "$(awk '/^Uid:/ {print $2}' /proc/$PAUSE/status)" = 1001 ] || { echo "pause is not uid 1001" >&2; exit 84; }
[ "$(ino /proc/$PAUSE/ns/net)" != "$(ino /proc/self/ns/net)" ] || { echo "pause has no netns" >&2; exit 85; }
echo $PAUSE >$U/libpod/tmp/pause.pid
fact pause $PAUSE; fact mineino "$(ino /proc/$PAUSE/ns/net)"
# Rootless containers on cgroup v1 stay in root cgroups (see
# procs::pid_runs_rootless): put mallory's pause there too.
toroot $PAUSE

# mallory's storage: the planted containers and her own.
H=/home/mallory/.local/share/containers/storage/overlay-containers
RU=$U/containers/overlay-containers
lib='"annotations":{"io.container.manager":"libpod"}'
for id in ${WEB} ${DB} ${KT} ${MINE} ${DUP_USER} ${ESC} ${EVIL} ${CACHE_USER}; do mkdir -p $H/$id/userdata $RU/$id/userdata; done
cat >$H/containers.json <<EOF
[{"id":"${WEB}","names":["web"]},{"id":"${DB}","names":["db"]},{"id":"${KT}","names":["kt"]},
 {"id":"${MINE}","names":["mine"]},{"id":"${DUP_USER}","names":["dup"]},
 {"id":"${ESC}","names":["\u001b[2Jx"]},{"id":"${CACHE_USER}","names":["cache"]},{"id":"${EVIL}","names":["evil\u001b]0;pwned\u0007"]}]
EOF
for id in ${WEB} ${KT} ${MINE} ${DUP_USER} ${ESC} ${EVIL} ${CACHE_USER}; do echo "{$lib}" >$H/$id/userdata/config.json; done
echo "{$lib,\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/$PROOT/ns/net\"}]}}" >$H/${DB}/userdata/config.json
sed -i 's/"annotations":{/"annotations":{"io.kubernetes.cri-o.SandboxID":"'"${WEB}"'",/' $H/${DB}/userdata/config.json
echo $PROOT >$RU/${WEB}/userdata/pidfile
echo $KTP >$RU/${EVIL}/userdata/pidfile
echo $KTP >$RU/${KT}/userdata/pidfile
for id in ${MINE} ${DUP_USER} ${ESC} ${CACHE_USER}; do echo $PAUSE >$RU/$id/userdata/pidfile; done
# Her docker.pid names a process of hers in a netns root made (nothing
# else names it): a rootless dockerd's netns is her docker's only if she
# made it.
unshare -n setpriv --reuid 1001 --regid 1001 --clear-groups sleep 1000 >/dev/null 2>&1 & MH=$!
for i in $(seq 50); do [ "$(readlink /proc/$MH/exe)" = "$(command -v sleep)" ] && break; sleep 0.1; done
echo $MH >$U/docker.pid
fact mh $MH
fact mhino "$(ino /proc/$MH/ns/net)"
chown -R 1001:1001 /home/mallory $U

echo "=== json"; $R -j list --all-runtimes 2>$SBX/json.err; echo "rc=$?"
echo "=== json-err"; cat $SBX/json.err
for ref in web db kt; do
  echo "=== exec-$ref"; $R exec podman:$ref sh -c 'echo RAN; stat -L -c %i /proc/self/ns/net' 2>&1; echo "rc=$?"
done
echo "=== exec-cache"; $R exec podman:cache sh -c 'echo RAN' 2>&1; echo "rc=$?"
echo "=== exec-mine"; $R exec podman:mine sh -c 'stat -L -c %i /proc/self/ns/net' 2>/dev/null; echo "rc=$?"
echo "=== exec-dup"; $R exec podman:dup sh -c 'echo RAN' 2>&1; echo "rc=$?"
echo "=== exec-user-dup"; $R exec podman:mallory/dup sh -c 'stat -L -c %i /proc/self/ns/net' 2>/dev/null; echo "rc=$?"
echo "=== exec-uid-dup"; $R exec podman:1001/dup sh -c 'stat -L -c %i /proc/self/ns/net' 2>/dev/null; echo "rc=$?"
echo "=== exec-root-dup"; $R exec podman:root/dup sh -c 'stat -L -c %i /proc/self/ns/net' 2>/dev/null; echo "rc=$?"
echo "=== pids-dup"; $R pids podman:dup 2>&1; echo "rc=$?"
echo "=== ip-qualified"; ln -sf $R $SBX/ip; $SBX/ip netns exec podman:mallory/dup true 2>&1; echo "rc=$?"
echo "=== attach-web"; $R attach stolen podman:web 2>&1; echo "rc=$?"; ls /run/netns
# Every plain view, raw bytes to files for the escape check.
mkdir -p $SBX/views
$R list --all-runtimes >$SBX/views/list.out 2>$SBX/views/list.err
$R identify --all-runtimes $PAUSE >$SBX/views/identify.out 2>$SBX/views/identify.err
$R exec "podman:[2Jy" true >$SBX/views/near.out 2>$SBX/views/near.err
$R exec "podman:$(printf '\033]0;x\007')" true >$SBX/views/word.out 2>$SBX/views/word.err
$R pids "podman:evil$(printf '\033]0;pwned\007')" >$SBX/views/pids.out 2>$SBX/views/pids.err
$R exec podman:dup true >$SBX/views/dup.out 2>$SBX/views/dup.err
echo "=== plain"; cat $SBX/views/list.out
echo "=== near"; cat $SBX/views/near.err
