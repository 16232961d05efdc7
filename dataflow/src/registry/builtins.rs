//! The built-in classes' makers, config methods and object classes.

use std::sync::Arc;

use libsock::SocketType;

use super::security::{security, wss, PROPERTIES as SECURITY};
use super::{Properties, Registry, CONSTRUCTOR_ARGS};
use crate::component::Basic;
use crate::components::{Generator, SocketBolt, SocketSpec, SocketSpout};
use crate::topology::{BoltFactory, SpoutFactory};
use crate::tuple::Value;

/// `configMethods` of the built-ins: `withX(args…)` sets property `x` (list properties
/// append, so `withConnect` twice connects twice).
pub(super) fn builtin_methods(r: &mut Registry) {
    fn one(name: &'static str) -> impl Fn(&mut Properties, &[Value]) -> Result<(), String> {
        move |p, args| match args {
            [v] => {
                p.set(name, v.clone());
                Ok(())
            }
            _ => Err(format!("takes exactly one argument (the {name:?} property), got {}", args.len())),
        }
    }
    fn list(name: &'static str) -> impl Fn(&mut Properties, &[Value]) -> Result<(), String> {
        move |p, args| {
            p.append(name, args);
            Ok(())
        }
    }
    for class in ["SocketSpout", "SocketBolt"] {
        super::security::register_methods(r, class);
        r.register_config_method(class, "withType", one("type"));
        r.register_config_method(class, "withBind", list("bind"));
        r.register_config_method(class, "withConnect", list("connect"));
        r.register_config_method(class, "withHwm", one("hwm"));
    }
    r.register_config_method("SocketSpout", "withSubscribe", list("subscribe"));
    r.register_config_method("SocketSpout", "withFields", list("fields"));
    r.register_config_method("SocketSpout", "withReliable", one("reliable"));
    r.register_config_method("SocketSpout", "withUserIdField", one("userIdField"));
    r.register_config_method("Generator", "withSentences", list("sentences"));
    r.register_config_method("Generator", "withCount", one("count"));
    r.register_config_method("Generator", "withSize", one("size"));
    r.register_config_method("Generator", "withReliable", one("reliable"));
    r.register_config_method("Splitter", "setLowercase", one("lowercase"));
    r.register_config_method("Counter", "setField", one("field"));
    r.register_config_method("Counter", "setPassthrough", one("passthrough"));
    r.register_config_method("Map", "put", |p, args| match args {
        [Value::Str(k), v] => {
            p.set(k, v.clone());
            Ok(())
        }
        _ => Err("put takes two arguments: a text key and a value".into()),
    });
    r.register_config_method("List", "add", |p, args| {
        p.append(CONSTRUCTOR_ARGS, args);
        Ok(())
    });
}

/// Object classes for `components:`: `Endpoint` (one constructor argument, a libsock
/// endpoint, checked), `List` (its constructor arguments), `Map` (its properties), `Value`
/// (its one constructor argument, as is).
pub(super) fn builtin_objects(r: &mut Registry) {
    fn args(p: &Properties) -> Vec<Value> {
        match p.get(CONSTRUCTOR_ARGS) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }
    r.register_object("Endpoint", |p| {
        p.only(&[CONSTRUCTOR_ARGS])?;
        match &args(p)[..] {
            [Value::Str(ep)] => {
                libsock::Endpoint::parse(ep).map_err(|e| format!("invalid endpoint {ep:?}: {e}"))?;
                Ok(Value::Str(ep.clone()))
            }
            _ => Err("Endpoint takes one constructor argument, the endpoint text".into()),
        }
    });
    r.register_object("Value", |p| {
        p.only(&[CONSTRUCTOR_ARGS])?;
        match &args(p)[..] {
            [v] => Ok(v.clone()),
            a => Err(format!("Value takes one constructor argument, got {}", a.len())),
        }
    });
    r.register_object("List", |p| {
        p.only(&[CONSTRUCTOR_ARGS])?;
        Ok(Value::List(args(p)))
    });
    r.register_object("Map", |p| {
        if p.get(CONSTRUCTOR_ARGS).is_some() {
            return Err("Map takes properties (or put calls), not constructorArgs".into());
        }
        Ok(Value::Map(p.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
    });
}

fn socket_spec(p: &Properties) -> Result<SocketSpec, String> {
    let kind = p.str("type")?.ok_or("property \"type\" (the socket type, e.g. pull) is required")?;
    let kind = SocketType::from_name(kind.to_uppercase().as_bytes())
        .ok_or_else(|| format!("unknown socket type {kind:?}"))?;
    let mut spec = SocketSpec::new(kind);
    spec.bind = p.strs("bind")?;
    spec.connect = p.strs("connect")?;
    spec.subscribe = p.strs("subscribe")?;
    if let Some(h) = p.u64("hwm")? {
        spec.hwm = i32::try_from(h).map_err(|_| "property \"hwm\": too large")?;
    }
    spec.security = security(p)?;
    spec.wss = wss(p, &spec.bind, &spec.connect)?;
    spec.validate()?;
    Ok(spec)
}

pub(super) fn socket_spout(p: &Properties) -> Result<SpoutFactory, String> {
    p.only(
        &[
            &["type", "bind", "connect", "subscribe", "hwm", "fields", "reliable", "userIdField"],
            &SECURITY[..],
        ]
        .concat(),
    )?;
    let spec = socket_spec(p)?;
    let mut fields = p.strs("fields")?;
    if fields.is_empty() {
        fields.push("message".into());
    }
    let reliable = p.bool("reliable")?.unwrap_or(true);
    let user_id = p.str("userIdField")?;
    if user_id.as_ref().is_some_and(|u| u.is_empty() || fields.contains(u)) {
        return Err("property \"userIdField\": a name of its own, not empty nor one of `fields`".into());
    }
    Ok(Arc::new(move || {
        let spout = SocketSpout::new(spec.clone(), fields.clone(), reliable);
        Box::new(match &user_id {
            Some(name) => spout.user_id_field(name.clone()),
            None => spout,
        })
    }))
}

pub(super) fn socket_bolt(p: &Properties) -> Result<BoltFactory, String> {
    p.only(&[&["type", "bind", "connect", "hwm"], &SECURITY[..]].concat())?;
    let spec = socket_spec(p)?;
    Ok(Arc::new(move || Box::new(Basic(SocketBolt::new(spec.clone())))))
}

pub(super) fn generator(p: &Properties) -> Result<SpoutFactory, String> {
    p.only(&["sentences", "size", "count", "reliable"])?;
    let count = p.u64("count")?.unwrap_or(0);
    let sentences = p.strs("sentences")?;
    let g = if sentences.is_empty() {
        Generator::payload(p.u64("size")?.unwrap_or(100) as usize, count)
    } else {
        Generator::sentences(sentences, count)
    };
    let g = g.reliable(p.bool("reliable")?.unwrap_or(true));
    Ok(Arc::new(move || Box::new(g.clone())))
}
