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
