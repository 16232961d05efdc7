//! Kubernetes manifests: ConfigMap + headless Service + StatefulSet (one pod per worker).

use serde_json::json;
use serde_yaml::Value as Yaml;

use super::{summarize, DeployOptions};

/// The manifests for `text` (a topology file), as one multi-document YAML stream.
///
/// Pod `K` of the StatefulSet is worker `K`: it runs `sockflow run --worker $(POD_NAME)`
/// (`sockflow` takes the trailing ordinal of `name-K`), and every worker's address is its
/// pod's stable DNS name `name-K.name.namespace.svc:port`, written into the `workers:` section
/// of the file in the ConfigMap.
pub fn kubernetes(text: &str, opts: &DeployOptions) -> Result<String, String> {
    let s = summarize(text)?;
    // The pods get this one file (and the worker count and `deploy.*` keys are read from it).
    if s.doc.get("includes").is_some() {
        return Err("`includes` are not supported by `deploy kubernetes` (the ConfigMap holds one file): inline the included files".into());
    }
    let (name, ns) = (&s.name, &opts.namespace);
    let addresses: Vec<Yaml> =
        (0..s.workers).map(|k| Yaml::String(format!("{name}-{k}.{name}.{ns}.svc:{}", opts.port))).collect();
    let mut doc = s.doc.clone();
    if let Yaml::Mapping(m) = &mut doc {
        m.insert("workers".into(), Yaml::Sequence(addresses));
    }
    let file = serde_yaml::to_string(&doc).map_err(|e| e.to_string())?;
    let labels = json!({ "app.kubernetes.io/name": "sockflow", "app.kubernetes.io/instance": name });
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": format!("{name}-topology"), "namespace": ns, "labels": labels },
        "data": { "topology.yaml": file },
    });
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "namespace": ns, "labels": labels },
        "spec": {
            "clusterIP": "None",
            // Peers must resolve each other before they are ready: readiness needs peers.
            "publishNotReadyAddresses": true,
            "selector": labels,
            "ports": [
                { "name": "transfer", "port": opts.port, "targetPort": opts.port },
                { "name": "metrics", "port": opts.metrics_port, "targetPort": opts.metrics_port },
            ],
        },
    });
    let mut requests = serde_json::Map::new();
    if let Some(cpu) = &s.cpu {
        requests.insert("cpu".into(), cpu.clone().into());
    }
    if let Some(mem) = &s.memory {
        requests.insert("memory".into(), mem.clone().into());
    }
    let probe = |initial: u32| {
        json!({
            "httpGet": { "path": "/metrics", "port": "metrics" },
            "initialDelaySeconds": initial,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        })
    };
    let stateful_set = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": name, "namespace": ns, "labels": labels },
        "spec": {
            "serviceName": name,
            "replicas": s.workers,
            // Workers need no ordering: each reconnects to the others by itself.
            "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": labels },
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{
                        "name": "sockflow",
                        "image": opts.image,
                        "args": [
                            "run", "/etc/sockflow/topology.yaml",
                            "--worker", "$(POD_NAME)",
                            "--metrics", format!("0.0.0.0:{}", opts.metrics_port),
                        ],
                        "env": [{ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }],
                        "ports": [
                            { "name": "transfer", "containerPort": opts.port },
                            { "name": "metrics", "containerPort": opts.metrics_port },
                        ],
                        "resources": { "requests": requests },
                        "livenessProbe": probe(10),
                        "readinessProbe": probe(2),
                        "volumeMounts": [{ "name": "topology", "mountPath": "/etc/sockflow", "readOnly": true }],
                    }],
                    "volumes": [{ "name": "topology", "configMap": { "name": format!("{name}-topology") } }],
                },
            },
        },
    });
    let mut out = format!(
        "# sockflow deploy kubernetes: topology {name:?}, {} worker(s). Apply with: kubectl apply -f FILE\n",
        s.workers
    );
    for m in [config_map, service, stateful_set] {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&m).map_err(|e| e.to_string())?);
    }
    Ok(out)
}
