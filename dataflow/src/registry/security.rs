//! The security properties of the socket classes (`SocketSpout`, `SocketBolt`, `DRPCSpout`),
//! named after libzmq's options: `curveServer` with `curveSecretKey` (and `curveClientKeys`
//! to admit only those clients), `curveServerKey` (a client; `curveSecretKey` optional),
//! `plainServer` with `plainUsers`, `plainUsername` with `plainPassword`. The CURVE keys may
//! be certificate files (czmq's and pyzmq's `NAME.key` / `NAME.key_secret`, relative to the
//! topology file), and a `curveClientKeys` entry a directory of certificates (czmq's and pyzmq's layouts: `libsock::load_certificates`).

use super::{Properties, Registry};
use crate::components::Security;
use service::keys::{client_source_from, public_key_from, secret_key_from};

/// The property names, for [`Properties::only`].
pub(super) const PROPERTIES: [&str; 8] = [
    "curveServer",
    "curveSecretKey",
    "curveServerKey",
    "curveClientKeys",
    "plainServer",
    "plainUsers",
    "plainUsername",
    "plainPassword",
];

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
