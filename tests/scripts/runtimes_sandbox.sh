# The hand-built runtime state of tests/runtimes_sandbox.rs, run by it in
# a sandbox (tests/support/sandbox.rs). Set by the test: RNETNS and the
# ids named in its with_vars call.
R=${RNETNS}
mount -t tmpfs sbx-varlib /var/lib || exit 89
ino() { stat -L -c %i "$1"; }
hold() { unshare -n sleep 1000 >/dev/null 2>&1 & echo $!; }
fact() { echo "FACT $1 $2"; }
fact hostino "$(ino /proc/self/ns/net)"

# iproute2: a name with an nsid, and a stale placeholder
ip netns add blue && ip netns set blue 7
touch /run/netns/stale
fact blue "$(ino /run/netns/blue)"

# docker: a running container placed through its sandbox key (its PID's
# cgroup is not docker's here), `default`, a stale sandbox file, and a
# malformed, a huge and an escaping config
D=$(hold); sleep 0.2; fact dpid $D; fact dino "$(ino /proc/$D/ns/net)"
mkdir -p /run/docker/netns /var/lib/docker/containers
touch /run/docker/netns/0123456789ab /run/docker/netns/default /run/docker/netns/deadbeef0000
mount --bind /proc/$D/ns/net /run/docker/netns/0123456789ab
mount --bind /proc/1/ns/net /run/docker/netns/default
C=/var/lib/docker/containers
mkdir -p $C/${DOCKER_ID} $C/${DOCKER_BAD} $C/${DOCKER_HUGE} $C/${DOCKER_ESC}
cat >$C/${DOCKER_ID}/config.v2.json <<EOF
{"ID":"${DOCKER_ID}","Name":"/web","State":{"Running":true,"Pid":$D},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}
EOF
printf '{"ID":"'"${DOCKER_BAD}"'","Name":"/tru' >$C/${DOCKER_BAD}/config.v2.json
truncate -s 17M $C/${DOCKER_HUGE}/config.v2.json
ln -s /etc/hostname $C/${DOCKER_ESC}/config.v2.json

# podman rootful: a container in a pod, named by containers.json and the
# bolt database, placed through its spec's netns path
ip netns add ${PODMAN_NS}; fact pino "$(ino /run/netns/${PODMAN_NS})"
S=/var/lib/containers/storage/overlay-containers
mkdir -p $S/${PODMAN_ID}/userdata /var/lib/containers/storage/libpod /run/containers/storage/overlay-containers/${PODMAN_ID}/userdata
echo '[{"id":"'"${PODMAN_ID}"'","names":["p-web"]}]' >$S/containers.json
echo '{"ociVersion":"1.0.2","annotations":{"io.container.manager":"libpod"},"linux":{"cgroupsPath":"/libpod_parent/'"${POD_ID}"'/libpod-'"${PODMAN_ID}"'","namespaces":[{"type":"network","path":"/run/netns/'"${PODMAN_NS}"'"}]}}' >$S/${PODMAN_ID}/userdata/config.json
printf 'xx{"id":"'"${POD_ID}"'","name":"mypod","labels":{}}xx' >/var/lib/containers/storage/libpod/bolt_state.db
echo 999999 >/run/containers/storage/overlay-containers/${PODMAN_ID}/userdata/pidfile

# containerd CRI: a pod sandbox task, a truncated task, docker's moby task
ip netns add ${CNI_NS}; fact cino "$(ino /run/netns/${CNI_NS})"
T=/run/containerd/io.containerd.runtime.v2.task
mkdir -p $T/k8s.io/${CRI_SANDBOX} $T/k8s.io/broken $T/moby/${DOCKER_ID}
echo '{"annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"'"${CRI_SANDBOX}"'","io.kubernetes.cri.sandbox-name":"nginx","io.kubernetes.cri.sandbox-namespace":"default"},"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/'"${CNI_NS}"'"}]}}' >$T/k8s.io/${CRI_SANDBOX}/config.json
printf '{"annotations":{' >$T/k8s.io/broken/config.json
echo '{"annotations":{},"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/'"${CNI_NS}"'"}]}}' >$T/moby/${DOCKER_ID}/config.json

# CRI-O: a pod sandbox pinned under a bare UUID
ip netns add ${CRIO_NS}; fact oino "$(ino /run/netns/${CRIO_NS})"
O=/run/containers/storage/overlay-containers/${CRIO_ID}/userdata
mkdir -p $O
echo '{"annotations":{"io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":"dns","io.kubernetes.pod.namespace":"kube-system"},"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/'"${CRIO_NS}"'"}]}}' >$O/config.json

# neutron
ip netns add qrouter-${ROUTER_UUID}; fact qino "$(ino /run/netns/qrouter-${ROUTER_UUID})"

# rootless podman: the namespace is mounted only in the pause process's
# mount namespace; the host view has an empty file. The user makes her
# own user, mount and network namespaces (only a namespace the user owns
# counts for her: README "Trust", tests/trust.rs).
mkdir -p /run/user/1001/netns /run/user/1001/libpod/tmp
touch /run/user/1001/netns/netns-aa-bb-cc-dd-ee
chown -R 1001:1001 /run/user/1001
setpriv --reuid 1001 --regid 1001 --clear-groups unshare -Urm --propagation private sh -c 'exec unshare -n sh -c "mount --bind /proc/self/ns/net /run/user/1001/netns/netns-aa-bb-cc-dd-ee && exec sleep 1000"' >/dev/null 2>&1 &
P=$!; echo $P >/run/user/1001/libpod/tmp/pause.pid; fact pause $P; fact rlpid $P
for i in $(seq 50); do [ "$(readlink /proc/$P/exe)" = "$(command -v sleep)" ] && break; sleep 0.1; done
fact rlino "$(ino /proc/$P/ns/net)"

# a namespace held only by a process
X=$(hold); sleep 0.2; fact xpid $X; fact xino "$(ino /proc/$X/ns/net)"

echo "=== plain"; $R list --all-runtimes 2>&1; echo "rc=$?"
echo "=== json"; $R -j list --all-runtimes 2>/dev/null; echo "rc=$?"
echo "=== pretty"; $R -j -p identify --all-runtimes $D 2>/dev/null; echo "rc=$?"
echo "=== identify"; $R identify --all-runtimes $X 2>/dev/null; echo "rc=$?"
echo "=== refs"
$R pids docker:web; $R pids docker:0a1b; $R pids pid:$X
$R exec docker:web sh -c 'stat -L -c %i /proc/self/ns/net'
$R exec /run/docker/netns/0123456789ab sh -c 'stat -L -c %i /proc/self/ns/net'
ip() { PATH=$SBX/ipbin:$PATH command ip "$@"; }
mkdir -p $SBX/ipbin && ln -sf $R $SBX/ipbin/ip
ip netns exec /run/docker/netns/0123456789ab true 2>&1; echo "ip-path rc=$?"
$R exec docker:nothere true 2>&1; echo "rc=$?"
$R exec /etc/hostname true 2>&1; echo "rc=$?"
mkfifo $SBX/fifo; timeout 10 $R exec $SBX/fifo true 2>&1 | sed "s|$SBX|SBX|"; echo "fifo rc=${PIPESTATUS[0]}"
$R attach web2 docker:web; echo "attach rc=$?"
$R identify docker:web
$R set podman:p-web 9; echo "set rc=$?"
$R list
echo "=== nonroot"; setpriv --reuid 1002 --regid 1002 --clear-groups $R -j list --all-runtimes >/dev/null; echo "rc=$?"
