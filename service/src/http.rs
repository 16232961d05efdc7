//! The HTTP endpoint of `--metrics ADDR`: `/metrics` (and `/`) in the Prometheus text format,
//! `/healthz` (liveness: Kubernetes restarts a process that fails it) and `/readyz`
//! (readiness: traffic is sent its way only while it passes), over plain HTTP/1.1 with
//! `Connection: close` (a scrape or a probe every few seconds needs nothing more).
//!
//! Every client is hostile until it has sent its request line: at most [`IN_FLIGHT`] are
//! answered at once (each on a short-lived thread, so one that sends nothing holds up no one
//! else), each has [`REQUEST_DEADLINE`] in all to send it, and at most 2 KiB of it is read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `/metrics` answers: the Prometheus text of the moment.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// What `/healthz` or `/readyz` answers: `Ok(line)` is 200, `Err(why)` is 503.
pub type Check = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// The three pages.
pub struct Site {
    /// `/metrics` and `/`.
    pub metrics: Render,
    /// `/healthz`.
    pub health: Check,
    /// `/readyz`.
    pub ready: Check,
}

/// Requests answered at once; a connection beyond them is closed unanswered, so clients that
/// never finish cannot pile up threads.
pub const IN_FLIGHT: usize = 8;

/// How long a client has to send its request line, in all: a slow one cannot hold a slot
/// longer.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// Binds `addr` now (so that a refused address is reported at startup) and serves `site` from
/// a thread, each request on a short-lived thread of its own (at most [`IN_FLIGHT`]).
/// Returns the address it listens on (`:0` picks a port).
pub fn serve(addr: &str, site: Site) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let site = Arc::new(site);
    let in_flight = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("http".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            if in_flight.fetch_add(1, Ordering::AcqRel) >= IN_FLIGHT {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                tracing::debug!("http: {IN_FLIGHT} requests in flight; closed a connection");
                continue;
            }
            let (site, done) = (site.clone(), in_flight.clone());
            let spawned = std::thread::Builder::new().name("http-req".into()).spawn(move || {
                answer(conn, &site);
                done.fetch_sub(1, Ordering::AcqRel);
            });
            if let Err(e) = spawned {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!(error = %e, "http: no thread for a request");
            }
        }
    })?;
    Ok(local)
}

/// Reads the request's first line (what arrives of it within [`REQUEST_DEADLINE`], at most
/// 2 KiB) and answers it by that line.
fn answer(mut conn: TcpStream, site: &Site) {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let _ = conn.set_write_timeout(Some(REQUEST_DEADLINE));
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() && !buf[..n].contains(&b'\n') {
        // The time left, not a fresh timeout per read: a byte every second would never end.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match conn.read(&mut buf[n..]) {
            Ok(0) | Err(_) => return,
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
        "/metrics" | "/" => {
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", (site.metrics)(), head_only)
        }
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

    fn get(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
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
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.write_all(b"GE").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        conn.write_all(b"T /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
        let head = get(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"), "{head}");
        assert!(head.contains("Content-Length: 4\r\n"), "{head}");
    }

    #[test]
    fn slow_clients_neither_hold_up_a_scrape_nor_stay_past_the_deadline() {
        let addr = serve("127.0.0.1:0", site(true)).unwrap();
        // Each sends a byte a second: every read ends well within a per-read timeout.
        let mut slow: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let trickle = std::thread::spawn(move || {
            for _ in 0..4 {
                for s in &mut slow {
                    // (fails once the server hung up: what is checked below)
                    let _ = s.write_all(b"G");
                }
                std::thread::sleep(Duration::from_millis(900));
            }
            // The server hung up on each at its deadline: reading gives end of file.
            slow.iter_mut().all(|s| {
                s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                match s.read(&mut [0u8; 16]) {
                    Ok(n) => n == 0,
                    Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                }
            })
        });
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        let page = get(addr, b"GET /metrics HTTP/1.0\r\n\r\n");
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(t0.elapsed() < Duration::from_millis(1000), "the scrape waited {:?}", t0.elapsed());
        assert!(trickle.join().unwrap(), "a slow client was still connected past the deadline");
    }

    #[test]
    fn connections_beyond_the_limit_are_closed_unanswered() {
        let addr = serve("127.0.0.1:0", site(true)).unwrap();
        let idle: Vec<TcpStream> = (0..IN_FLIGHT).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut extra = TcpStream::connect(addr).unwrap();
        extra.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = extra.read_to_string(&mut out);
        assert_eq!(out, "", "answered beyond {IN_FLIGHT} in flight");
        drop(idle);
        // The slots come back once those clients are gone (each ends at end of file).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let page = get(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
            if page.starts_with("HTTP/1.1 200 OK") {
                break;
            }
            assert!(Instant::now() < deadline, "no slot came back: {page:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
