//! Monitor events of one library's sockets, read as the tests compare them: each event's
//! name, the value where it is an errno or a protocol code, and its endpoint with the
//! addresses that differ between the two sides (a server's port or path, a client's port)
//! replaced by names.

use std::time::{Duration, Instant};

use crate::twin::{Maker, Twin};

/// Every event (`ZMQ_EVENT_ALL`).
pub const EVENT_ALL: i32 = 0xffff;

/// One library's monitors, socket by socket, and the names its addresses read as.
pub struct Watch {
    monitors: Vec<Twin>,
    /// Text as one side writes it, and as the reports show it (the same on both sides).
    names: Vec<(String, String)>,
}

impl Watch {
    /// Watches nothing yet; `names` are the side's own addresses and what they read as.
    pub fn new(names: Vec<(String, String)>) -> Watch {
        Watch { monitors: Vec::new(), names }
    }

    /// Monitors `socket` (every event) through the inproc `address`: its events are those of
    /// the next index.
    pub fn attach(&mut self, maker: &Maker, socket: &Twin, address: &str) {
        socket.monitor(address, EVENT_ALL).expect("monitor");
        let reader = maker.socket(libsock::PAIR, zmq::PAIR);
        reader.connect(address).expect("monitor reader");
        self.monitors.push(reader);
    }

    /// `text` with the side's addresses named as both sides name them, and any other
    /// loopback port (a client's, chosen by the kernel) as `PEER`.
    pub fn normalise(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (from, to) in &self.names {
            text = text.replace(from, to);
        }
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some((head, tail)) = rest.split_once("127.0.0.1:") {
            out.push_str(head);
            out.push_str("127.0.0.1:");
            rest = tail;
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                out.push_str("PEER");
                rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            }
        }
        out.push_str(rest);
        out
    }

    /// One monitor event of socket `who`, read without waiting.
    pub fn next_event(&self, who: usize) -> Option<String> {
        let frames = self.monitors[who].recv_message().ok()?;
        let head = frames.first().filter(|f| f.len() == 6)?;
        let event = u16::from_le_bytes([head[0], head[1]]);
        let value = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
        let name = event_name(event);
        // Other values are descriptors or jittered intervals.
        let shown = match name.as_str() {
            "CONNECT_DELAYED" | "BIND_FAILED" | "ACCEPT_FAILED" | "CLOSE_FAILED" => format!(" {value}"),
            n if n.starts_with("HANDSHAKE_FAILED") => format!(" {value}"),
            _ => String::new(),
        };
        let endpoint = frames.get(1).map(|e| String::from_utf8_lossy(e).into_owned()).unwrap_or_default();
        Some(format!("{name}{shown} {}", self.normalise(&endpoint)))
    }

    /// Every monitor's events until none came for `quiet` (at most 3 s). Each round asks
    /// the open `sockets` for ZMQ_EVENTS, which lets them act on what their peers told them,
    /// and calls `tick`, which says whether it did something that counts as activity; events
    /// `skip(who, event)` names are left out.
    pub fn settle(
        &self,
        sockets: &[Option<Twin>],
        quiet: Duration,
        mut tick: impl FnMut() -> bool,
        skip: impl Fn(usize, &str) -> bool,
    ) -> Vec<Vec<String>> {
        let mut seen = vec![Vec::new(); self.monitors.len()];
        let start = Instant::now();
        let mut last = start;
        while last.elapsed() < quiet && start.elapsed() < Duration::from_secs(3) {
            for s in sockets.iter().flatten() {
                let _ = s.events();
            }
            if tick() {
                last = Instant::now();
            }
            for (who, events) in seen.iter_mut().enumerate() {
                while let Some(e) = self.next_event(who) {
                    if !skip(who, &e) {
                        events.push(e);
                        last = Instant::now();
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        seen
    }
}

/// A server endpoint of its own for one side (`libsock`, or libzmq) of case `name`, and the
/// names its address reads as in reports: a free loopback port (each side its own, so the
/// two never meet) as `127.0.0.1:SERVER`, or an ipc path as `ipc://SERVER`.
pub fn server_endpoint(libsock: bool, ipc: bool, name: &str) -> (String, Vec<(String, String)>) {
    let lib = if libsock { "ls" } else { "zmq" };
    if ipc {
        let path = std::env::temp_dir().join(format!("diff-{name}-{lib}-{}.ipc", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let endpoint = format!("ipc://{}", path.display());
        (endpoint.clone(), vec![(endpoint, "ipc://SERVER".to_string())])
    } else {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        (
            format!("tcp://127.0.0.1:{port}"),
            vec![(format!("127.0.0.1:{port}"), "127.0.0.1:SERVER".to_string())],
        )
    }
}

/// Removes the socket file of an ipc `endpoint` (others: nothing to do).
pub fn remove_ipc_file(endpoint: &str) {
    if let Some(path) = endpoint.strip_prefix("ipc://") {
        let _ = std::fs::remove_file(path);
    }
}

/// A monitor event's name (libzmq's `ZMQ_EVENT_*`, without the prefix).
fn event_name(event: u16) -> String {
    const NAMES: [&str; 16] = [
        "CONNECTED",
        "CONNECT_DELAYED",
        "CONNECT_RETRIED",
        "LISTENING",
        "BIND_FAILED",
        "ACCEPTED",
        "ACCEPT_FAILED",
        "CLOSED",
        "CLOSE_FAILED",
        "DISCONNECTED",
        "MONITOR_STOPPED",
        "HANDSHAKE_FAILED_NO_DETAIL",
        "HANDSHAKE_SUCCEEDED",
        "HANDSHAKE_FAILED_PROTOCOL",
        "HANDSHAKE_FAILED_AUTH",
        "UNKNOWN_16",
    ];
    match event.trailing_zeros() as usize {
        n if event.count_ones() == 1 && n < NAMES.len() => NAMES[n].to_string(),
        _ => format!("event {event:#x}"),
    }
}
