# The good containers every row of tests/hardening_runtime_state.rs must
# still find, and the victim namespace the hostile files point at, which
# must stay unowned. Set by the test: CNI_NS CRIO_NS C_GOOD D_EVIL D_GOOD
# O_EVIL O_GOOD PODMAN_NS P_EVIL P_GOOD P_POD.
mount -t tmpfs sbx-varlib /var/lib || exit 89
ip netns add victim
ip netns add dgood
mkdir -p /run/docker/netns && touch /run/docker/netns/0123456789ab
mount --bind /run/netns/dgood /run/docker/netns/0123456789ab
C=/var/lib/docker/containers; mkdir -p $C/${D_GOOD} $C/${D_EVIL}
echo '{"ID":"'"${D_GOOD}"'","Name":"/good-docker","State":{"Running":true,"Pid":0},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/0123456789ab"}}' >$C/${D_GOOD}/config.v2.json
echo '{}' >$C/${D_GOOD}/hostconfig.json
ip netns add ${PODMAN_NS}
S=/var/lib/containers/storage/overlay-containers; mkdir -p $S/${P_GOOD}/userdata $S/${P_EVIL}/userdata
echo '[{"id":"'"${P_GOOD}"'","names":["good-podman"]}]' >$S/containers.json
# In a pod, so that libpod's bolt_state.db (read only for pod names) is read.
echo '{"annotations":{"io.container.manager":"libpod"},"linux":{"cgroupsPath":"/libpod_parent/'"${P_POD}"'/libpod-'"${P_GOOD}"'","namespaces":[{"type":"network","path":"/run/netns/'"${PODMAN_NS}"'"}]}}' >$S/${P_GOOD}/userdata/config.json
mkdir -p /var/lib/containers/storage/libpod
printf 'xx{"id":"'"${P_POD}"'","name":"goodpod","labels":{}}xx' >/var/lib/containers/storage/libpod/bolt_state.db
ip netns add ${CNI_NS}
T=/run/containerd/io.containerd.runtime.v2.task; mkdir -p $T/k8s.io/${C_GOOD} $T/k8s.io/evil
echo '{"annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"'"${C_GOOD}"'","io.kubernetes.cri.sandbox-name":"good-containerd","io.kubernetes.cri.sandbox-namespace":"default"},"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/'"${CNI_NS}"'"}]}}' >$T/k8s.io/${C_GOOD}/config.json
ip netns add ${CRIO_NS}
O=/run/containers/storage/overlay-containers; mkdir -p $O/${O_GOOD}/userdata $O/${O_EVIL}/userdata
echo '{"annotations":{"io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":"good-crio","io.kubernetes.pod.namespace":"kube-system"},"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/'"${CRIO_NS}"'"}]}}' >$O/${O_GOOD}/userdata/config.json
