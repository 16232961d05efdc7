//! The security properties of the socket classes (`SocketSpout`, `SocketBolt`, `DRPCSpout`),
//! named after libzmq's options: `curveServer` with `curveSecretKey` (and `curveClientKeys`
//! to admit only those clients), `curveServerKey` (a client; `curveSecretKey` optional),
//! `plainServer` with `plainUsers`, `plainUsername` with `plainPassword`. The CURVE keys may
//! be certificate files (czmq's and pyzmq's `NAME.key` / `NAME.key_secret`, relative to the
//! topology file), and a `curveClientKeys` entry a directory of certificates (czmq's and pyzmq's layouts: `libsock::load_certificates`).
//!
//! `wss://` endpoints take PEM files, relative to the topology file and read when it loads:
//! `wssCert` with `wssKey` for a bind (the chain, its own certificate first, and its key),
//! `wssTrust` (authorities, or the server's own certificate, pinned) or `wssTrustSystem` for
//! a connect, and `wssHostname` (the name the server's certificate must carry).

use super::{Properties, Registry};
use crate::components::Security;
use service::keys::{client_source_from, public_key_from, secret_key_from};
use service::wss::{Setting, WssFiles, WssPem};

/// The property names, for [`Properties::only`].
pub(super) const PROPERTIES: [&str; 13] = [
    "curveServer",
    "curveSecretKey",
    "curveServerKey",
    "curveClientKeys",
    "plainServer",
    "plainUsers",
    "plainUsername",
    "plainPassword",
    "wssCert",
    "wssKey",
    "wssTrust",
    "wssHostname",
    "wssTrustSystem",
];

/// The socket's `wss://` PEM files, read and checked; `bind` and `connect` are its
/// endpoints (a `wss://` one needs its files).
pub(super) fn wss(p: &Properties, bind: &[String], connect: &[String]) -> Result<WssPem, String> {
    let file = |name: &str| -> Result<_, String> { Ok(p.str(name)?.map(|v| p.path(&v))) };
    let files = WssFiles {
        cert: file("wssCert")?,
        key: file("wssKey")?,
        trust: file("wssTrust")?,
        hostname: p.str("wssHostname")?,
        trust_system: p.bool("wssTrustSystem")?.unwrap_or(false),
    };
    let name = |s: Setting| match s {
        Setting::Cert => "property \"wssCert\"".to_owned(),
        Setting::Key => "property \"wssKey\"".to_owned(),
        Setting::Trust => "property \"wssTrust\"".to_owned(),
        Setting::Hostname => "property \"wssHostname\"".to_owned(),
    };
    let pem = files.load(name)?;
    let wss = |eps: &[String]| eps.iter().find(|ep| ep.starts_with("wss://")).cloned();
    if let (Some(ep), false) = (wss(bind), pem.can_bind()) {
        return Err(format!("{ep}: a wss:// bind needs wssCert and wssKey (PEM files)"));
    }
    if let (Some(ep), false) = (wss(connect), pem.can_connect()) {
        return Err(format!("{ep}: a wss:// connect needs wssTrust (a PEM file) or wssTrustSystem"));
    }
    Ok(pem)
}

/// The socket's mechanism from its properties, checked (keys, accounts, combinations).
pub(super) fn security(p: &Properties) -> Result<Security, String> {
    let curve_server = p.bool("curveServer")?.unwrap_or(false);
    let base = p.path("");
    let prop = |name: &str, e: String| format!("property {name:?}: {e}");
    let secret = p.str("curveSecretKey")?;
    let secret =
        secret.map(|v| secret_key_from(&v, &base).map_err(|e| prop("curveSecretKey", e))).transpose()?;
    let server_key = p.str("curveServerKey")?;
    let server_key =
        server_key.map(|v| public_key_from(&v, &base).map_err(|e| prop("curveServerKey", e))).transpose()?;
    let plain_server = p.bool("plainServer")?.unwrap_or(false);
    let username = p.str("plainUsername")?;
    let roles = [
        ("curveServer", curve_server),
        ("curveServerKey", server_key.is_some()),
        ("plainServer", plain_server),
        ("plainUsername", username.is_some()),
    ];
    let mut set = roles.iter().filter(|(_, on)| *on).map(|(name, _)| name);
    if let (Some(a), Some(b)) = (set.next(), set.next()) {
        return Err(format!("{a} and {b} cannot be used together (one mechanism per socket)"));
    }
    let needs = |name: &str, with: &str, on: bool| match (p.get(name).is_some(), on) {
        (true, false) => Err(format!("property {name:?} goes with {with}")),
        _ => Ok(()),
    };
    needs("curveSecretKey", "curveServer or curveServerKey", curve_server || server_key.is_some())?;
    needs("curveClientKeys", "curveServer", curve_server)?;
    needs("plainUsers", "plainServer", plain_server)?;
    needs("plainPassword", "plainUsername", username.is_some())?;
    let security = if curve_server {
        let secret = secret.ok_or(
            "curveServer needs curveSecretKey, the server's Z85 secret key (`sockflow keygen` makes one)",
        )?;
        let clients = match p.get("curveClientKeys") {
            None => None,
            Some(_) => {
                let source = |v: String| {
                    client_source_from(&v, &base).map_err(|e| prop("curveClientKeys", format!("{v:?}: {e}")))
                };
                Some(p.strs("curveClientKeys")?.into_iter().map(source).collect::<Result<Vec<_>, _>>()?)
            }
        };
        Security::CurveServer { secret, clients }
    } else if let Some(server) = server_key {
        Security::CurveClient { server, secret }
    } else if plain_server {
        let users = p.strs("plainUsers")?.iter().map(|u| account(u)).collect::<Result<Vec<_>, _>>()?;
        Security::PlainServer { users }
    } else if let Some(user) = username {
        Security::PlainClient { user, password: p.str("plainPassword")?.unwrap_or_default() }
    } else {
        Security::Null
    };
    // Keys and accounts now, at the component's line; endpoints with the socket's spec.
    security.validate(std::iter::empty())?;
    Ok(security)
}

/// `user:password`, split at the first colon.
fn account(text: &str) -> Result<(String, String), String> {
    let (user, password) = text
        .split_once(':')
        .ok_or("property \"plainUsers\": each account is \"user:password\" (a colon is missing)")?;
    Ok((user.to_owned(), password.to_owned()))
}

/// `withCurveServer(true)`, `withCurveSecretKey(KEY)`, `withCurveClientKeys(KEY, …)`, … for
/// `class`: each sets its property (the lists append).
pub(super) fn register_methods(r: &mut Registry, class: &str) {
    for name in PROPERTIES {
        let method = format!("with{}{}", name[..1].to_uppercase(), &name[1..]);
        let list = matches!(name, "curveClientKeys" | "plainUsers");
        r.register_config_method(class, &method, move |p, args| match args {
            _ if list => {
                p.append(name, args);
                Ok(())
            }
            [v] => {
                p.set(name, v.clone());
                Ok(())
            }
            _ => Err(format!("takes exactly one argument (the {name:?} property), got {}", args.len())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuple::Value;
    use service::keys::public_key;

    const SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    const PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    fn props(pairs: &[(&str, Value)]) -> Properties {
        Properties::new(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    fn text(s: &str) -> Value {
        Value::Str(s.into())
    }

    #[test]
    fn each_mechanism_from_its_properties() {
        assert_eq!(security(&props(&[])), Ok(Security::Null));
        let p = props(&[
            ("curveServer", Value::Bool(true)),
            ("curveSecretKey", text(SECRET)),
            ("curveClientKeys", Value::List(vec![text(PUBLIC)])),
        ]);
        let clients = Some(vec![libsock::CurveClient::Key(public_key(PUBLIC).unwrap())]);
        assert_eq!(security(&p), Ok(Security::CurveServer { secret: SECRET.into(), clients }));
        let p = props(&[("curveServerKey", text(PUBLIC))]);
        assert_eq!(security(&p), Ok(Security::CurveClient { server: PUBLIC.into(), secret: None }));
        let p =
            props(&[("plainServer", Value::Bool(true)), ("plainUsers", Value::List(vec![text("a:b:c")]))]);
        assert_eq!(security(&p), Ok(Security::PlainServer { users: vec![("a".into(), "b:c".into())] }));
        let p = props(&[("plainUsername", text("u")), ("plainPassword", text("p"))]);
        assert_eq!(security(&p), Ok(Security::PlainClient { user: "u".into(), password: "p".into() }));
    }

    #[test]
    fn wss_files_are_read_relative_to_the_topology_file() {
        let dir = tempfile::tempdir().unwrap();
        let wss = |pairs: &[(&str, Value)], bind: &[&str], connect: &[&str]| {
            let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            wss(&props(pairs).with_base_dir(dir.path()), &owned(bind), &owned(connect))
        };
        std::fs::write(
            dir.path().join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let ok = wss(&[("wssTrust", text("ca.pem"))], &[], &["wss://h:1/x"]).unwrap();
        assert!(ok.can_connect() && !ok.can_bind());
        let e = wss(&[("wssTrust", text("nope.pem"))], &[], &[]).unwrap_err();
        let missing = dir.path().join("nope.pem");
        assert!(
            e.starts_with(&format!("property \"wssTrust\" {}: cannot read it: ", missing.display())),
            "{e}"
        );
        let e = wss(&[("wssCert", text("ca.pem"))], &[], &[]).unwrap_err();
        assert_eq!(e, "property \"wssCert\" and property \"wssKey\" go together");
        let e = wss(&[("wssKey", text("ca.pem")), ("wssCert", text("ca.pem"))], &[], &[]).unwrap_err();
        assert!(e.contains("ca.pem: no PEM private key in it"), "{e}");
        let e = wss(&[], &["wss://*:1/x"], &[]).unwrap_err();
        assert_eq!(e, "wss://*:1/x: a wss:// bind needs wssCert and wssKey (PEM files)");
        let e = wss(&[], &[], &["wss://h:1/x"]).unwrap_err();
        assert_eq!(e, "wss://h:1/x: a wss:// connect needs wssTrust (a PEM file) or wssTrustSystem");
        assert!(wss(&[("wssTrustSystem", Value::Bool(true))], &[], &["wss://h:1/x"]).is_ok());
    }

    #[test]
    fn wrong_combinations_are_errors() {
        let err = |pairs: &[(&str, Value)]| security(&props(pairs)).unwrap_err();
        assert_eq!(
            err(&[("curveServer", Value::Bool(true)), ("plainServer", Value::Bool(true))]),
            "curveServer and plainServer cannot be used together (one mechanism per socket)"
        );
        assert!(err(&[("curveServer", Value::Bool(true))]).starts_with("curveServer needs curveSecretKey"));
        assert_eq!(
            err(&[("curveSecretKey", text(SECRET))]),
            "property \"curveSecretKey\" goes with curveServer or curveServerKey"
        );
        assert_eq!(err(&[("plainUsers", text("a:b"))]), "property \"plainUsers\" goes with plainServer");
        assert!(err(&[("plainServer", Value::Bool(true)), ("plainUsers", text("nocolon"))])
            .contains("a colon is missing"));
        let short = err(&[("curveServer", Value::Bool(true)), ("curveSecretKey", text("short"))]);
        assert!(short.starts_with("property \"curveSecretKey\""), "{short}");
        assert!(short.contains("not a Z85 secret key (nor a certificate file)"), "{short}");
        assert!(err(&[
            ("curveServer", Value::Bool(true)),
            ("curveSecretKey", text(SECRET)),
            ("curveClientKeys", text("bad")),
        ])
        .starts_with("property \"curveClientKeys\": \"bad\": "));
    }
}
