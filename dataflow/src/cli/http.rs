//! The HTTP endpoint of `--metrics ADDR`: `/metrics` (the Prometheus text format), `/healthz`
//! (liveness: Kubernetes restarts a worker that fails it) and `/readyz` (readiness: false
//! while starting and stopping).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `/metrics` answers: the Prometheus text of the moment.
pub(super) type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// What `/healthz` or `/readyz` answers: `Ok(line)` is 200, `Err(why)` is 503.
pub(super) type Check = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// The three pages.
pub(super) struct Site {
    pub metrics: Render,
    pub health: Check,
    pub ready: Check,
}

impl Site {
    /// Metrics only; always healthy and ready (a process whose work is one loop that
    /// either runs or has exited).
    pub fn metrics_only(metrics: Render) -> Site {
        let ok: Check = Arc::new(|| Ok("ok".to_owned()));
        Site { metrics, health: ok.clone(), ready: ok }
    }
}

/// Requests answered at once; a connection beyond them is closed unanswered, so clients that
/// never finish cannot pile up threads.
const IN_FLIGHT: usize = 8;

/// Serves `site` on `addr`: an accepting thread, and a short-lived one per request (at most
/// [`IN_FLIGHT`]), so that a client that sends nothing holds up no one else's scrape.
/// Returns the address it listens on.
pub(super) fn serve(addr: &str, site: Site) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("--metrics {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| format!("--metrics {addr}: {e}"))?;
    tracing::info!("metrics on http://{local}/metrics (and /healthz, /readyz)");
    let site = Arc::new(site);
    let in_flight = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                if in_flight.fetch_add(1, Ordering::AcqRel) >= IN_FLIGHT {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
                let (site, done) = (site.clone(), in_flight.clone());
                let spawned = std::thread::Builder::new().name("metrics-req".into()).spawn(move || {
                    answer(conn, &site);
                    done.fetch_sub(1, Ordering::AcqRel);
                });
                if spawned.is_err() {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                }
            }
        })
        .map_err(|e| format!("metrics thread: {e}"))?;
    Ok(local)
}

/// Reads the request's first line (what arrives of it within 2 s, at most 2 KiB) and answers
/// it by that line.
fn answer(mut conn: std::net::TcpStream, site: &Site) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() && !buf[..n].contains(&b'\n') {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match conn.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let (status, kind, body, head_only) = route(&buf[..n], site);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    if !head_only {
        let _ = conn.write_all(body.as_bytes());
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The status line, content type and body for a request (its first line is all that
/// matters), and whether only the head goes out (HEAD).
fn route(request: &[u8], site: &Site) -> (&'static str, &'static str, String, bool) {
    let line = request.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return ("405 Method Not Allowed", TEXT, "GET or HEAD only\n".into(), head_only);
    }
    let path = target.split('?').next().unwrap_or("");
    let check = |c: &Check| match c() {
        Ok(line) => ("200 OK", TEXT, line + "\n", head_only),
        Err(why) => ("503 Service Unavailable", TEXT, why + "\n", head_only),
    };
    match path {
        "/metrics" | "/" => ("200 OK", "text/plain; version=0.0.4", (site.metrics)(), head_only),
        "/healthz" => check(&site.health),
        "/readyz" => check(&site.ready),
        _ => ("404 Not Found", TEXT, "try /metrics, /healthz or /readyz\n".into(), head_only),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(healthy: bool) -> Site {
        let health: Check =
            Arc::new(move || if healthy { Ok("ok".into()) } else { Err("stalled: x".into()) });
        Site { metrics: Arc::new(|| "m 1\n".into()), health, ready: Arc::new(|| Err("starting".into())) }
    }

    #[test]
    fn requests_are_routed_by_method_and_path() {
        let s = site(true);
        let r = |req: &str| {
            let (status, _, body, head) = route(req.as_bytes(), &s);
            (status, body, head)
        };
        assert_eq!(r("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), ("200 OK", "m 1\n".into(), false));
        assert_eq!(r("GET / HTTP/1.0\r\n\r\n").1, "m 1\n");
        assert_eq!(r("GET /healthz HTTP/1.1\r\n\r\n"), ("200 OK", "ok\n".into(), false));
        assert_eq!(
            r("GET /readyz?verbose HTTP/1.1\r\n\r\n"),
            ("503 Service Unavailable", "starting\n".into(), false)
        );
        assert!(r("HEAD /healthz HTTP/1.1\r\n\r\n").2, "HEAD answers the head only");
        assert_eq!(r("GET /nope HTTP/1.1\r\n\r\n").0, "404 Not Found");
        assert_eq!(r("POST /metrics HTTP/1.1\r\n\r\n").0, "405 Method Not Allowed");
        assert_eq!(r("\u{0}\u{ff}garbage").0, "405 Method Not Allowed");
        assert_eq!(r("").0, "405 Method Not Allowed");
        let sick = site(false);
        assert_eq!(route(b"GET /healthz HTTP/1.1\r\n\r\n", &sick).0, "503 Service Unavailable");
    }

    #[test]
    fn a_request_line_in_pieces_is_read_whole() {
        let addr = serve("127.0.0.1:0", site(true)).unwrap();
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.write_all(b"GE").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        conn.write_all(b"T /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
    }
}
