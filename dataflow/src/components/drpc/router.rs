//! `DrpcRouter`: one address for many DRPC functions, as Storm's DRPC server is on port 3772.
//!
//! Clients send `[FUNCTION, ARGUMENT]` (a REQ, or a DEALER with REQ's empty delimiter) to its
//! ROUTER socket; it hands each request to a DEALER connected to that function's spout tasks
//! (their `bind` endpoints; round robin over the connected ones) and each answer back to its
//! client, envelope untouched. It keeps no state: the spouts answer every request, failures
//! and timeouts included. An unknown function, a malformed request and a function none of
//! whose spouts is connected (or all are full) are answered `[ERROR, why]` at once. It may be a
//! CURVE or PLAIN server to its clients and a CURVE or PLAIN client of its spouts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libsock::{Context, PollItem, Socket, SocketType, DONTWAIT, POLLIN, POLLOUT};

use super::protocol::{self, Request, ERROR};
use super::router_stats::{Refusal, RouterStats};
use crate::components::{EdgeSocket, Security};

/// How long a poll waits before the loop looks at its stop flag.
const POLL_MS: i64 = 100;
/// Messages taken from one socket before the others get a turn.
const BATCH: usize = 256;

/// One function's spouts.
struct Route {
    function: String,
    backend: Socket,
}

/// Where a client's message goes.
#[derive(Debug, PartialEq)]
enum Decision {
    /// To route `index`, as these frames.
    Forward(usize, Vec<Vec<u8>>),
    /// Straight back to the client, as these frames.
    Answer(Refusal, Vec<Vec<u8>>),
}

/// Routes `[FUNCTION, ARGUMENT]` requests to the spouts serving each function.
pub struct DrpcRouter {
    frontend: EdgeSocket,
    routes: Vec<Route>,
    stats: Arc<RouterStats>,
    _ctx: Context,
}

impl DrpcRouter {
    /// Binds the clients' ROUTER at `bind` and connects one DEALER per function to its spouts'
    /// endpoints (`(function, endpoints)` pairs), without security.
    pub fn new(bind: &[String], functions: &[(String, Vec<String>)]) -> Result<DrpcRouter, String> {
        DrpcRouter::secured(bind, functions, &Security::Null, &Security::Null)
    }

    /// [`DrpcRouter::new`] with `frontend` security for the clients' socket (a CURVE or PLAIN
    /// server) and `backend` security for the links to every spout (a CURVE or PLAIN client).
    pub fn secured(
        bind: &[String],
        functions: &[(String, Vec<String>)],
        frontend: &Security,
        backend: &Security,
    ) -> Result<DrpcRouter, String> {
        let ctx = Context::new();
        let err = |e: libsock::Error| e.to_string();
        if bind.is_empty() || functions.is_empty() {
            return Err("a DRPC router needs an endpoint to bind and at least one function".into());
        }
        if matches!(frontend, Security::CurveClient { .. } | Security::PlainClient { .. })
            || matches!(backend, Security::CurveServer { .. } | Security::PlainServer { .. })
        {
            return Err("a DRPC router is a server to its clients and a client of its spouts".into());
        }
        frontend.validate(bind)?;
        backend.validate(functions.iter().flat_map(|(_, eps)| eps))?;
        let mut routes: Vec<Route> = Vec::with_capacity(functions.len());
        let backend_security = backend;
        for (function, endpoints) in functions {
            if function.is_empty() || endpoints.is_empty() {
                return Err(format!("function {function:?}: a name and at least one spout endpoint"));
            }
            if routes.iter().any(|r| r.function == *function) {
                return Err(format!("function {function:?} is routed twice: list its endpoints once"));
            }
            let backend = ctx.socket(SocketType::DEALER).map_err(err)?;
            // Requests only go to spouts that are there; none connected is an error at once.
            backend.set_immediate(true).map_err(err)?;
            backend.set_linger(0).map_err(err)?;
            backend_security.apply(&backend).map_err(|e| format!("backend security: {e}"))?;
            for ep in endpoints {
                backend.connect(ep).map_err(|e| format!("function {function:?}: connect {ep}: {e}"))?;
            }
            routes.push(Route { function: function.clone(), backend });
        }
        let frontend_security = frontend;
        let frontend = EdgeSocket::open(&ctx, frontend_security, |ctx| {
            let frontend = ctx.socket(SocketType::ROUTER).map_err(err)?;
            frontend.set_linger(0).map_err(err)?;
            frontend.set_maxmsgsize(16 << 20).map_err(err)?;
            frontend_security.apply(&frontend).map_err(|e| format!("frontend security: {e}"))?;
            for ep in bind {
                frontend.bind(ep).map_err(|e| format!("bind {ep}: {e}"))?;
            }
            Ok(frontend)
        })?;
        let stats = Arc::new(RouterStats::new(routes.iter().map(|r| r.function.clone()).collect()));
        Ok(DrpcRouter { frontend, routes, stats, _ctx: ctx })
    }

    /// The endpoint the clients' socket bound last (a `tcp://…:*` port resolved).
    pub fn endpoint(&self) -> Result<String, String> {
        self.frontend.get_last_endpoint().map_err(|e| e.to_string())
    }

    /// Its counters, updated as it routes.
    pub fn stats(&self) -> Arc<RouterStats> {
        self.stats.clone()
    }

    /// Routes until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), String> {
        while !stop.load(Ordering::Relaxed) {
            self.stats.turned();
            let (front, back): (bool, Vec<bool>) = {
                let mut items: Vec<PollItem<'_>> = std::iter::once(self.frontend.socket())
                    .chain(self.routes.iter().map(|r| &r.backend))
                    .map(|s| s.as_poll_item(POLLIN))
                    .collect();
                match libsock::poll(&mut items, POLL_MS) {
                    Ok(_) | Err(libsock::Error::Interrupted) => {}
                    Err(e) => return Err(format!("poll: {e}")),
                }
                (items[0].is_readable(), items[1..].iter().map(PollItem::is_readable).collect())
            };
            for (i, ready) in back.into_iter().enumerate() {
                if ready {
                    self.answers_from(i);
                }
            }
            if front {
                self.requests();
            }
        }
        Ok(())
    }

    /// Hands the spouts' answers back to their clients.
    fn answers_from(&mut self, route: usize) {
        for _ in 0..BATCH {
            let Ok(frames) = self.routes[route].backend.recv_multipart(DONTWAIT) else { return };
            // A client that left is dropped by the ROUTER, as any reply to it.
            let _ = self.frontend.send_multipart(frames, DONTWAIT);
        }
    }

    /// Routes the clients' requests.
    fn requests(&mut self) {
        for _ in 0..BATCH {
            let Ok(frames) = self.frontend.recv_multipart(DONTWAIT) else { return };
            let (why, reply) = match decide(&self.routes, frames) {
                Decision::Forward(i, frames) => {
                    let route = &self.routes[i];
                    // With IMMEDIATE a DEALER is writable only toward connected spouts.
                    if route.backend.get_events().is_ok_and(|e| e & POLLOUT != 0) {
                        match route.backend.send_multipart(frames, DONTWAIT) {
                            Ok(()) => self.stats.routed(i),
                            // Unlikely (it was writable): the client's call times out.
                            Err(e) => tracing::warn!(function = %route.function, "request dropped: {e}"),
                        }
                        continue;
                    }
                    let why = format!(
                        "no spout of {:?} can take the request now (none connected, or all full)",
                        route.function
                    );
                    let mut envelope = frames;
                    envelope.truncate(envelope.len() - 2);
                    (Refusal::NoSpout, protocol::reply(envelope, ERROR, why.into_bytes()))
                }
                Decision::Answer(why, reply) => (why, reply),
            };
            self.stats.refused(why);
            let _ = self.frontend.send_multipart(reply, DONTWAIT);
        }
    }
}

/// Where a client's message goes: to the route of its function, or back with an error.
fn decide(routes: &[Route], frames: Vec<Vec<u8>>) -> Decision {
    let Request { mut envelope, function, args } = match protocol::parse_request(frames) {
        Ok(r) => r,
        Err((envelope, why)) => {
            return Decision::Answer(Refusal::Malformed, protocol::reply(envelope, ERROR, why.into_bytes()))
        }
    };
    match routes.iter().position(|r| r.function.as_bytes() == function) {
        Some(i) => {
            envelope.extend([function, args]);
            Decision::Forward(i, envelope)
        }
        None => {
            let known: Vec<String> = routes.iter().map(|r| format!("{:?}", r.function)).collect();
            let why = format!(
                "unknown DRPC function {:?}: this router serves {}",
                String::from_utf8_lossy(&function),
                known.join(", ")
            );
            Decision::Answer(Refusal::UnknownFunction, protocol::reply(envelope, ERROR, why.into_bytes()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(names: &[&str]) -> (Context, Vec<Route>) {
        let ctx = Context::new();
        let routes = names
            .iter()
            .map(|n| Route { function: n.to_string(), backend: ctx.socket(SocketType::DEALER).unwrap() })
            .collect();
        (ctx, routes)
    }

    fn frames(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn requests_go_to_their_function_and_the_rest_back_with_why() {
        let (_ctx, routes) = routes(&["exclamation", "reverse"]);
        let request = frames(&["client", "7", "", "reverse", "abc"]);
        assert_eq!(decide(&routes, request.clone()), Decision::Forward(1, request));
        let unknown = "unknown DRPC function \"shout\": this router serves \"exclamation\", \"reverse\"";
        assert_eq!(
            decide(&routes, frames(&["client", "", "shout", "x"])),
            Decision::Answer(Refusal::UnknownFunction, frames(&["client", "", "ERROR", unknown]))
        );
        let bad = "bad request: expected 2 frames (function, argument), got 1";
        assert_eq!(
            decide(&routes, frames(&["client", "", "exclamation"])),
            Decision::Answer(Refusal::Malformed, frames(&["client", "", "ERROR", bad]))
        );
    }
}
