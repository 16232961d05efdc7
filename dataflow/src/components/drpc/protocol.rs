//! What DRPC clients, the spout and `ReturnResults` say to one another, without I/O: the
//! request and reply frames, the `return-info` text and the result message.

/// The status frame of a reply that carries the function's result.
pub const OK: &[u8] = b"OK";
/// The status frame of a reply that carries why the request failed.
pub const ERROR: &[u8] = b"ERROR";

/// A request as the spout's ROUTER socket receives it.
#[derive(Debug, PartialEq)]
pub struct Request {
    /// The frames to send the reply back with: the routing ids and the empty delimiter.
    pub envelope: Vec<Vec<u8>>,
    /// The function called.
    pub function: Vec<u8>,
    /// Its argument.
    pub args: Vec<u8>,
}

/// Splits a received message into its envelope (up to and including the first empty frame:
/// a REQ client's, or one behind a queue device; only the routing id when a DEALER client
/// sent no delimiter) and the request, which is two frames: the function and its argument.
/// A malformed request gives its envelope, to reply to, and why.
pub fn parse_request(mut frames: Vec<Vec<u8>>) -> Result<Request, (Vec<Vec<u8>>, String)> {
    let split = match frames.iter().position(Vec::is_empty) {
        Some(delimiter) => delimiter + 1,
        None => 1.min(frames.len()),
    };
    let body = frames.split_off(split);
    let envelope = frames;
    match <[Vec<u8>; 2]>::try_from(body) {
        Ok([function, args]) => Ok(Request { envelope, function, args }),
        Err(body) => Err((
            envelope,
            format!("bad request: expected 2 frames (function, argument), got {}", body.len()),
        )),
    }
}

/// The reply to a request: its envelope, the status frame and the payload.
pub fn reply(envelope: Vec<Vec<u8>>, status: &[u8], payload: Vec<u8>) -> Vec<Vec<u8>> {
    let mut frames = envelope;
    frames.push(status.to_vec());
    frames.push(payload);
    frames
}

/// Storm's `return-info`: where `ReturnResults` sends a request's result, as JSON text in the
/// tuple's second field (so multilang bolts pass it on untouched).
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnInfo {
    /// The request, as the spout task numbers them.
    pub id: u64,
    /// The spout task's secret, so that results cannot be forged by guessing ids.
    pub token: String,
    /// The spout task's results endpoint.
    pub endpoint: String,
    /// The process the spout runs in (an `inproc://` endpoint is reachable only there).
    pub process: String,
}

impl ReturnInfo {
    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "id": self.id.to_string(),
            "token": self.token,
            "endpoint": self.endpoint,
            "process": self.process,
        })
        .to_string()
    }

    /// Reads the JSON text; anything else is an error that says what was wrong.
    pub fn parse(text: &str) -> Result<ReturnInfo, String> {
        let bad = |why: &str| format!("bad return-info ({why}): {}", clip(text));
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let field = |name: &str| {
            v.get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| bad(&format!("no text field {name:?}")))
        };
        let id = field("id")?.parse().map_err(|_| bad("the id is not a number"))?;
        Ok(ReturnInfo {
            id,
            token: field("token")?.to_owned(),
            endpoint: field("endpoint")?.to_owned(),
            process: field("process")?.to_owned(),
        })
    }
}

/// The message `ReturnResults` sends to the spout: the request's id, the token and the result.
pub fn result_message(info: &ReturnInfo, result: Vec<u8>) -> Vec<Vec<u8>> {
    vec![info.id.to_string().into_bytes(), info.token.as_bytes().to_vec(), result]
}

/// Reads a result message: the request id, the token and the result.
pub fn parse_result(frames: Vec<Vec<u8>>) -> Result<(u64, Vec<u8>, Vec<u8>), String> {
    let count = frames.len();
    let [id, token, result] =
        <[Vec<u8>; 3]>::try_from(frames).map_err(|_| format!("expected 3 frames, got {count}"))?;
    let id = std::str::from_utf8(&id).ok().and_then(|s| s.parse().ok()).ok_or("the id is not a number")?;
    Ok((id, token, result))
}

/// At most 200 characters of `text`, for error messages.
fn clip(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn requests_keep_their_envelope() {
        // A REQ client behind a ROUTER: id, delimiter, function, argument.
        let r = parse_request(frames(&["id", "", "words", "a b"])).unwrap();
        assert_eq!(
            (r.envelope, r.function, r.args),
            (frames(&["id", ""]), b"words".to_vec(), b"a b".to_vec())
        );
        // Behind a queue device: two ids before the delimiter.
        let r = parse_request(frames(&["q", "id", "", "f", ""])).unwrap();
        assert_eq!(r.envelope, frames(&["q", "id", ""]));
        assert_eq!(r.args, b"".to_vec());
        // A DEALER client without a delimiter.
        let r = parse_request(frames(&["id", "f", "x"])).unwrap();
        assert_eq!(r.envelope, frames(&["id"]));
    }

    #[test]
    fn malformed_requests_say_why_and_keep_the_envelope_to_answer() {
        let (env, why) = parse_request(frames(&["id", "", "words"])).unwrap_err();
        assert_eq!(env, frames(&["id", ""]));
        assert_eq!(why, "bad request: expected 2 frames (function, argument), got 1");
        let (_, why) = parse_request(frames(&["id", "", "f", "a", "b"])).unwrap_err();
        assert!(why.ends_with("got 3"), "{why}");
        assert!(parse_request(Vec::new()).is_err());
    }

    #[test]
    fn return_info_round_trips_and_rejects_garbage() {
        let info = ReturnInfo {
            id: 17,
            token: "t\"k".into(),
            endpoint: "tcp://10.0.0.5:4100".into(),
            process: "p1".into(),
        };
        assert_eq!(ReturnInfo::parse(&info.to_json()).unwrap(), info);
        for bad in ["", "{}", "[1]", r#"{"id":"x","token":"t","endpoint":"e","process":"p"}"#, "{\"id\": 5}"]
        {
            let e = ReturnInfo::parse(bad).unwrap_err();
            assert!(e.starts_with("bad return-info"), "{e}");
        }
        let long = "x".repeat(1000);
        assert!(ReturnInfo::parse(&long).unwrap_err().len() < 400);
    }

    #[test]
    fn result_messages_round_trip() {
        let info = ReturnInfo { id: 3, token: "k".into(), endpoint: String::new(), process: String::new() };
        let msg = result_message(&info, b"r".to_vec());
        assert_eq!(parse_result(msg).unwrap(), (3, b"k".to_vec(), b"r".to_vec()));
        assert!(parse_result(frames(&["x", "k", "r"])).is_err());
        assert!(parse_result(frames(&["1", "k"])).is_err());
    }
}
