//! Storm's multilang protocol as a sans-I/O codec: bytes from a child's stdout in, typed
//! messages out; typed messages in, bytes for its stdin out. No processes, no threads.
//!
//! Every message is JSON followed by a line `end` (Storm's `docs/Multilang-protocol.md`).

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value as Json;

use crate::tuple::Value;

/// The largest message a child may send (a bigger one is a protocol error, not memory growth).
pub const MAX_MESSAGE: usize = 16 << 20;

/// What a child said that the parent cannot accept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

/// A spout's or bolt's emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    /// Spouts: the message id that makes the tuple tracked (absent or null: untracked).
    pub id: Option<Json>,
    /// Bolts: ids of the input tuples this one is anchored to.
    pub anchors: Vec<String>,
    /// Stream (default when absent).
    pub stream: Option<String>,
    /// Direct emit to this task.
    pub task: Option<u32>,
    /// The values.
    pub values: Vec<Value>,
    /// Whether the child waits for the list of task ids (Storm's default: yes).
    pub need_task_ids: bool,
}

/// A message from the child.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildMsg {
    /// The handshake's answer.
    Pid(u32),
    /// `emit`.
    Emit(Emit),
    /// `ack` of an input tuple (bolts).
    Ack(String),
    /// `fail` of an input tuple (bolts).
    Fail(String),
    /// `sync`: the end of a spout command, or the answer to a heartbeat.
    Sync,
    /// `log` with Storm's level (0 trace … 4 error; 2 when absent).
    Log {
        /// Level.
        level: u8,
        /// Text.
        msg: String,
    },
    /// `error`: reported, and the reason given to the next `fail`.
    Error(String),
    /// `metrics`.
    Metrics {
        /// Metric name.
        name: String,
        /// Its parameters, as sent.
        params: Json,
    },
}

#[derive(Deserialize)]
struct Raw {
    command: Option<String>,
    pid: Option<u32>,
    id: Option<Json>,
    #[serde(default)]
    anchors: Vec<Json>,
    stream: Option<String>,
    task: Option<i64>,
    tuple: Option<Vec<Json>>,
    need_task_ids: Option<bool>,
    msg: Option<Json>,
    level: Option<i64>,
    name: Option<String>,
    params: Option<Json>,
}

/// Text form of a tuple id (ids are strings; a number is accepted as its decimal text).
fn id_text(id: &Json) -> Option<String> {
    match id {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl ChildMsg {
    /// Parses one message's JSON text.
    pub fn parse(text: &[u8]) -> Result<ChildMsg, ProtocolError> {
        let raw: Raw = serde_json::from_slice(text).map_err(|e| ProtocolError(format!("bad JSON: {e}")))?;
        let need_id = |what: &str| {
            raw.id.as_ref().and_then(id_text).ok_or_else(|| ProtocolError(format!("{what} without an id")))
        };
        let Some(command) = raw.command.as_deref() else {
            return raw
                .pid
                .map(ChildMsg::Pid)
                .ok_or_else(|| ProtocolError("message without a command".into()));
        };
        let text = |j: &Option<Json>| match j {
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        Ok(match command {
            "emit" => {
                let values = raw.tuple.ok_or_else(|| ProtocolError("emit without a tuple".into()))?;
                let anchors = raw
                    .anchors
                    .iter()
                    .map(|a| id_text(a).ok_or_else(|| ProtocolError(format!("bad anchor {a}"))))
                    .collect::<Result<_, _>>()?;
                let task = match raw.task {
                    None => None,
                    Some(t) => Some(u32::try_from(t).map_err(|_| ProtocolError(format!("bad task {t}")))?),
                };
                ChildMsg::Emit(Emit {
                    id: raw.id.filter(|i| !i.is_null()),
                    anchors,
                    stream: raw.stream,
                    task,
                    values: values.into_iter().map(from_json).collect(),
                    need_task_ids: raw.need_task_ids.unwrap_or(true),
                })
            }
            "ack" => ChildMsg::Ack(need_id("ack")?),
            "fail" => ChildMsg::Fail(need_id("fail")?),
            "sync" => ChildMsg::Sync,
            "log" => ChildMsg::Log { level: raw.level.unwrap_or(2).clamp(0, 4) as u8, msg: text(&raw.msg) },
            "error" => ChildMsg::Error(text(&raw.msg)),
            "metrics" => ChildMsg::Metrics {
                name: raw.name.unwrap_or_default(),
                params: raw.params.unwrap_or(Json::Null),
            },
            other => return Err(ProtocolError(format!("unknown command {other:?}"))),
        })
    }
}

/// Splits a child's output into messages: the lines before each line `end`.
#[derive(Default, Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the current message starts, and how far lines have been scanned.
    start: usize,
    scanned: usize,
}

impl Decoder {
    /// Appends bytes read from the child.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, if any.
    pub fn next_msg(&mut self) -> Result<Option<ChildMsg>, ProtocolError> {
        while let Some(nl) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            let line_start = self.scanned;
            let line_end = self.scanned + nl;
            self.scanned = line_end + 1;
            let line =
                self.buf[line_start..line_end].strip_suffix(b"\r").unwrap_or(&self.buf[line_start..line_end]);
            if line == b"end" {
                let body = &self.buf[self.start..line_start];
                let msg = if body.iter().all(u8::is_ascii_whitespace) {
                    Err(ProtocolError("empty message".into()))
                } else {
                    ChildMsg::parse(body)
                };
                self.start = self.scanned;
                if self.start > 64 * 1024 {
                    self.buf.drain(..self.start);
                    self.scanned -= self.start;
                    self.start = 0;
                }
                return msg.map(Some);
            }
        }
        if self.buf.len() - self.start > MAX_MESSAGE {
            return Err(ProtocolError(format!(
                "message longer than {MAX_MESSAGE} bytes without an end line"
            )));
        }
        Ok(None)
    }
}

/// A tuple value as JSON (bytes as text, lossily: JSON has no bytes).
struct JsonValue<'a>(&'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::I64(v) => s.serialize_i64(*v),
            Value::F64(v) => s.serialize_f64(*v),
            Value::Str(t) => s.serialize_str(t),
            Value::Bytes(b) => s.serialize_str(&String::from_utf8_lossy(b)),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                l.iter().try_for_each(|v| seq.serialize_element(&JsonValue(v)))?;
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                m.iter().try_for_each(|(k, v)| map.serialize_entry(k, &JsonValue(v)))?;
                map.end()
            }
        }
    }
}

/// A JSON value as a tuple value.
pub fn from_json(j: Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => n.as_i64().map_or_else(|| Value::F64(n.as_f64().unwrap_or(f64::NAN)), Value::I64),
        Json::String(s) => Value::Str(s),
        Json::Array(a) => Value::List(a.into_iter().map(from_json).collect()),
        Json::Object(o) => {
            Value::Map(o.into_iter().map(|(k, v)| (k, from_json(v))).collect::<BTreeMap<_, _>>())
        }
    }
}

/// A tuple value as JSON (bytes as a list of numbers, as Storm's JSON serializer writes them).
pub fn to_json(v: &Value) -> Json {
    serde_json::to_value(JsonValue(v)).unwrap_or(Json::Null)
}

fn finish(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\nend\n");
}

fn write<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    serde_json::to_writer(&mut *out, v).expect("serializing to memory cannot fail");
    finish(out);
}

/// The handshake: topology config, the directory for the pid file, and the task's context.
pub fn handshake(out: &mut Vec<u8>, conf: &Json, pid_dir: &str, context: &Json) {
    write(out, &serde_json::json!({ "conf": conf, "pidDir": pid_dir, "context": context }));
}

#[derive(Serialize)]
struct TupleMsg<'a> {
    id: &'a str,
    comp: &'a str,
    stream: &'a str,
    task: i64,
    tuple: Values<'a>,
}

struct Values<'a>(&'a [Value]);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        self.0.iter().try_for_each(|v| seq.serialize_element(&JsonValue(v)))?;
        seq.end()
    }
}

/// A tuple for a bolt (`task` is the emitting task; -1 for heartbeats).
pub fn tuple(out: &mut Vec<u8>, id: &str, comp: &str, stream: &str, task: i64, values: &[Value]) {
    write(out, &TupleMsg { id, comp, stream, task, tuple: Values(values) });
}

/// The heartbeat tuple a bolt answers with `sync`.
pub fn heartbeat(out: &mut Vec<u8>, id: &str) {
    tuple(out, id, "__system", "__heartbeat", -1, &[]);
}

/// A spout command: `next`, `ack`, `fail`, `activate`, `deactivate`.
pub fn spout_command(out: &mut Vec<u8>, command: &str, id: Option<&Json>) {
    match id {
        Some(id) => write(out, &serde_json::json!({ "command": command, "id": id })),
        None => write(out, &serde_json::json!({ "command": command })),
    }
}

/// The task ids a non-direct emit went to.
pub fn task_ids(out: &mut Vec<u8>, tasks: &[u32]) {
    write(out, &tasks);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder) -> Vec<Result<ChildMsg, ProtocolError>> {
        let mut v = Vec::new();
        loop {
            match d.next_msg() {
                Ok(None) => return v,
                Ok(Some(m)) => v.push(Ok(m)),
                Err(e) => v.push(Err(e)),
            }
        }
    }

    #[test]
    fn messages_split_on_end_lines_in_any_pieces() {
        let text = b"{\"pid\": 42}\nend\n{\"command\":\"emit\",\"anchors\":[\"7\"],\"tuple\":[\"a\",1,2.5,null,[true]]}\nend\n{\"command\":\"sync\"}\r\nend\r\n";
        for cut in 0..text.len() {
            let mut d = Decoder::default();
            d.feed(&text[..cut]);
            let mut got = all(&mut d);
            d.feed(&text[cut..]);
            got.extend(all(&mut d));
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[0], Ok(ChildMsg::Pid(42)));
            let Ok(ChildMsg::Emit(e)) = &got[1] else { panic!("{:?}", got[1]) };
            assert_eq!(e.anchors, vec!["7".to_owned()]);
            assert!(e.need_task_ids);
            assert_eq!(
                e.values,
                vec![
                    Value::from("a"),
                    Value::I64(1),
                    Value::F64(2.5),
                    Value::Null,
                    Value::List(vec![Value::Bool(true)])
                ]
            );
            assert_eq!(got[2], Ok(ChildMsg::Sync));
        }
    }

    #[test]
    fn multi_line_json_is_one_message() {
        let mut d = Decoder::default();
        d.feed(b"{\"command\":\n \"log\", \"msg\": \"hi\", \"level\": 3}\nend\n");
        assert_eq!(d.next_msg(), Ok(Some(ChildMsg::Log { level: 3, msg: "hi".into() })));
    }

    #[test]
    fn bad_messages_are_errors_and_the_stream_goes_on() {
        let mut d = Decoder::default();
        d.feed(b"not json\nend\n{\"command\":\"dance\"}\nend\n{\"command\":\"ack\"}\nend\n\nend\n{\"command\":\"fail\",\"id\":5}\nend\n");
        let got = all(&mut d);
        assert_eq!(got.len(), 5);
        assert!(got[..4].iter().all(Result::is_err), "{got:?}");
        assert_eq!(got[4], Ok(ChildMsg::Fail("5".into())));
    }

    #[test]
    fn endless_message_is_bounded() {
        let mut d = Decoder::default();
        let chunk = vec![b'x'; 1 << 20];
        let mut err = None;
        for _ in 0..20 {
            d.feed(&chunk);
            if let Err(e) = d.next_msg() {
                err = Some(e);
                break;
            }
        }
        assert!(err.is_some_and(|e| e.0.contains("without an end line")));
    }

    #[test]
    fn encodings_are_storms() {
        let mut out = Vec::new();
        tuple(&mut out, "9", "split", "default", 3, &[Value::from("the cat"), Value::I64(2)]);
        heartbeat(&mut out, "10");
        spout_command(&mut out, "ack", Some(&Json::from("m1")));
        spout_command(&mut out, "next", None);
        task_ids(&mut out, &[4, 5]);
        let text = String::from_utf8(out).unwrap();
        let msgs: Vec<&str> = text.split("\nend\n").collect();
        assert_eq!(msgs[0], r#"{"id":"9","comp":"split","stream":"default","task":3,"tuple":["the cat",2]}"#);
        assert_eq!(msgs[1], r#"{"id":"10","comp":"__system","stream":"__heartbeat","task":-1,"tuple":[]}"#);
        assert_eq!(msgs[2], r#"{"command":"ack","id":"m1"}"#);
        assert_eq!(msgs[3], r#"{"command":"next"}"#);
        assert_eq!(msgs[4], "[4,5]");
        assert_eq!(msgs[5], "");
    }
}
