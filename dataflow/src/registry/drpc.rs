//! Storm's DRPC classes: `DRPCSpout` and `ReturnResults` (also by their Storm names).

use std::sync::Arc;

use libsock::SocketType;

use super::security::{security, wss, PROPERTIES as SECURITY};
use super::{Properties, Registry, CONSTRUCTOR_ARGS};
use crate::component::Basic;
use crate::components::drpc::{DrpcSpout, ReturnResults};
use crate::components::SocketSpec;
use crate::tuple::Value;

const SPOUT_CLASSES: [&str; 2] = ["DRPCSpout", "org.apache.storm.drpc.DRPCSpout"];
const RESULTS_CLASSES: [&str; 2] = ["ReturnResults", "org.apache.storm.drpc.ReturnResults"];

/// Registers the DRPC spout (`constructorArgs: [function]`, as Storm's; properties `bind`,
/// `connect`, `hwm`, `results` and the security ones of `SocketSpout`) and `ReturnResults`, with their config methods.
pub(super) fn register(r: &mut Registry) {
    for class in SPOUT_CLASSES {
        super::security::register_methods(r, class);
        r.register_spout(class, |p| {
            let (function, spec, results) = spout(p)?;
            Ok(Arc::new(move || {
                let spout = DrpcSpout::new(function.clone(), spec.clone());
                Box::new(match &results {
                    Some(r) => spout.results_endpoint(r.clone()),
                    None => spout,
                })
            }))
        });
        r.register_config_method(class, "withBind", |p, args| {
            p.append("bind", args);
            Ok(())
        });
        r.register_config_method(class, "withConnect", |p, args| {
            p.append("connect", args);
            Ok(())
        });
        r.register_config_method(class, "withResults", |p, args| match args {
            [v] => {
                p.set("results", v.clone());
                Ok(())
            }
            _ => Err(format!("takes exactly one argument (the results endpoint), got {}", args.len())),
        });
    }
    for class in RESULTS_CLASSES {
        r.register_bolt(class, |p| {
            p.only(&[])?;
            Ok(Arc::new(|| Box::new(Basic(ReturnResults::new()))))
        });
    }
}

/// The function, the clients' socket and the results endpoint, checked.
fn spout(p: &Properties) -> Result<(String, SocketSpec, Option<String>), String> {
    p.only(&[&[CONSTRUCTOR_ARGS, "bind", "connect", "hwm", "results"], &SECURITY[..]].concat())?;
    let function = match p.get(CONSTRUCTOR_ARGS) {
        Some(Value::List(args)) => match &args[..] {
            [Value::Str(f)] if !f.is_empty() => f.clone(),
            _ => return Err("DRPCSpout takes one constructor argument, the function's name (text)".into()),
        },
        _ => return Err("DRPCSpout needs constructorArgs: [FUNCTION], the function it serves".into()),
    };
    let mut spec = SocketSpec::new(SocketType::ROUTER);
    spec.bind = p.strs("bind")?;
    spec.connect = p.strs("connect")?;
    if let Some(h) = p.u64("hwm")? {
        spec.hwm = i32::try_from(h).map_err(|_| "property \"hwm\": too large")?;
    }
    if spec.bind.is_empty() && spec.connect.is_empty() {
        return Err("DRPCSpout needs a `bind` endpoint for its clients (Storm's DRPC port is 3772: \
                    tcp://0.0.0.0:3772), or `connect` to a queue device's backend"
            .into());
    }
    spec.security = security(p)?;
    spec.wss = wss(p, &spec.bind, &spec.connect)?;
    spec.validate()?;
    let results = p.str("results")?;
    if let Some(r) = &results {
        libsock::Endpoint::parse(r).map_err(|e| format!("property \"results\": {r:?}: {e}"))?;
    }
    Ok((function, spec, results))
}
