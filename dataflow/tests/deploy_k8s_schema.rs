//! The generated Kubernetes manifests deserialize as the real API types of a pinned
//! Kubernetes version (`k8s-openapi`, feature `v1_33`): wrong types and missing required
//! fields are errors there; unknown or misspelled fields, which those types skip silently,
//! are caught by serializing the typed object back and comparing it with the document.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use dataflow::deploy::{self, DeployOptions};

const TOPOLOGY: &str = r#"
name: wordcount
config:
  topology.workers: 3
  deploy.cpu: "500m"
  deploy.memory: "256Mi"
spouts:
  - {id: gen, className: Generator}
bolts:
  - {id: split, className: Splitter}
streams:
  - {from: gen, to: split, grouping: {type: SHUFFLE}}
"#;

/// Parses `doc` as `T` and checks that nothing was lost on the way (no unknown fields).
#[track_caller]
fn typed<T: DeserializeOwned + Serialize>(doc: &serde_yaml::Value) -> T {
    let json: serde_json::Value = serde_json::to_value(doc).unwrap();
    let t: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}\n{json:#}", std::any::type_name::<T>()));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(back, json, "fields lost in a round trip through {}", std::any::type_name::<T>());
    t
}

fn documents(text: &str) -> Vec<serde_yaml::Value> {
    serde_yaml::Deserializer::from_str(text).map(|d| serde_yaml::Value::deserialize(d).unwrap()).collect()
}

#[test]
fn manifests_are_valid_kubernetes_objects() {
    let opts = DeployOptions {
        namespace: "stream".into(),
        image: "example/sockflow:1".into(),
        ..DeployOptions::default()
    };
    let docs = documents(&deploy::kubernetes(TOPOLOGY, &opts).unwrap());
    assert_eq!(docs.len(), 3);
    let cm: ConfigMap = typed(&docs[0]);
    let svc: Service = typed(&docs[1]);
    let sts: StatefulSet = typed(&docs[2]);
    assert_eq!(docs[0]["kind"].as_str(), Some("ConfigMap"));
    assert_eq!(docs[1]["kind"].as_str(), Some("Service"));
    assert_eq!(
        (docs[2]["apiVersion"].as_str(), docs[2]["kind"].as_str()),
        (Some("apps/v1"), Some("StatefulSet"))
    );

    let svc_spec = svc.spec.unwrap();
    assert_eq!(svc_spec.cluster_ip.as_deref(), Some("None"), "headless");
    let sts_spec = sts.spec.unwrap();
    assert_eq!(sts_spec.replicas, Some(3));
    assert_eq!(sts_spec.service_name.as_deref(), svc.metadata.name.as_deref());
    assert_eq!(svc_spec.selector, sts_spec.selector.match_labels);
    let pod = sts_spec.template.spec.unwrap();
    let c = &pod.containers[0];
    let probe = c.liveness_probe.as_ref().unwrap().http_get.as_ref().unwrap();
    assert_eq!(probe.port, IntOrString::String("metrics".into()));
    let requests = c.resources.as_ref().unwrap().requests.as_ref().unwrap();
    assert_eq!(requests["cpu"].0, "500m");
    let volume = pod.volumes.as_ref().unwrap()[0].config_map.as_ref().unwrap();
    assert_eq!(Some(&volume.name), cm.metadata.name.as_ref());
    assert!(cm.data.unwrap().contains_key("topology.yaml"));
}

#[test]
fn the_check_catches_what_a_cluster_would_reject_or_ignore() {
    let docs = documents(&deploy::kubernetes(TOPOLOGY, &DeployOptions::default()).unwrap());
    // A misspelled field: the API types skip it; the round trip notices.
    let mut bad = docs[2].clone();
    bad["spec"]["replica"] = serde_yaml::Value::from(3);
    let json = serde_json::to_value(&bad).unwrap();
    let t: StatefulSet = serde_json::from_value(json.clone()).unwrap();
    assert_ne!(serde_json::to_value(&t).unwrap(), json);
    // A wrong type.
    let mut bad = docs[2].clone();
    bad["spec"]["replicas"] = serde_yaml::Value::from("three");
    assert!(serde_json::from_value::<StatefulSet>(serde_json::to_value(&bad).unwrap()).is_err());
}

#[test]
fn files_with_includes_are_refused_rather_than_deployed_incomplete() {
    let text = format!("{TOPOLOGY}includes: [{{file: common.yaml}}]\n");
    let e = deploy::kubernetes(&text, &DeployOptions::default()).unwrap_err();
    assert!(e.contains("includes"), "{e}");
}

#[test]
fn a_worker_curve_key_comes_from_a_secret_never_from_the_manifests() {
    let with = |line: &str| TOPOLOGY.replace("  deploy.cpu", &format!("  {line}\n  deploy.cpu"));
    let secret = deploy::curve_secret_name("wordcount");
    assert_eq!(secret, "wordcount-curve");

    // "${ENV-VAR}": the pods run with -e and VAR from the Secret.
    let text = with("topology.worker.curve.secretkey: \"${ENV-WC_KEY}\"");
    let docs = documents(&deploy::kubernetes(&text, &DeployOptions::default()).unwrap());
    let cm: ConfigMap = typed(&docs[0]);
    assert!(cm.data.unwrap()["topology.yaml"].contains("\"${ENV-WC_KEY}\""), "kept, quoted");
    let sts: StatefulSet = typed(&docs[2]);
    let c = &sts.spec.unwrap().template.spec.unwrap().containers[0];
    assert_eq!(c.args.as_ref().unwrap()[..3], ["run", "-e", "/etc/sockflow/topology.yaml"]);
    let var = c.env.as_ref().unwrap().iter().find(|e| e.name == "WC_KEY").unwrap();
    let key_ref = var.value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
    assert_eq!((key_ref.name.as_str(), key_ref.key.as_str()), (secret.as_str(), "secretkey"));

    // A file: the Secret is mounted there.
    let text = with("topology.worker.curve.secretkey.file: /run/curve/key");
    let docs = documents(&deploy::kubernetes(&text, &DeployOptions::default()).unwrap());
    let pod = typed::<StatefulSet>(&docs[2]).spec.unwrap().template.spec.unwrap();
    let mount = pod.containers[0].volume_mounts.as_ref().unwrap().iter().find(|m| m.name == "curve").unwrap();
    assert_eq!((mount.mount_path.as_str(), mount.sub_path.as_deref()), ("/run/curve/key", Some("secretkey")));
    let volume = pod.volumes.unwrap().into_iter().find(|v| v.name == "curve").unwrap();
    assert_eq!(volume.secret.unwrap().secret_name, Some(secret));

    // The key itself in the file would land in the ConfigMap: refused.
    let key = dataflow::WorkerKey::generate();
    let inline = with(&format!("topology.worker.curve.secretkey: \"{}\"", key.secret()));
    let e = deploy::kubernetes(&inline, &DeployOptions::default()).unwrap_err();
    assert!(e.contains("ConfigMap") && !e.contains(key.secret()), "{e}");

    // systemd: -e, and the variable from an EnvironmentFile.
    let unit = deploy::systemd(
        &with("topology.worker.curve.secretkey: \"${ENV-WC_KEY}\""),
        &DeployOptions::default(),
    )
    .unwrap();
    assert!(
        unit.contains(
            "EnvironmentFile=/etc/sockflow/wordcount.env\nExecStart=/usr/local/bin/sockflow run -e "
        ),
        "{unit}"
    );

    // `sockflow deploy` checks the file where the key is absent: any form of it is swapped.
    for line in [
        "topology.worker.curve.secretkey: \"${ENV-UNSET_KEY}\"",
        "topology.worker.curve.secretkey.file: /run/x",
    ] {
        let checked = deploy::with_throwaway_key(&with(line));
        let t = dataflow::config::parse(&checked, "t.yaml", &Default::default(), &dataflow::Registry::new())
            .unwrap();
        assert!(t.config.worker_curve.is_some());
    }
}

/// A Z85 key pair whose secret and public keys both start with a YAML indicator (`{`, `#`,
/// `&`, …): unquoted in the substituted file, either would break the YAML.
fn awkward_keypair() -> (String, String) {
    // Characters YAML reads as an indicator where a plain value starts, so that unquoted the
    // value cannot parse (`-`, `:` and `?` followed by a character can start a plain value).
    let awkward = |k: &str| k.starts_with(['{', '[', '&', '*', '!', '%', '@', '>']);
    loop {
        let (public, secret) = libsock::curve_keypair();
        if awkward(&public) && awkward(&secret) && !public.contains('$') && !secret.contains('$') {
            return (public, secret);
        }
    }
}

#[test]
fn every_other_env_variable_comes_from_the_env_secret() {
    // A port and an edge socket's keys by environment, beside the worker key.
    let text = TOPOLOGY
        .replace("  deploy.cpu", "  topology.worker.curve.secretkey: \"${ENV-WC_KEY}\"\n  deploy.cpu")
        .replace(
            "  - {id: gen, className: Generator}\n",
            "  - id: gen\n    className: SocketSpout\n    properties:\n      - {name: type, value: pull}\n      \
             - {name: bind, value: \"tcp://0.0.0.0:${ENV-IN_PORT}\"}\n      \
             - {name: curveServer, value: true}\n      \
             - {name: curveSecretKey, value: \"${ENV-IN_SECRET}\"}\n      \
             - {name: curveClientKeys, value: [\"${ENV-SHOP_PUBLIC}\"]}\n",
        );
    assert!(text.contains("SocketSpout"));
    assert_eq!(deploy::env_secret_name("wordcount"), "wordcount-env");
    let docs = documents(&deploy::kubernetes(&text, &DeployOptions::default()).unwrap());
    let sts: StatefulSet = typed(&docs[2]);
    let c = &sts.spec.unwrap().template.spec.unwrap().containers[0];
    let args = c.args.as_ref().unwrap();
    assert_eq!(args.iter().filter(|a| *a == "-e").count(), 1, "{args:?}");
    let from = |name: &str| {
        let var = c.env.as_ref().unwrap().iter().find(|e| e.name == name).unwrap_or_else(|| panic!("{name}"));
        let r = var.value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
        (r.name.clone(), r.key.clone())
    };
    assert_eq!(from("WC_KEY"), ("wordcount-curve".into(), "secretkey".into()));
    for name in ["IN_PORT", "IN_SECRET", "SHOP_PUBLIC"] {
        assert_eq!(from(name), ("wordcount-env".into(), name.into()));
    }
    assert_eq!(c.env.as_ref().unwrap().len(), 5, "POD_NAME, WC_KEY and the three");

    // What the pods do with the ConfigMap's file: substitute, then parse. Keys that start with
    // YAML indicators survive (the placeholders are quoted) and are the ones the spout checks.
    let cm: ConfigMap = typed(&docs[0]);
    let file = &cm.data.unwrap()["topology.yaml"];
    let (shop_public, _) = awkward_keypair();
    let (_, in_secret) = awkward_keypair();
    let wc = dataflow::WorkerKey::generate();
    let substituted = file
        .replace("${ENV-WC_KEY}", wc.secret())
        .replace("${ENV-IN_PORT}", "5555")
        .replace("${ENV-IN_SECRET}", &in_secret)
        .replace("${ENV-SHOP_PUBLIC}", &shop_public);
    dataflow::config::parse(&substituted, "topology.yaml", &Default::default(), &dataflow::Registry::new())
        .unwrap_or_else(|e| panic!("{e}\n{substituted}"));
    // Unquoted, the same substitution breaks.
    let unquoted = substituted.replace(&format!("\"{in_secret}\""), &in_secret);
    assert!(
        dataflow::config::parse(&unquoted, "t.yaml", &Default::default(), &dataflow::Registry::new())
            .is_err(),
        "the quoting is needed"
    );

    // systemd: -e, and every variable named above the EnvironmentFile.
    let unit = deploy::systemd(&text, &DeployOptions::default()).unwrap();
    for line in ["# WC_KEY=<the worker CURVE key", "# IN_PORT=<its value>", "# SHOP_PUBLIC=<its value>"] {
        assert!(unit.contains(line), "{line}: {unit}");
    }
    assert!(unit
        .contains("EnvironmentFile=/etc/sockflow/wordcount.env\nExecStart=/usr/local/bin/sockflow run -e "));
    // A file without variables runs without -e.
    assert!(!deploy::systemd(TOPOLOGY, &DeployOptions::default()).unwrap().contains(" -e "));
}

/// Edge sockets that read certificate files beside the topology file (the zguide's
/// Ironhouse layout): each file or directory comes from a Secret of its own, mounted under
/// /etc/sockflow-certs, and the ConfigMap's file names it there. Made as the header's
/// `kubectl create secret generic … --from-file=PATH` makes them and mounted as the kubelet
/// mounts them, the pod's file parses and its sockets get the keys.
#[test]
fn certificate_files_come_from_secrets_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(certs.join("clients")).unwrap();
    libsock::create_certificates(&certs, "in").unwrap();
    let (alice, _) = libsock::create_certificates(certs.join("clients"), "alice").unwrap();
    libsock::create_certificates(&certs, "sink").unwrap();
    let text = TOPOLOGY.replace(
        "  - {id: gen, className: Generator}\n",
        "  - id: gen\n    className: SocketSpout\n    properties:\n      - {name: type, value: pull}\n      \
         - {name: bind, value: \"tcp://0.0.0.0:5555\"}\n      \
         - {name: curveServer, value: true}\n      \
         - {name: curveSecretKey, value: certs/in.key_secret}\n      \
         - {name: curveClientKeys, value: [certs/clients]}\n",
    );
    let text = text.replace(
        "streams:\n",
        "  - id: out\n    className: SocketBolt\n    properties:\n      - {name: type, value: push}\n      \
         - {name: connect, value: \"tcp://sink:5556\"}\n      \
         - {name: curveServerKey, value: certs/sink.key}\n\
         streams:\n  - {from: split, to: out, grouping: {type: SHUFFLE}}\n",
    );
    let opts = DeployOptions { base_dir: Some(dir.path().into()), ..DeployOptions::default() };
    let out = deploy::kubernetes(&text, &opts).unwrap();
    let docs = documents(&out);
    let file = typed::<ConfigMap>(&docs[0]).data.unwrap()["topology.yaml"].clone();
    let pod = typed::<StatefulSet>(&docs[2]).spec.unwrap().template.spec.unwrap();
    let mounts = pod.containers[0].volume_mounts.clone().unwrap();
    let volumes = pod.volumes.unwrap();

    // One Secret each, created by the commands in the header, run beside the topology file.
    let made: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("#   kubectl -n default create secret generic "))
        .map(|l| {
            let (secret, rest) = l.split_once(" --from-file=").unwrap();
            (secret.to_owned(), rest.split_whitespace().next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        made.iter().map(|(s, p)| (s.as_str(), p.as_str())).collect::<Vec<_>>(),
        [
            ("wordcount-cert-certs-in-key-secret", "certs/in.key_secret"),
            ("wordcount-cert-certs-clients", "certs/clients"),
            ("wordcount-cert-certs-sink-key", "certs/sink.key"),
        ]
    );
    assert_eq!(deploy::certificate_secret_name("wordcount", "certs-clients"), made[1].0);
    assert!(!file.contains(" certs/"), "every path was moved: {file}");

    // The pod: each Secret volume mounted where the file now looks (a fake root for
    // /etc/sockflow-certs), holding what `--from-file` puts in it: a file's one key, or a
    // directory's files.
    let root = tempfile::tempdir().unwrap();
    for (secret, from) in &made {
        let volume =
            volumes.iter().find(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_ref()) == Some(secret));
        let volume = volume.unwrap_or_else(|| panic!("no volume for {secret}"));
        let mount = mounts.iter().find(|m| m.name == volume.name).unwrap();
        assert!(
            mount.read_only == Some(true) && mount.sub_path.is_none(),
            "whole, so the kubelet updates it"
        );
        let at = root.path().join(mount.mount_path.strip_prefix("/etc/sockflow-certs/").unwrap());
        std::fs::create_dir_all(&at).unwrap();
        let from = dir.path().join(from);
        let files: Vec<std::path::PathBuf> = match from.is_dir() {
            true => std::fs::read_dir(&from).unwrap().map(|e| e.unwrap().path()).collect(),
            false => vec![from],
        };
        for f in files {
            std::fs::copy(&f, at.join(f.file_name().unwrap())).unwrap();
        }
    }
    let in_pod = file.replace("/etc/sockflow-certs", root.path().to_str().unwrap());
    let parse = |text: &str| {
        dataflow::config::parse(text, "topology.yaml", &Default::default(), &dataflow::Registry::new())
            .map(drop)
            .map_err(|e| e.to_string())
    };
    parse(&in_pod).unwrap_or_else(|e| panic!("{e}\n{in_pod}"));
    // (It did read them there: without Alice's certificate the directory would admit nobody.)
    let alice_in_pod = root.path().join("certs-clients").join(alice.file_name().unwrap());
    std::fs::remove_file(alice_in_pod).unwrap();
    let e = parse(&in_pod).unwrap_err();
    assert!(e.contains("no certificate in") && e.contains("certs-clients"), "{e}");

    // A secret key written in an edge socket's properties would be in the ConfigMap: refused.
    let (_, secret) = libsock::curve_keypair();
    let inline = text.replace("certs/in.key_secret", &format!("\"{secret}\""));
    let e = deploy::kubernetes(&inline, &opts).unwrap_err();
    assert!(e.contains("curveSecretKey of gen") && !e.contains(&secret), "{e}");
    // A path that is not there is named.
    std::fs::remove_dir_all(certs.join("clients")).unwrap();
    let e = deploy::kubernetes(&text, &opts).unwrap_err();
    assert!(e.starts_with("certs/clients (property curveClientKeys): "), "{e}");
}
