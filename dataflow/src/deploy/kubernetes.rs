//! Kubernetes manifests: ConfigMap + headless Service + StatefulSet (one pod per worker).

use serde_json::json;
use serde_yaml::Value as Yaml;

use std::collections::{BTreeMap, BTreeSet};

use super::certificates::{self, Kind};
use super::{certificate_secret_name, curve_secret_name, env_secret_name, summarize, Curve, DeployOptions};

/// Where the pods find the certificate files and directories the topology names.
const CERTIFICATES_AT: &str = "/etc/sockflow-certs";

/// `file` (as serde_yaml writes it: block style) with every value or list item that is
/// exactly `placeholder` quoted. The text is substituted into YAML before it is parsed, and
/// only quoted is a value such as a Z85 key (with `#`, `{`, `&`…) safe.
fn quote_whole_values(file: &str, placeholder: &str) -> String {
    let quoted = format!("\"{placeholder}\"\n");
    file.replace(&format!(": {placeholder}\n"), &format!(": {quoted}"))
        .replace(&format!("- {placeholder}\n"), &format!("- {quoted}"))
}

/// The manifests for `text` (a topology file), as one multi-document YAML stream.
///
/// Pod `K` of the StatefulSet is worker `K`: it runs `sockflow run --worker $(POD_NAME)`
/// (`sockflow` takes the trailing ordinal of `name-K`), and every worker's address is its
/// pod's stable DNS name `name-K.name.namespace.svc:port`, written into the `workers:` section
/// of the file in the ConfigMap.
///
/// A worker CURVE key is taken from the Secret `NAME-curve` (key `secretkey`, see
/// [`super::curve_secret_name`]), which must exist: as the variable of `"${ENV-VAR}"` (the pods
/// then run with `-e`), or mounted at the `topology.worker.curve.secretkey.file` path (which
/// must be absolute). A key written in the file is refused: it would be in the ConfigMap.
/// Every other `${ENV-VAR}` of the file comes from the Secret `NAME-env` (key `VAR`, see
/// [`super::env_secret_name`]); the pods then run with `-e`.
///
/// A certificate file or directory an edge socket names (`curveSecretKey: certs/in.key_secret`,
/// `curveClientKeys: [certs/clients]`) comes from a Secret of its own,
/// [`super::certificate_secret_name`], mounted under `/etc/sockflow-certs/`, and the file in
/// the ConfigMap names it there. The Secrets are made from the files (the header says how);
/// a directory's Secret is mounted whole, so that when it changes the kubelet updates the
/// files and the running socket follows them (its ZAP handler watches the directory).
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
    let (moved, cert_mounts, cert_volumes, cert_lines) = certificate_volumes(&s.doc, name, ns, opts)?;
    certificates::rewrite(&mut doc, &moved);
    let mut file = serde_yaml::to_string(&doc).map_err(|e| e.to_string())?;
    let mut args = vec!["run".to_owned(), "/etc/sockflow/topology.yaml".to_owned()];
    let mut env =
        vec![json!({ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } })];
    let mut mounts = vec![json!({ "name": "topology", "mountPath": "/etc/sockflow", "readOnly": true })];
    let mut volumes =
        vec![json!({ "name": "topology", "configMap": { "name": format!("{name}-topology") } })];
    mounts.extend(cert_mounts);
    volumes.extend(cert_volumes);
    let secret = curve_secret_name(name);
    match &s.curve {
        None => {}
        Some(Curve::Inline) => {
            return Err(format!(
                "topology.worker.curve.secretkey is written in the file: it would be in the ConfigMap; \
                 use \"${{ENV-NAME}}\" (from the Secret {secret}) or topology.worker.curve.secretkey.file"
            ));
        }
        Some(Curve::Env(var)) => {
            file = quote_whole_values(&file, &format!("${{ENV-{var}}}"));
            args.insert(1, "-e".to_owned());
            let from = json!({ "secretKeyRef": { "name": secret, "key": "secretkey" } });
            env.push(json!({ "name": var, "valueFrom": from }));
        }
        Some(Curve::File(path)) => {
            if !path.starts_with('/') {
                return Err(format!(
                    "topology.worker.curve.secretkey.file {path:?}: must be absolute for deploy \
                     kubernetes (the Secret {secret} is mounted there)"
                ));
            }
            mounts.push(
                json!({ "name": "curve", "mountPath": path, "subPath": "secretkey", "readOnly": true }),
            );
            volumes.push(json!({ "name": "curve", "secret": { "secretName": secret } }));
        }
    }
    if !s.env.is_empty() {
        let secret = env_secret_name(name);
        for var in &s.env {
            file = quote_whole_values(&file, &format!("${{ENV-{var}}}"));
            let from = json!({ "secretKeyRef": { "name": secret, "key": var } });
            env.push(json!({ "name": var, "valueFrom": from }));
        }
        if !args.iter().any(|a| a == "-e") {
            args.insert(1, "-e".to_owned());
        }
    }
    args.extend([
        "--worker".to_owned(),
        "$(POD_NAME)".to_owned(),
        "--metrics".to_owned(),
        format!("0.0.0.0:{}", opts.metrics_port),
    ]);
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
    let probe = |path: &str, initial: u32| {
        json!({
            "httpGet": { "path": path, "port": "metrics" },
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
                        "args": args,
                        "env": env,
                        "ports": [
                            { "name": "transfer", "containerPort": opts.port },
                            { "name": "metrics", "containerPort": opts.metrics_port },
                        ],
                        "resources": { "requests": requests },
                        // 503 once an executor is stuck past topology.worker.timeout.secs.
                        "livenessProbe": probe("/healthz", 10),
                        // 503 while starting and while draining after SIGTERM.
                        "readinessProbe": probe("/readyz", 2),
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    });
    let mut out = format!(
        "# sockflow deploy kubernetes: topology {name:?}, {} worker(s). Apply with: kubectl apply -f FILE\n",
        s.workers
    );
    if s.curve.is_some() {
        out.push_str(&format!(
            "# Worker links use CURVE: first create the key's Secret, e.g.\n#   kubectl -n {ns} create \
             secret generic {secret} --from-literal=secretkey=\"$(sockflow keygen)\"\n"
        ));
    }
    if !cert_lines.is_empty() {
        out.push_str(&format!(
            "# Edge sockets read certificates: first create their Secrets, from the topology file's directory:\n{cert_lines}"
        ));
    }
    for m in [config_map, service, stateful_set] {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&m).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Per certificate path the topology names: where it goes in the pods (path as written →
/// new path), the volume mount and the Secret volume, and the header line that makes the
/// Secret.
type CertificateVolumes = (BTreeMap<String, String>, Vec<serde_json::Value>, Vec<serde_json::Value>, String);

fn certificate_volumes(
    doc: &Yaml,
    name: &str,
    ns: &str,
    opts: &DeployOptions,
) -> Result<CertificateVolumes, String> {
    certificates::refuse_written_secrets(doc)?;
    let refs = certificates::references(doc, opts.base_dir.as_deref())?;
    let (mut moved, mut mounts, mut volumes, mut lines) =
        (BTreeMap::new(), Vec::new(), Vec::new(), String::new());
    let mut slugs = BTreeSet::new();
    for (i, r) in refs.iter().enumerate() {
        let mut slug = certificates::slug(&r.path, 40);
        if !slugs.insert(slug.clone()) {
            slug = format!("{slug}-{i}");
            slugs.insert(slug.clone());
        }
        let secret = certificate_secret_name(name, &slug);
        let dir = format!("{CERTIFICATES_AT}/{slug}");
        let at = match r.kind {
            Kind::Directory => dir.clone(),
            Kind::File => {
                let file =
                    std::path::Path::new(&r.path).file_name().map(|f| f.to_string_lossy().into_owned());
                format!("{dir}/{}", file.unwrap_or_default())
            }
        };
        moved.insert(r.path.clone(), at);
        let volume = format!("cert-{i}");
        mounts.push(json!({ "name": volume, "mountPath": dir, "readOnly": true }));
        volumes.push(json!({ "name": volume, "secret": { "secretName": secret } }));
        lines.push_str(&format!(
            "#   kubectl -n {ns} create secret generic {secret} --from-file={}    # {}\n",
            r.path, r.named_by
        ));
    }
    Ok((moved, mounts, volumes, lines))
}
