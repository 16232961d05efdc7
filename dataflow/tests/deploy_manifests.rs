//! `sockflow deploy` output parses as the Kubernetes objects it claims to be (typed structs
//! that reject unknown fields and require what the API requires), and the systemd unit has the
//! template shape.

use std::collections::BTreeMap;

use dataflow::config::{self, Substitution};
use dataflow::deploy::{self, DeployOptions};
use dataflow::Registry;
use serde::Deserialize;

const TOPOLOGY: &str = r#"
name: wordcount
config:
  topology.workers: 3
  deploy.cpu: "500m"
  deploy.memory: "256Mi"
spouts:
  - id: gen
    className: Generator
bolts:
  - id: split
    className: Splitter
streams:
  - {from: gen, to: split, grouping: {type: SHUFFLE}}
"#;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Meta {
    name: String,
    namespace: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigMap {
    api_version: String,
    kind: String,
    metadata: Meta,
    data: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServicePort {
    name: String,
    port: u16,
    target_port: u16,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceSpec {
    #[serde(rename = "clusterIP")]
    cluster_ip: String,
    publish_not_ready_addresses: bool,
    selector: BTreeMap<String, String>,
    ports: Vec<ServicePort>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Service {
    api_version: String,
    kind: String,
    metadata: Meta,
    spec: ServiceSpec,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StatefulSet {
    api_version: String,
    kind: String,
    metadata: Meta,
    spec: StatefulSetSpec,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StatefulSetSpec {
    service_name: String,
    replicas: u32,
    pod_management_policy: String,
    selector: Selector,
    template: PodTemplate,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PodTemplate {
    metadata: TemplateMeta,
    spec: PodSpec,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TemplateMeta {
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PodSpec {
    termination_grace_period_seconds: u32,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    args: Vec<String>,
    env: Vec<EnvVar>,
    ports: Vec<ContainerPort>,
    resources: Resources,
    liveness_probe: Probe,
    readiness_probe: Probe,
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvVar {
    name: String,
    value_from: EnvSource,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvSource {
    field_ref: FieldRef,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FieldRef {
    field_path: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContainerPort {
    name: String,
    container_port: u16,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Resources {
    requests: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Probe {
    http_get: HttpGet,
    initial_delay_seconds: u32,
    period_seconds: u32,
    timeout_seconds: u32,
    failure_threshold: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct HttpGet {
    path: String,
    port: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
    read_only: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Volume {
    name: String,
    config_map: ConfigMapRef,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigMapRef {
    name: String,
}

#[test]
fn kubernetes_manifests_are_a_configmap_a_headless_service_and_a_statefulset() {
    let opts = DeployOptions {
        namespace: "stream".into(),
        image: "example/sockflow:1".into(),
        ..DeployOptions::default()
    };
    let out = deploy::kubernetes(TOPOLOGY, &opts).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&out)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 3, "{out}");
    let cm: ConfigMap = serde_yaml::from_value(docs[0].clone()).unwrap();
    let svc: Service = serde_yaml::from_value(docs[1].clone()).unwrap();
    let sts: StatefulSet = serde_yaml::from_value(docs[2].clone()).unwrap();

    assert_eq!((cm.api_version.as_str(), cm.kind.as_str()), ("v1", "ConfigMap"));
    assert_eq!((svc.api_version.as_str(), svc.kind.as_str()), ("v1", "Service"));
    assert_eq!((sts.api_version.as_str(), sts.kind.as_str()), ("apps/v1", "StatefulSet"));
    for m in [&cm.metadata, &svc.metadata, &sts.metadata] {
        assert_eq!(m.namespace, "stream");
        assert_eq!(m.labels.get("app.kubernetes.io/instance").map(String::as_str), Some("wordcount"));
    }

    // The headless service selects the pods and gives them stable names.
    assert_eq!(svc.spec.cluster_ip, "None");
    assert!(svc.spec.publish_not_ready_addresses);
    assert_eq!(svc.spec.selector, sts.spec.selector.match_labels);
    assert_eq!(sts.spec.selector.match_labels, sts.spec.template.metadata.labels);
    assert_eq!(sts.spec.service_name, svc.metadata.name);
    let ports: Vec<(&str, u16)> = svc.spec.ports.iter().map(|p| (p.name.as_str(), p.port)).collect();
    assert_eq!(ports, [("transfer", 7000), ("metrics", 9102)]);
    assert!(svc.spec.ports.iter().all(|p| p.port == p.target_port));

    // One pod per worker; the ordinal is the worker; probes on the metrics endpoint.
    assert_eq!(sts.spec.replicas, 3);
    assert_eq!(sts.spec.pod_management_policy, "Parallel");
    let pod = &sts.spec.template.spec;
    assert!(pod.termination_grace_period_seconds > 0);
    let c = &pod.containers[0];
    assert_eq!(c.name, "sockflow");
    assert_eq!(c.image, "example/sockflow:1");
    assert_eq!(
        c.args,
        ["run", "/etc/sockflow/topology.yaml", "--worker", "$(POD_NAME)", "--metrics", "0.0.0.0:9102"]
    );
    assert_eq!(c.env[0].name, "POD_NAME");
    assert_eq!(c.env[0].value_from.field_ref.field_path, "metadata.name");
    assert!(c.ports.iter().any(|p| p.name == "metrics" && p.container_port == 9102));
    assert!(c.ports.iter().any(|p| p.name == "transfer" && p.container_port == 7000));
    // Liveness: a stuck executor restarts the pod; readiness: starting and draining.
    let probes = [(&c.liveness_probe, "/healthz"), (&c.readiness_probe, "/readyz")];
    for (p, path) in probes {
        assert_eq!((p.http_get.path.as_str(), p.http_get.port.as_str()), (path, "metrics"));
        assert!(p.period_seconds > 0 && p.timeout_seconds > 0 && p.failure_threshold > 0);
    }
    assert!(c.liveness_probe.initial_delay_seconds >= c.readiness_probe.initial_delay_seconds);
    assert_eq!(c.resources.requests.get("cpu").map(String::as_str), Some("500m"));
    assert_eq!(c.resources.requests.get("memory").map(String::as_str), Some("256Mi"));
    assert_eq!(c.volume_mounts[0].name, pod.volumes[0].name);
    assert!(c.volume_mounts[0].read_only);
    assert_eq!(c.volume_mounts[0].mount_path, "/etc/sockflow");
    assert_eq!(pod.volumes[0].config_map.name, cm.metadata.name);

    // The file in the ConfigMap is the topology, with the pods' DNS names as worker addresses,
    // and it still loads.
    let file = &cm.data["topology.yaml"];
    let doc: serde_yaml::Value = serde_yaml::from_str(file).unwrap();
    let workers: Vec<&str> =
        doc["workers"].as_sequence().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(
        workers,
        [
            "wordcount-0.wordcount.stream.svc:7000",
            "wordcount-1.wordcount.stream.svc:7000",
            "wordcount-2.wordcount.stream.svc:7000"
        ]
    );
    assert_eq!(doc["spouts"][0]["id"].as_str(), Some("gen"));
}

#[test]
fn systemd_template_unit_runs_worker_i() {
    let out = deploy::systemd(TOPOLOGY, &DeployOptions::default()).unwrap();
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = None;
    for line in out.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(s.to_owned());
            sections.entry(s.to_owned()).or_default();
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("not key=value: {line}"));
        sections.get_mut(current.as_ref().expect("a section first")).unwrap().insert(k.into(), v.into());
    }
    assert_eq!(sections.keys().collect::<Vec<_>>(), ["Install", "Service", "Unit"]);
    let service = &sections["Service"];
    assert_eq!(
        service["ExecStart"],
        "/usr/local/bin/sockflow run /etc/sockflow/wordcount.yaml --worker %i --metrics 0.0.0.0:9102"
    );
    assert_eq!(service["Restart"], "always");
    assert_eq!(service["KillSignal"], "SIGTERM");
    // Ready once the topology runs; the watchdog (fed while no executor is stuck) runs out
    // after topology.worker.timeout.secs (30 by default).
    assert_eq!(service["Type"], "notify");
    assert_eq!(service["NotifyAccess"], "main");
    assert_eq!(service["WatchdogSec"], "30");
    let stricter = TOPOLOGY
        .replace("  topology.workers: 3", "  topology.workers: 3\n  topology.worker.timeout.secs: 12");
    assert!(deploy::systemd(&stricter, &DeployOptions::default()).unwrap().contains("\nWatchdogSec=12\n"));
    assert_eq!(service["CPUQuota"], "50%");
    assert_eq!(service["MemoryHigh"], (256u64 << 20).to_string());
    // A dynamic user unless the system user sockflow exists (to own secret files).
    assert_eq!((service["User"].as_str(), service["DynamicUser"].as_str()), ("sockflow", "yes"));
    assert!(sections["Unit"]["Description"].contains("%i"));
    assert_eq!(sections["Unit"]["After"], "network-online.target");
    assert_eq!(sections["Install"]["WantedBy"], "multi-user.target");
}

/// The files a topology reads are listed above the unit, for the operator to install and
/// give to the unit's user (secret certificates are readable by their owner only).
#[test]
fn systemd_unit_lists_the_certificate_files_to_install() {
    let text = TOPOLOGY.replace("  topology.workers: 3", "  topology.workers: 3\n  topology.worker.curve.secretkey.file: /etc/sockflow/worker.key")
        .replace(
            "  - id: gen\n    className: Generator\n",
            "  - id: gen\n    className: SocketSpout\n    properties:\n      - {name: type, value: pull}\n      \
             - {name: bind, value: \"tcp://0.0.0.0:5555\"}\n      \
             - {name: curveServer, value: true}\n      \
             - {name: curveSecretKey, value: certs/in.key_secret}\n      \
             - {name: curveClientKeys, value: [certs/clients]}\n",
        );
    let unit = deploy::systemd(&text, &DeployOptions::default()).unwrap();
    for line in [
        "\n#   certs/in.key_secret    (property curveSecretKey of gen)\n",
        "\n#   certs/clients    (property curveClientKeys of gen)\n",
        "\n#   /etc/sockflow/worker.key    (topology.worker.curve.secretkey.file)\n",
        "(useradd --system sockflow; chown sockflow FILE)",
    ] {
        assert!(unit.contains(line), "{line:?}: {unit}");
    }
    assert!(!deploy::systemd(TOPOLOGY, &DeployOptions::default()).unwrap().contains("useradd"));
}

#[test]
fn systemd_itself_accepts_the_unit() {
    // systemd's own parser: an unknown key, a bad value or a missing binary is reported.
    let Ok(out) = std::process::Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIP: no systemd-analyze here (apt-get install systemd)");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let opts = DeployOptions { binary: env!("CARGO_BIN_EXE_sockflow").into(), ..DeployOptions::default() };
    let text = TOPOLOGY
        .replace("  topology.workers: 3", "  topology.workers: 3\n  topology.worker.timeout.secs: 12");
    std::fs::write(dir.path().join("sockflow@.service"), deploy::systemd(&text, &opts).unwrap()).unwrap();
    std::os::unix::fs::symlink("sockflow@.service", dir.path().join("sockflow@1.service")).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "./sockflow@1.service"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
}

#[test]
fn deploy_refuses_names_orchestrators_refuse() {
    let bad = TOPOLOGY.replace("name: wordcount", "name: Word_Count");
    let err = deploy::kubernetes(&bad, &DeployOptions::default()).unwrap_err();
    assert!(err.contains("not a DNS label"), "{err}");
    let bad = TOPOLOGY.replace("\"500m\"", "[1]");
    assert!(deploy::systemd(&bad, &DeployOptions::default()).unwrap_err().contains("deploy.cpu"));
}

#[test]
fn deploy_keys_are_accepted_by_the_loader() {
    // topology.workers > 1 needs the workers feature; the deploy keys alone must load.
    let one = TOPOLOGY.replace("topology.workers: 3", "topology.workers: 1");
    config::parse(&one, "t.yaml", &Substitution::default(), &Registry::new()).unwrap();
}

#[test]
fn sockflow_deploy_writes_both_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, TOPOLOGY.replace("topology.workers: 3", "topology.workers: 2")).unwrap();
    let sockflow = env!("CARGO_BIN_EXE_sockflow");
    let out =
        std::process::Command::new(sockflow).args(["deploy", "kubernetes"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("\nkind: ").count(), 3, "{text}");
    assert!(text.contains("replicas: 2"));
    let unit = dir.path().join("sockflow@.service");
    let out = std::process::Command::new(sockflow)
        .args(["deploy", "systemd"])
        .arg(&file)
        .arg("-o")
        .arg(&unit)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&unit).unwrap().contains("--worker %i"));
    // A file that does not load is refused before anything is written (exit 1, one line).
    std::fs::write(&file, TOPOLOGY.replace("Splitter", "Nope")).unwrap();
    let out =
        std::process::Command::new(sockflow).args(["deploy", "kubernetes"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown className"));
}

#[test]
fn sockflow_deploy_checks_the_worker_key_in_form_only_and_only_in_the_main_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let key = "  topology.worker.curve.secretkey: \"${ENV-SOCKFLOW_DEPLOY_KEY_NEVER_SET}\"\n";
    let two = TOPOLOGY.replace("topology.workers: 3", "topology.workers: 2");
    let deploy_systemd = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sockflow"))
            .args(["deploy", "systemd"])
            .arg(&file)
            .env_remove("SOCKFLOW_DEPLOY_KEY_NEVER_SET")
            .output()
            .unwrap()
    };
    // In the main file, the key comes from where the workers run: the unit says so, and the
    // deploying machine needs neither the variable nor -e.
    let inc = "includes:\n  - {resource: false, file: extra.yaml, override: false}\n";
    std::fs::write(dir.path().join("extra.yaml"), "config:\n  topology.stats.sample.rate: 0.5\n").unwrap();
    std::fs::write(&file, format!("{inc}{}", two.replacen("config:\n", &format!("config:\n{key}"), 1)))
        .unwrap();
    let out = deploy_systemd();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unit = String::from_utf8(out.stdout).unwrap();
    assert!(unit.contains("run -e /etc/sockflow/wordcount.yaml"), "{unit}");
    assert!(unit.contains("SOCKFLOW_DEPLOY_KEY_NEVER_SET=<the worker CURVE key"), "{unit}");

    // In an included file, deploy would not see where it comes from: refused at its line.
    std::fs::write(
        dir.path().join("extra.yaml"),
        format!("config:\n  topology.stats.sample.rate: 0.5\n{key}"),
    )
    .unwrap();
    std::fs::write(&file, format!("{inc}{two}")).unwrap();
    let out = deploy_systemd();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("extra.yaml:3: topology.worker.curve.secretkey in an included file"), "{err}");
    assert!(err.contains("main topology file"), "{err}");
}
