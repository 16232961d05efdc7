//! A tiny HTTP server on a STREAM socket: plain TCP clients (curl, a browser) talk to it.
//!
//! ```sh
//! cargo run -p libsock --example http_stream -- tcp://127.0.0.1:8080
//! curl http://127.0.0.1:8080/hello
//! ```
//!
//! Each request is answered with `200 OK` and a short text naming the path, then the
//! connection is closed by sending `[id, empty]`. A request head over 16 KiB gets `431` and a
//! close: a client cannot make the server buffer without bound.

use std::collections::HashMap;

use libsock::{Context, Socket, SNDMORE, STREAM};

/// The most bytes of request head kept per connection.
const MAX_HEAD: usize = 16 * 1024;

fn main() -> Result<(), libsock::Error> {
    let endpoint = std::env::args().nth(1).unwrap_or_else(|| "tcp://127.0.0.1:8080".to_string());
    let ctx = Context::new();
    let socket = ctx.socket(STREAM)?;
    socket.bind(&endpoint)?;
    eprintln!("serving HTTP on {}", socket.get_last_endpoint()?);
    serve(&socket, None)
}

/// Answers requests on `socket` (a bound STREAM socket); returns after `limit` complete
/// requests, answered or not (a client may leave before its answer is sent).
pub fn serve(socket: &Socket, limit: Option<usize>) -> Result<(), libsock::Error> {
    let mut heads: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut handled = 0;
    while limit.is_none_or(|n| handled < n) {
        let id = socket.recv_bytes(0)?;
        let data = socket.recv_bytes(0)?;
        if data.is_empty() {
            // STREAM_NOTIFY: a client connected or went away.
            heads.remove(&id);
            continue;
        }
        let head = heads.entry(id.clone()).or_default();
        head.extend_from_slice(&data);
        let response = if head.len() > MAX_HEAD {
            respond("431 Request Header Fields Too Large", "request head too large\n")
        } else if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            answer(&head[..end])
        } else {
            continue; // the rest of the head is still on its way
        };
        heads.remove(&id);
        if !reply(socket, &id, &response)? {
            eprintln!("client {id:02x?} had already gone (host unreachable); skipped");
        }
        handled += 1;
    }
    Ok(())
}

/// Sends `response` to the peer `id`, then closes its connection once the response is
/// written. `Ok(false)`: the peer is gone (it closed or failed first: HostUnreachable, as
/// libzmq's STREAM reports too); a server skips it and serves the others.
///
/// A client may well close as soon as it has the whole response (curl does, having read
/// Content-Length bytes of a `Connection: close` answer), so even the closing frame can find
/// the peer gone: what was queued before has been written by then.
pub fn reply(socket: &Socket, id: &[u8], response: &[u8]) -> Result<bool, libsock::Error> {
    let sent = (|| {
        socket.send(id, SNDMORE)?;
        socket.send(response, 0)?;
        // An empty frame closes the connection once the response is written.
        socket.send(id, SNDMORE)?;
        socket.send(&b""[..], 0)
    })();
    match sent {
        Ok(()) => Ok(true),
        Err(libsock::Error::HostUnreachable) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The response to a request head (without its final blank line).
fn answer(head: &[u8]) -> Vec<u8> {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET" | "HEAD"), Some(path), Some(v)) if v.starts_with("HTTP/1.") => {
            respond("200 OK", &format!("Hello from libsock! You asked for {path}\n"))
        }
        (Some(_), Some(_), Some(v)) if v.starts_with("HTTP/1.") => {
            respond("405 Method Not Allowed", "only GET and HEAD\n")
        }
        _ => respond("400 Bad Request", "malformed request line\n"),
    }
}

fn respond(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
