//! Kubernetes through containerd's CRI, for real (README runtime table, part 1):
//! Debian's containerd (its built-in `io.containerd.grpc.v1.cri` plugin)
//! with containernetworking-plugins, driven the way kubelet drives it, by
//! a CRI client written here with the `k8s-cri` bindings: RunPodSandbox,
//! CreateContainer and StartContainer for two pods in two Kubernetes
//! namespaces (one with two containers) and a hostNetwork pod, plus a
//! plain `ctr run` task in containerd's `default` namespace. Then
//! `rnetns -j list --all-runtimes` must list each with the right runtime,
//! name, pod and PIDs, checked against the CRI's own PodSandboxStatus and
//! ContainerStatus (verbose: the PID), and `exec k8s:NS/POD` and
//! `exec k8s:NS/POD/CONTAINER` must enter the pod's namespace. `doctor`
//! must find nothing wrong.
//!
//! The test runs in the host mount namespace (containerd cannot run in the
//! sandbox) under containerd's default state dir, `/run/containerd`, the
//! one every node has and rnetns reads, with its own socket, root dir, CNI
//! config (a bridge `rnetnscri0` with host-local IPAM; containerd adds the
//! loopback plugin itself) and sandbox image (a busybox image built here
//! as an OCI layout, no registry). It refuses to run when /run/containerd
//! already exists (someone's containerd). A guard tears down exactly what
//! it made, even when an assertion fails: pods through the CRI, the ctr
//! task, the containerd it started (by PID), the bridge, the dirs it
//! created, ip_forward; then the test checks the host is as it was (nsfs
//! mounts, /run/netns entries, links, no shim of ours).
//!
//! Setup notes for these machines (shared/reference/container-runtimes.md):
//! `restrict_oom_score_adj = true` (negative oom_score_adj is refused
//! even to root here), `snapshotter = "native"`, no hostname for a
//! hostNetwork pod.
//!
//! Without root or the packages it is ignored with "SKIP: ..."
//! (tests/support/skip.rs); under `CI=true` that is a failure, as is a
//! containerd that will not start (its log is printed).

#[path = "support/run.rs"]
mod run;
#[path = "support/runtime_host.rs"]
mod runtime_host;
#[path = "support/sandbox.rs"]
mod sandbox;
#[path = "support/skip.rs"]
mod skip;

use k8s_cri::v1 as cri;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use libtest_mimic::{Arguments, Failed};
use runtime_host::{
    cmd, enters, has, list_all, listed, names_in, netns_ino, ok, pids_match, quiet, rnetns,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const STATE: &str = "/run/containerd";
const SOCK: &str = "/run/containerd/rnetns-cri.sock";
const IMG: &str = "localhost/rnetns-busybox:latest";
const BRIDGE: &str = "rnetnscri0";
const LABEL: (&str, &str) = ("rnetns-test", "1");

fn state_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rnetns-cri")
}

fn main() {
    let args = Arguments::from_args();
    let missing = runtime_host::missing(
        &["containerd", "ctr", "runc", "busybox", "sha256sum"],
        &[
            "/usr/lib/cni/bridge",
            "/usr/lib/cni/host-local",
            "/usr/lib/cni/loopback",
        ],
    );
    let trial = runtime_host::trial("real_containerd_cri", missing, real_cri);
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn ctr(ns: &str, args: &[&str]) -> Result<String, Failed> {
    let mut a = vec!["ctr", "--address", SOCK, "-n", ns];
    a.extend_from_slice(args);
    ok(&a)
}

// ---- the image: a busybox OCI layout, imported with ctr ----

fn sha256(path: &Path) -> Result<(String, u64), Failed> {
    let out = ok(&["sha256sum", &path.display().to_string()])?;
    let hex = out
        .split_whitespace()
        .next()
        .ok_or("sha256sum")?
        .to_string();
    Ok((hex, std::fs::metadata(path)?.len()))
}

/// Writes `bytes` as a blob of the layout at `oci`; returns its digest and size.
fn blob(oci: &Path, src: &Path) -> Result<(String, u64), Failed> {
    let (hex, size) = sha256(src)?;
    std::fs::copy(src, oci.join("blobs/sha256").join(&hex))?;
    Ok((hex, size))
}

fn build_image() -> Result<PathBuf, Failed> {
    let d = state_dir();
    let root = d.join("rootfs");
    let oci = d.join("oci");
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&oci);
    for sub in ["bin", "proc", "sys", "dev", "etc", "tmp", "run"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    std::fs::create_dir_all(oci.join("blobs/sha256"))?;
    let busybox = ok(&["sh", "-c", "command -v busybox"])?;
    std::fs::copy(busybox.trim(), root.join("bin/busybox"))?;
    for a in ["sh", "sleep", "ip", "cat", "readlink"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a))?;
    }
    let layer = d.join("layer.tar");
    let (r, l) = (root.display().to_string(), layer.display().to_string());
    ok(&["tar", "-C", &r, "--owner=0", "--group=0", "-cf", &l, "."])?;
    let (lhex, lsize) = blob(&oci, &layer)?;
    let config = d.join("image-config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/bin/sleep","100000"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{lhex}"]}}}}"#
        ),
    )?;
    let (chex, csize) = blob(&oci, &config)?;
    let manifest = d.join("image-manifest.json");
    std::fs::write(
        &manifest,
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{chex}","size":{csize}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{lhex}","size":{lsize}}}]}}"#
        ),
    )?;
    let (mhex, msize) = blob(&oci, &manifest)?;
    std::fs::write(
        oci.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{mhex}","size":{msize},"annotations":{{"io.containerd.image.name":"{IMG}","org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        ),
    )?;
    std::fs::write(oci.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let tar = d.join("image.tar");
    let (o, t) = (oci.display().to_string(), tar.display().to_string());
    ok(&["tar", "-C", &o, "-cf", &t, "."])?;
    Ok(tar)
}

// ---- containerd ----

fn write_config() -> Result<PathBuf, Failed> {
    let d = state_dir();
    let netd = d.join("net.d");
    std::fs::create_dir_all(&netd)?;
    std::fs::write(
        netd.join("10-rnetns.conflist"),
        format!(
            r#"{{"cniVersion":"1.0.0","name":"rnetns-cri","plugins":[{{"type":"bridge","bridge":"{BRIDGE}","isGateway":true,"ipMasq":false,"ipam":{{"type":"host-local","ranges":[[{{"subnet":"10.244.77.0/24"}}]],"dataDir":"{}"}}}}]}}"#,
            d.join("ipam").display()
        ),
    )?;
    let cfg = d.join("containerd.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"version = 2
root = "{root}"
state = "{STATE}"
[grpc]
  address = "{SOCK}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{IMG}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{netd}"
"#,
            root = d.join("root").display(),
            netd = netd.display()
        ),
    )?;
    Ok(cfg)
}

/// The containerd this test started, stopped by its PID on drop.
struct Containerd {
    pid: nix::unistd::Pid,
}

impl Containerd {
    fn start(cfg: &Path) -> Result<Containerd, Failed> {
        let log = state_dir().join("containerd.log");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(cfg)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(state_dir().join("containerd.err"))?)
            .spawn()
            .map_err(|e| format!("cannot start containerd: {e}"))?;
        let me = Containerd {
            pid: nix::unistd::Pid::from_raw(child.id() as i32),
        };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            if cmd(&["ctr", "--address", SOCK, "version"]).status.success() {
                return Ok(me);
            }
            if let Ok(nix::sys::wait::WaitStatus::Exited(..)) =
                nix::sys::wait::waitpid(me.pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let err = std::fs::read_to_string(state_dir().join("containerd.err")).unwrap_or_default();
        Err(format!("containerd did not start:\n{err}").into())
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::sys::wait::{waitpid, WaitPidFlag};
        let _ = kill(self.pid, Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) && kill(self.pid, None).is_ok() {
            let _ = waitpid(self.pid, Some(WaitPidFlag::WNOHANG));
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        let _ = waitpid(self.pid, None);
    }
}

// ---- the CRI client ----

struct Cri {
    rt: tokio::runtime::Runtime,
    runtime: RuntimeServiceClient<Channel>,
}

impl Cri {
    fn connect() -> Result<Cri, Failed> {
        use hyper_util::rt::TokioIo;
        use tonic::transport::{Endpoint, Uri};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let channel = rt.block_on(async {
            Endpoint::try_from("http://[::]:50051")?
                .connect_with_connector(tower::service_fn(|_: Uri| async {
                    let s = tokio::net::UnixStream::connect(SOCK).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(s))
                }))
                .await
        })?;
        Ok(Cri {
            rt,
            runtime: RuntimeServiceClient::new(channel),
        })
    }
}

fn labels() -> HashMap<String, String> {
    HashMap::from([(LABEL.0.to_string(), LABEL.1.to_string())])
}

struct PodSpec {
    ns: &'static str,
    name: &'static str,
    host_network: bool,
    containers: &'static [&'static str],
}

const PODS: [PodSpec; 3] = [
    PodSpec {
        ns: "rnt-ns1",
        name: "rnt-web",
        host_network: false,
        containers: &["app", "sidecar"],
    },
    PodSpec {
        ns: "rnt-ns2",
        name: "rnt-db",
        host_network: false,
        containers: &["db"],
    },
    PodSpec {
        ns: "rnt-ns2",
        name: "rnt-hostnet",
        host_network: true,
        containers: &["agent"],
    },
];

/// What kubelet would send for `p` (cgroupfs driver, BestEffort QoS).
fn sandbox_config(p: &PodSpec, uid: &str) -> cri::PodSandboxConfig {
    let network = if p.host_network {
        cri::NamespaceMode::Node
    } else {
        cri::NamespaceMode::Pod
    };
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: p.name.into(),
            uid: uid.into(),
            namespace: p.ns.into(),
            attempt: 0,
        }),
        // A hostNetwork pod must not set a hostname.
        hostname: if p.host_network {
            String::new()
        } else {
            p.name.into()
        },
        labels: labels(),
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: format!("/kubepods/besteffort/pod{uid}"),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(cri::NamespaceOption {
                    network: network as i32,
                    pid: cri::NamespaceMode::Container as i32,
                    ipc: cri::NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

struct Pod {
    spec: &'static PodSpec,
    id: String,
    /// (container name, container id)
    containers: Vec<(&'static str, String)>,
}

fn run_pods(cri: &mut Cri) -> Result<Vec<Pod>, Failed> {
    let mut pods = Vec::new();
    for (i, p) in PODS.iter().enumerate() {
        let uid = format!("4a1f0c2e-0000-4000-8000-00000000000{i}");
        let config = sandbox_config(p, &uid);
        let id = cri
            .rt
            .block_on(cri.runtime.run_pod_sandbox(cri::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            }))?
            .into_inner()
            .pod_sandbox_id;
        let mut pod = Pod {
            spec: p,
            id: id.clone(),
            containers: Vec::new(),
        };
        for c in p.containers {
            let cfg = cri::ContainerConfig {
                metadata: Some(cri::ContainerMetadata {
                    name: (*c).into(),
                    attempt: 0,
                }),
                image: Some(cri::ImageSpec {
                    image: IMG.into(),
                    ..Default::default()
                }),
                command: vec!["/bin/sleep".into(), "100000".into()],
                labels: labels(),
                linux: Some(cri::LinuxContainerConfig {
                    security_context: Some(cri::LinuxContainerSecurityContext {
                        namespace_options: config
                            .linux
                            .as_ref()
                            .and_then(|l| l.security_context.as_ref())
                            .and_then(|s| s.namespace_options.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let cid = cri
                .rt
                .block_on(cri.runtime.create_container(cri::CreateContainerRequest {
                    pod_sandbox_id: id.clone(),
                    config: Some(cfg),
                    sandbox_config: Some(config.clone()),
                }))?
                .into_inner()
                .container_id;
            cri.rt
                .block_on(cri.runtime.start_container(cri::StartContainerRequest {
                    container_id: cid.clone(),
                }))?;
            pod.containers.push((c, cid));
        }
        pods.push(pod);
    }
    Ok(pods)
}

/// The PID in a verbose status's `info["info"]` JSON.
fn info_pid(info: &HashMap<String, String>) -> Result<u64, Failed> {
    let v: Value = serde_json::from_str(info.get("info").ok_or("no info")?)?;
    Ok(v["pid"].as_u64().ok_or("no pid in info")?)
}

/// What the CRI says about a pod: (pod ns/name, sandbox pid, pod IP) and
/// each container's (name, id, pid).
struct Status {
    pod: String,
    pid: u64,
    ip: String,
    containers: Vec<(String, String, u64)>,
}

fn status(cri: &mut Cri, pod: &Pod) -> Result<Status, Failed> {
    let r = cri
        .rt
        .block_on(
            cri.runtime
                .pod_sandbox_status(cri::PodSandboxStatusRequest {
                    pod_sandbox_id: pod.id.clone(),
                    verbose: true,
                }),
        )?
        .into_inner();
    let st = r.status.ok_or("no status")?;
    let md = st.metadata.ok_or("no metadata")?;
    let mut out = Status {
        pod: format!("{}/{}", md.namespace, md.name),
        pid: info_pid(&r.info)?,
        ip: st.network.map(|n| n.ip).unwrap_or_default(),
        containers: Vec::new(),
    };
    for (_, cid) in &pod.containers {
        let r = cri
            .rt
            .block_on(cri.runtime.container_status(cri::ContainerStatusRequest {
                container_id: cid.clone(),
                verbose: true,
            }))?
            .into_inner();
        let st = r.status.ok_or("no container status")?;
        let name = st.metadata.ok_or("no container metadata")?.name;
        out.containers.push((name, st.id, info_pid(&r.info)?));
    }
    Ok(out)
}

fn remove_pods(cri: &mut Cri) {
    let Ok(list) = cri
        .rt
        .block_on(cri.runtime.list_pod_sandbox(cri::ListPodSandboxRequest {
            filter: Some(cri::PodSandboxFilter {
                label_selector: labels(),
                ..Default::default()
            }),
        }))
    else {
        return;
    };
    for p in list.into_inner().items {
        let _ = cri
            .rt
            .block_on(cri.runtime.stop_pod_sandbox(cri::StopPodSandboxRequest {
                pod_sandbox_id: p.id.clone(),
            }));
        let _ = cri.rt.block_on(
            cri.runtime
                .remove_pod_sandbox(cri::RemovePodSandboxRequest {
                    pod_sandbox_id: p.id,
                }),
        );
    }
}

// ---- host state, before and after ----

/// What this test's runtime may leave besides what every real-runtime
/// test checks (runtime_host::host): containerd's `cni-` entries, links.
#[derive(Debug, PartialEq)]
struct Host {
    common: runtime_host::Host,
    links: BTreeSet<String>,
}

fn host() -> Host {
    let links = names_in("/sys/class/net")
        .into_iter()
        .filter(|n| n == BRIDGE || n.starts_with("veth"))
        .collect();
    Host {
        common: runtime_host::host(),
        links,
    }
}

fn state_entries() -> BTreeSet<String> {
    names_in(STATE)
}

/// Processes whose command line names our socket (shims, containerd).
fn ours() -> Vec<String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .filter_map(|e| {
            let c = std::fs::read(e.path().join("cmdline")).ok()?;
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            c.contains(SOCK)
                .then(|| format!("{}: {c}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Undoes everything, in Drop, so a failed assertion still cleans up.
struct Guard {
    containerd: Option<Containerd>,
    /// /run/containerd's entries before, if it existed.
    state_before: Option<BTreeSet<String>>,
    run_netns_existed: bool,
    cni_existed: bool,
    ip_forward: Option<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.containerd.is_some() {
            if let Ok(mut cri) = Cri::connect() {
                remove_pods(&mut cri);
            }
            let _ = ctr("default", &["task", "kill", "-s", "KILL", "rnt-plain"]);
            std::thread::sleep(Duration::from_millis(300));
            let _ = ctr("default", &["task", "rm", "-f", "rnt-plain"]);
            let _ = ctr("default", &["container", "rm", "rnt-plain"]);
        }
        drop(self.containerd.take());
        quiet(&["ip", "link", "del", BRIDGE]);
        // What containerd leaves in its state dir (nothing there is
        // mounted once its tasks are gone): the whole dir when we brought
        // it, else only the entries that appeared.
        match &self.state_before {
            None => {
                let _ = std::fs::remove_dir_all(STATE);
            }
            Some(before) => {
                for e in state_entries().difference(before) {
                    let p = Path::new(STATE).join(e);
                    if p.is_dir() {
                        let _ = std::fs::remove_dir_all(p);
                    } else {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
        }
        if !self.run_netns_existed {
            let _ = std::fs::remove_dir("/run/netns");
        }
        if !self.cni_existed {
            let _ = std::fs::remove_dir_all("/var/lib/cni");
        }
        if let Some(v) = &self.ip_forward {
            let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", v);
        }
        let _ = std::fs::remove_dir_all(state_dir().join("root"));
    }
}

fn real_cri() -> Result<(), Failed> {
    let t0 = Instant::now();
    // dockerd's managed containerd (its state is /run/docker/containerd)
    // leaves an empty /run/containerd/s for shim sockets; anything more is
    // another containerd's state.
    let state_before = Path::new(STATE).exists().then(state_entries);
    if state_before
        .as_ref()
        .is_some_and(|e| e.iter().any(|n| n != "s"))
    {
        return Err(format!(
            "{STATE} holds {state_before:?}: another containerd uses containerd's default state dir; not touching it"
        )
        .into());
    }
    std::fs::create_dir_all(state_dir())?;
    let before = host();
    let mut guard = Guard {
        containerd: None,
        state_before: state_before.clone(),
        run_netns_existed: Path::new("/run/netns").exists(),
        cni_existed: Path::new("/var/lib/cni").exists(),
        ip_forward: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").ok(),
    };
    let result = (|| {
        let image = build_image()?;
        let cfg = write_config()?;
        guard.containerd = Some(Containerd::start(&cfg)?);
        let t = image.display().to_string();
        for ns in ["k8s.io", "default"] {
            ctr(ns, &["images", "import", "--snapshotter", "native", &t])?;
        }
        println!("containerd up, image imported: {:?}", t0.elapsed());
        let mut cri = Cri::connect()?;
        let v = cri
            .rt
            .block_on(cri.runtime.version(cri::VersionRequest::default()))?
            .into_inner();
        println!(
            "CRI: {} {} (API {})",
            v.runtime_name, v.runtime_version, v.runtime_api_version
        );
        let pods = run_pods(&mut cri)?;
        ctr(
            "default",
            &["run", "-d", "--snapshotter", "native", IMG, "rnt-plain"],
        )?;
        println!("pods and task running: {:?}", t0.elapsed());
        check(&mut cri, &pods)
    })();
    if let Err(e) = &result {
        let log = std::fs::read_to_string(state_dir().join("containerd.err")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        eprintln!(
            "failed: {e:?}\n--- containerd log (last lines, newest first)\n{}",
            tail.join("\n")
        );
    }
    drop(guard);
    result?;
    let after = host();
    let left = ours();
    let state_after = Path::new(STATE).exists().then(state_entries);
    if state_after != state_before {
        return Err(format!("{STATE}: before {state_before:?}, after {state_after:?}").into());
    }
    runtime_host::unchanged(&before.common)?;
    if after != before || !left.is_empty() {
        return Err(format!(
            "left behind: host before {before:?}, after {after:?}; processes {left:?}"
        )
        .into());
    }
    println!("real containerd CRI test took {:?}", t0.elapsed());
    Ok(())
}

fn check(cri: &mut Cri, pods: &[Pod]) -> Result<(), Failed> {
    let spaces = list_all("containerd CRI")?;
    let has =
        |ns: &Value, id: &str, name: &str, pod: &str| has(ns, "containerd", id, name, Some(pod));
    for pod in pods {
        let st = status(cri, pod)?;
        let want_pod = format!("{}/{}", pod.spec.ns, pod.spec.name);
        assert_eq!(st.pod, want_pod, "PodSandboxStatus metadata");
        let ino = netns_ino(st.pid).ok_or("sandbox pid vanished")?;
        let ns = listed(&spaces, ino, &want_pod)?;
        let owner = if pod.spec.host_network {
            "host"
        } else {
            "containerd"
        };
        if ns["runtime"].as_str() != Some(owner) {
            return Err(format!("{want_pod}: owner {}, want {owner}", ns["runtime"]).into());
        }
        // The sandbox is listed under the pod's name.
        if !has(ns, &pod.id, pod.spec.name, &st.pod) {
            return Err(format!("{want_pod}: sandbox {} not among {ns}", pod.id).into());
        }
        for (name, id, pid) in &st.containers {
            if netns_ino(*pid) != Some(ino) {
                return Err(format!("{want_pod}/{name}: not in the sandbox's netns").into());
            }
            if !has(ns, id, name, &st.pod) {
                return Err(format!("{want_pod}/{name} ({id}) not among {ns}").into());
            }
        }
        if !pod.spec.host_network {
            let want: Vec<u64> = std::iter::once(st.pid)
                .chain(st.containers.iter().map(|c| c.2))
                .collect();
            pids_match(ns, ino, &want, &want_pod)?;
        }
        // The reference enters the pod's namespace, by pod and by container.
        let mut refs = vec![format!("k8s:{want_pod}")];
        refs.extend(
            st.containers
                .iter()
                .map(|c| format!("k8s:{want_pod}/{}", c.0)),
        );
        for r in &refs {
            enters(r, st.pid)?;
        }
        if !pod.spec.host_network {
            let addr = rnetns(&["exec", &refs[0], "ip", "addr"])?;
            if st.ip.is_empty() || !addr.contains(&st.ip) {
                return Err(format!("exec {} ip addr lacks {:?}: {addr}", refs[0], st.ip).into());
            }
        }
        println!(
            "{want_pod}: ok ({} containers, netns {ino})",
            st.containers.len()
        );
    }
    // A missing pod or container is an ordinary "no such namespace".
    let o = cmd(&[
        runtime_host::RNETNS,
        "exec",
        "k8s:rnt-ns1/nosuchpod",
        "true",
    ]);
    if o.status.success() {
        return Err("exec k8s:rnt-ns1/nosuchpod succeeded".into());
    }
    // The plain ctr task in containerd's `default` namespace.
    let pid: u64 = ctr("default", &["task", "ls"])?
        .lines()
        .find(|l| l.starts_with("rnt-plain "))
        .and_then(|l| l.split_whitespace().nth(1))
        .ok_or("rnt-plain not in ctr task ls")?
        .parse()?;
    let ino = netns_ino(pid).ok_or("rnt-plain pid vanished")?;
    let ns = listed(&spaces, ino, "rnt-plain")?;
    let plain_listed = ns["runtime"].as_str() == Some("containerd")
        && ns["containers"].as_array().into_iter().flatten().any(|x| {
            x["id"].as_str() == Some("rnt-plain") && x["runtime"].as_str() == Some("containerd")
        });
    if !plain_listed {
        return Err(format!("ctr task rnt-plain (pid {pid}) not listed right: {ns}").into());
    }
    // doctor finds nothing wrong on a CRI host (support/doctor_ok.rs).
    runtime_host::doctor()
}
