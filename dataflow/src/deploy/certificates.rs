//! The certificate files and directories a topology's edge sockets name (`curveSecretKey`,
//! `curveServerKey`, `curveClientKeys` as paths rather than keys; the `wss://` PEM files
//! `wssCert`, `wssKey`, `wssTrust`), for deployments that must bring them along: Kubernetes
//! mounts each from a Secret of its own.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value as Yaml;

/// The properties whose values may name certificate files.
const PROPERTIES: [&str; 6] =
    ["curveSecretKey", "curveServerKey", "curveClientKeys", "wssCert", "wssKey", "wssTrust"];

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One certificate.
    File,
    /// A directory of certificates (a `curveClientKeys` entry).
    Directory,
}

/// A path as the topology file writes it, what it names, and who names it (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) path: String,
    pub(crate) kind: Kind,
    pub(crate) named_by: String,
}

/// An error if an edge socket's secret key is written in the file itself: manifests that
/// carry the file would carry the key (a `wssKey` is a path, but one holding PEM text is
/// refused too).
pub(crate) fn refuse_written_secrets(doc: &Yaml) -> Result<(), String> {
    for (component, property, value) in certificate_properties(doc) {
        let instead = match property {
            "curveSecretKey" if value.as_str().is_some_and(service::keys::is_key) => {
                "use \"${ENV-NAME}\" (from the env Secret) or a certificate file"
            }
            "wssKey" if value.as_str().is_some_and(|v| v.contains("PRIVATE KEY")) => "use a PEM file",
            _ => continue,
        };
        return Err(format!(
            "property {property} of {component}: a secret key written in the file would be in the \
             manifests; {instead}"
        ));
    }
    Ok(())
}

/// Every certificate path the components' properties name, each once, in the file's order.
/// A path's kind is what is there, relative to `base` (the topology file's directory) when
/// the deployment can see it; otherwise a `curveClientKeys` entry is a directory unless it
/// ends in `.key` or `.key_secret`.
pub(crate) fn references(doc: &Yaml, base: Option<&Path>) -> Result<Vec<Reference>, String> {
    let mut found: Vec<Reference> = Vec::new();
    for (component, property, value) in certificate_properties(doc) {
        let named_by = format!("property {property} of {component}");
        let values: Vec<&str> = match value {
            Yaml::String(s) => vec![s.as_str()],
            Yaml::Sequence(items) => items.iter().filter_map(Yaml::as_str).collect(),
            _ => Vec::new(),
        };
        for v in values {
            // Keys are not files; `${…}` is substituted where the workers run.
            if v.contains("${") || service::keys::is_key(v) || found.iter().any(|r| r.path == v) {
                continue;
            }
            let kind = kind_of(v, property, base)?;
            found.push(Reference { path: v.to_owned(), kind, named_by: named_by.clone() });
        }
    }
    Ok(found)
}

fn kind_of(path: &str, property: &str, base: Option<&Path>) -> Result<Kind, String> {
    if property != "curveClientKeys" {
        return Ok(Kind::File);
    }
    match base.map(|b| b.join(path)) {
        Some(full) if full.is_dir() => Ok(Kind::Directory),
        Some(full) if full.is_file() => Ok(Kind::File),
        Some(full) => Err(format!("{path} (property {property}): {} is not there", full.display())),
        None if path.ends_with(".key") || path.ends_with(".key_secret") => Ok(Kind::File),
        None => Ok(Kind::Directory),
    }
}

/// (component id, property name, value) of every certificate property of the spouts, bolts
/// and components (Flux's `properties: [{name, value}]`).
fn certificate_properties(doc: &Yaml) -> Vec<(String, &'static str, &Yaml)> {
    let mut out = Vec::new();
    for section in ["components", "spouts", "bolts"] {
        for entry in doc.get(section).and_then(Yaml::as_sequence).into_iter().flatten() {
            let id = entry.get("id").and_then(Yaml::as_str).unwrap_or("?").to_owned();
            for p in entry.get("properties").and_then(Yaml::as_sequence).into_iter().flatten() {
                let name = p.get("name").and_then(Yaml::as_str).unwrap_or_default();
                if let (Some(property), Some(value)) =
                    (PROPERTIES.iter().find(|n| **n == name), p.get("value"))
                {
                    out.push((id.clone(), *property, value));
                }
            }
        }
    }
    out
}

/// Replaces each certificate property's path by where the deployment puts it (`moved`: the
/// path as written → the new one).
pub(crate) fn rewrite(doc: &mut Yaml, moved: &BTreeMap<String, String>) {
    for section in ["components", "spouts", "bolts"] {
        let Some(entries) = doc.get_mut(section).and_then(Yaml::as_sequence_mut) else { continue };
        for entry in entries {
            let Some(props) = entry.get_mut("properties").and_then(Yaml::as_sequence_mut) else { continue };
            for p in props {
                let name = p.get("name").and_then(Yaml::as_str).unwrap_or_default();
                if !PROPERTIES.contains(&name) {
                    continue;
                }
                let Some(value) = p.get_mut("value") else { continue };
                let values: Vec<&mut Yaml> = match value {
                    Yaml::Sequence(items) => items.iter_mut().collect(),
                    one => vec![one],
                };
                for v in values {
                    if let Some(new) = v.as_str().and_then(|s| moved.get(s)) {
                        *v = Yaml::String(new.clone());
                    }
                }
            }
        }
    }
}

/// A DNS-label fragment for a path (`certs/Clients` → `certs-clients`), at most `max` long.
pub(crate) fn slug(path: &str, max: usize) -> String {
    let mut out = String::new();
    for c in path.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(max);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "cert".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    const PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    #[test]
    fn paths_are_found_kinds_guessed_and_rewritten() {
        let text = format!(
            "spouts:
  - id: in
    className: SocketSpout
    properties:
      - {{name: curveServer, value: true}}
      - {{name: curveSecretKey, value: certs/in.key_secret}}
      - {{name: curveClientKeys, value: [certs/clients, \"{PUBLIC}\", shop.key, \"${{ENV-X}}\"]}}
      - {{name: wssCert, value: tls/in_chain.pem}}
      - {{name: wssKey, value: tls/in.key}}
bolts:
  - id: out
    className: SocketBolt
    properties:
      - {{name: curveServerKey, value: certs/sink.key}}
      - {{name: curveSecretKey, value: certs/in.key_secret}}
      - {{name: wssTrust, value: tls/ca.pem}}
"
        );
        let mut doc: Yaml = serde_yaml::from_str(&text).unwrap();
        let refs = references(&doc, None).unwrap();
        let seen: Vec<(&str, Kind)> = refs.iter().map(|r| (r.path.as_str(), r.kind)).collect();
        assert_eq!(
            seen,
            [
                ("certs/in.key_secret", Kind::File),
                ("certs/clients", Kind::Directory),
                ("shop.key", Kind::File),
                ("tls/in_chain.pem", Kind::File),
                ("tls/in.key", Kind::File),
                ("certs/sink.key", Kind::File),
                ("tls/ca.pem", Kind::File),
            ]
        );
        assert_eq!(refs[5].named_by, "property curveServerKey of out");
        assert_eq!(refs[4].named_by, "property wssKey of in");
        let moved: BTreeMap<String, String> = [("certs/clients".into(), "/x/clients".into())].into();
        rewrite(&mut doc, &moved);
        let out = serde_yaml::to_string(&doc).unwrap();
        assert!(out.contains("- /x/clients\n") && !out.contains("certs/clients"), "{out}");

        // A secret key in the file is refused (where the manifests would carry it); a public
        // one is fine.
        assert_eq!(refuse_written_secrets(&doc), Ok(()));
        let inline: Yaml =
            serde_yaml::from_str(&text.replace("certs/in.key_secret", &format!("\"{SECRET}\""))).unwrap();
        let err = refuse_written_secrets(&inline).unwrap_err();
        assert!(err.starts_with("property curveSecretKey of in: a secret key written in the file"), "{err}");
        assert_eq!(references(&inline, None).unwrap().len(), 6, "the key is not a file");
        let pem_key = text.replace("tls/in.key", "\"-----BEGIN PRIVATE KEY-----\"");
        let err = refuse_written_secrets(&serde_yaml::from_str(&pem_key).unwrap()).unwrap_err();
        assert!(err.starts_with("property wssKey of in: a secret key written in the file"), "{err}");

        // With the files at hand, what is there decides; what is not is an error.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("certs/clients")).unwrap();
        std::fs::create_dir(dir.path().join("shop.key")).unwrap(); // a directory, oddly named
        let refs = references(&serde_yaml::from_str(&text).unwrap(), Some(dir.path())).unwrap();
        assert_eq!(refs[2].kind, Kind::Directory);
        std::fs::remove_dir(dir.path().join("shop.key")).unwrap();
        let err = references(&serde_yaml::from_str(&text).unwrap(), Some(dir.path())).unwrap_err();
        assert!(err.starts_with("shop.key (property curveClientKeys): "), "{err}");
    }

    #[test]
    fn slugs_are_dns_label_fragments() {
        assert_eq!(slug("certs/Clients", 40), "certs-clients");
        assert_eq!(slug("/etc/app/in.key_secret", 40), "etc-app-in-key-secret");
        assert_eq!(slug("../..", 40), "cert");
        assert_eq!(slug("abcdef/ghi", 7), "abcdef");
    }
}
