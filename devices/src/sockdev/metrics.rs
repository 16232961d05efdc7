//! `--metrics ADDR`: the relay's counters in the Prometheus text format, over plain HTTP/1.0
//! (a scrape every few seconds needs nothing more): an accepting thread, and a short-lived one
//! per request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libsock::{ProxyStatistics, ProxyStats};

/// What the endpoint reports: the proxy's counters and the connections open per side.
pub struct Gauges {
    /// The proxy's counters.
    pub stats: Arc<ProxyStats>,
    /// Open connections of the frontend socket.
    pub frontend_connections: Arc<AtomicI64>,
    /// Open connections of the backend socket.
    pub backend_connections: Arc<AtomicI64>,
    /// The device's name, as a label.
    pub device: &'static str,
}

impl Gauges {
    /// The Prometheus text exposition of the current values.
    pub fn render(&self) -> String {
        let s: ProxyStatistics = self.stats.snapshot();
        let dev = self.device;
        let mut out = String::with_capacity(1024);
        let mut family = |name: &str, kind: &str, help: &str, values: [(&str, u64); 2]| {
            out.push_str(&format!("# HELP sockdev_{name} {help}\n# TYPE sockdev_{name} {kind}\n"));
            for (side, v) in values {
                out.push_str(&format!("sockdev_{name}{{device=\"{dev}\",side=\"{side}\"}} {v}\n"));
            }
        };
        let (f, b) = (s.frontend, s.backend);
        family(
            "messages_received_total",
            "counter",
            "Messages received from this side.",
            [("frontend", f.msg_in), ("backend", b.msg_in)],
        );
        family(
            "bytes_received_total",
            "counter",
            "Bytes received from this side.",
            [("frontend", f.bytes_in), ("backend", b.bytes_in)],
        );
        family(
            "messages_sent_total",
            "counter",
            "Messages sent to this side.",
            [("frontend", f.msg_out), ("backend", b.msg_out)],
        );
        family(
            "bytes_sent_total",
            "counter",
            "Bytes sent to this side.",
            [("frontend", f.bytes_out), ("backend", b.bytes_out)],
        );
        let conns = |c: &AtomicI64| c.load(Ordering::Relaxed).max(0) as u64;
        family(
            "connections",
            "gauge",
            "Connections open on this side's socket.",
            [("frontend", conns(&self.frontend_connections)), ("backend", conns(&self.backend_connections))],
        );
        out.push_str("# HELP sockdev_capture_dropped_total Copies the capture socket had no room for.\n");
        out.push_str("# TYPE sockdev_capture_dropped_total counter\n");
        out.push_str(&format!("sockdev_capture_dropped_total{{device=\"{dev}\"}} {}\n", s.capture_dropped));
        out
    }
}

/// Requests answered at once; a connection beyond them is closed unanswered, so clients that
/// never finish their request cannot pile up threads.
const MAX_IN_FLIGHT: usize = 8;

/// How long a client has to send its request, in all: a slow one cannot hold a slot longer.
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// Binds `addr` now (so a refused address is reported at startup) and serves from a thread,
/// each request on a short-lived thread of its own (at most 8, `MAX_IN_FLIGHT`), so that one
/// slow client does not hold up the scrapes of others.
pub fn serve(addr: &str, gauges: Gauges) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let gauges = Arc::new(gauges);
    let in_flight = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("sockdev-metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                tracing::debug!("metrics: {MAX_IN_FLIGHT} requests in flight; closed a connection");
                continue;
            }
            let (gauges, done) = (gauges.clone(), in_flight.clone());
            let spawned = std::thread::Builder::new().name("sockdev-metrics-req".into()).spawn(move || {
                if let Err(e) = answer(stream, &gauges) {
                    tracing::debug!(error = %e, "metrics: request failed");
                }
                done.fetch_sub(1, Ordering::AcqRel);
            });
            if let Err(e) = spawned {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!(error = %e, "metrics: no thread for a request");
            }
        }
    })?;
    Ok(local)
}

/// Reads one request (headers only, at most 8 KiB, within [`REQUEST_DEADLINE`]) and answers it.
fn answer(mut stream: TcpStream, gauges: &Gauges) -> std::io::Result<()> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    stream.set_write_timeout(Some(REQUEST_DEADLINE))?;
    let mut buf = [0u8; 8192];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && !buf[..len].windows(2).any(|w| w == b"\n\n") {
        if len == buf.len() {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "headers too large\n",
            );
        }
        // The time left, not a fresh timeout per read: a byte every second would never end.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let request = String::from_utf8_lossy(&buf[..len]);
    let mut words = request.split_whitespace();
    match (words.next(), words.next()) {
        (Some("GET"), Some("/metrics" | "/")) => {
            respond(&mut stream, "200 OK", "text/plain; version=0.0.4; charset=utf-8", &gauges.render())
        }
        (Some("GET"), _) => respond(&mut stream, "404 Not Found", "text/plain", "try /metrics\n"),
        _ => respond(&mut stream, "405 Method Not Allowed", "text/plain", "GET only\n"),
    }
}

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_prometheus_text() {
        let gauges = Gauges {
            stats: Arc::default(),
            frontend_connections: Arc::new(AtomicI64::new(3)),
            backend_connections: Arc::default(),
            device: "queue",
        };
        let addr = serve("127.0.0.1:0", gauges).unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let page = get("/metrics");
        assert!(page.starts_with("HTTP/1.0 200 OK\r\n"), "{page}");
        assert!(page.contains("sockdev_connections{device=\"queue\",side=\"frontend\"} 3\n"), "{page}");
        assert!(page.contains("# TYPE sockdev_messages_received_total counter\n"), "{page}");
        assert!(get("/nope").starts_with("HTTP/1.0 404"));
    }

    #[test]
    fn slow_clients_neither_hold_up_a_scrape_nor_stay_past_the_deadline() {
        let gauges = Gauges {
            stats: Arc::default(),
            frontend_connections: Arc::default(),
            backend_connections: Arc::default(),
            device: "queue",
        };
        let addr = serve("127.0.0.1:0", gauges).unwrap();
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
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut page = String::new();
        s.read_to_string(&mut page).unwrap();
        assert!(page.starts_with("HTTP/1.0 200 OK\r\n"), "{page}");
        assert!(t0.elapsed() < Duration::from_millis(1000), "the scrape waited {:?}", t0.elapsed());
        assert!(trickle.join().unwrap(), "a slow client was still connected past the deadline");
    }
}
