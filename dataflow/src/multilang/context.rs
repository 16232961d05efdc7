//! The handshake's `context`: what Storm's `TopologyContext.toJSONString` gives a multilang
//! child since Storm 0.10 (libraries such as streamparse read `source->stream->grouping` to
//! learn a bolt's inputs).

use serde_json::{json, Map, Value as Json};

use crate::component::{StreamLink, TaskContext};
use crate::grouping::Grouping;

/// The `context` object for one task.
pub(super) fn context(ctx: &TaskContext) -> Json {
    let tasks: Map<String, Json> =
        ctx.task_to_component.iter().map(|(t, c)| (t.to_string(), Json::from(&**c))).collect();
    let streams: Vec<&str> = ctx.streams.iter().map(|s| s.id.as_str()).collect();
    let output_fields: Map<String, Json> =
        ctx.streams.iter().map(|s| (s.id.clone(), json!(&*s.fields))).collect();
    json!({
        "task->component": tasks,
        "taskid": ctx.task_id,
        "componentid": &*ctx.component,
        "streams": streams,
        "stream->outputfields": output_fields,
        "stream->target->grouping": nest(&ctx.targets, |l| (&l.stream, &l.to), |l| grouping(&l.grouping)),
        "source->stream->grouping": nest(&ctx.sources, |l| (&l.from, &l.stream), |l| grouping(&l.grouping)),
        "source->stream->fields": nest(&ctx.sources, |l| (&l.from, &l.stream), |l| json!(&*l.fields)),
    })
}

/// `{outer: {inner: value}}` over the links.
fn nest(
    links: &[StreamLink],
    keys: impl Fn(&StreamLink) -> (&std::sync::Arc<str>, &std::sync::Arc<str>),
    value: impl Fn(&StreamLink) -> Json,
) -> Json {
    let mut outer = Map::new();
    for link in links {
        let (a, b) = keys(link);
        let inner = outer.entry(a.to_string()).or_insert_with(|| Json::Object(Map::new()));
        if let Json::Object(inner) = inner {
            inner.insert(b.to_string(), value(link));
        }
    }
    Json::Object(outer)
}

/// A grouping as Storm's Thrift `Grouping` union names it: a global grouping is a fields
/// grouping on no fields, and a partial key grouping is a serialized custom one.
fn grouping(g: &Grouping) -> Json {
    match g {
        Grouping::Fields(f) => json!({"type": "FIELDS", "fields": f}),
        Grouping::Global => json!({"type": "FIELDS", "fields": []}),
        Grouping::Shuffle => json!({"type": "SHUFFLE"}),
        Grouping::All => json!({"type": "ALL"}),
        Grouping::None => json!({"type": "NONE"}),
        Grouping::Direct => json!({"type": "DIRECT"}),
        Grouping::LocalOrShuffle => json!({"type": "LOCAL_OR_SHUFFLE"}),
        Grouping::PartialKey(_) | Grouping::Custom(..) => json!({"type": "CUSTOM_SERIALIZED"}),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::component::StreamDecl;

    fn link(from: &str, stream: &str, fields: &[&str], to: &str, grouping: Grouping) -> StreamLink {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        StreamLink {
            from: from.into(),
            stream: stream.into(),
            fields: fields.into(),
            to: to.into(),
            grouping,
        }
    }

    #[test]
    fn storms_keys_and_grouping_names() {
        let tasks: BTreeMap<u32, Arc<str>> =
            [(1, "spout".into()), (2, "split".into()), (3, "count".into()), (4, "__acker".into())].into();
        let ctx = TaskContext {
            topology: "t".into(),
            component: "split".into(),
            task_id: 2,
            task_index: 0,
            component_tasks: vec![2],
            task_to_component: Arc::new(tasks),
            conf: Arc::default(),
            streams: vec![StreamDecl {
                id: "default".into(),
                fields: vec!["word".to_string()].into(),
                direct: false,
            }],
            sources: vec![
                link("spout", "default", &["sentence"], "split", Grouping::Shuffle),
                link("spout", "other", &["x"], "split", Grouping::Global),
            ],
            targets: vec![link(
                "split",
                "default",
                &["word"],
                "count",
                Grouping::Fields(vec!["word".into()]),
            )],
            libsock: None,
            worker_host: None,
            worker_secret: None,
            stop: Default::default(),
        };
        let got = context(&ctx);
        let want = json!({
            "task->component": {"1": "spout", "2": "split", "3": "count", "4": "__acker"},
            "taskid": 2,
            "componentid": "split",
            "streams": ["default"],
            "stream->outputfields": {"default": ["word"]},
            "stream->target->grouping": {"default": {"count": {"type": "FIELDS", "fields": ["word"]}}},
            "source->stream->grouping": {"spout": {
                "default": {"type": "SHUFFLE"},
                "other": {"type": "FIELDS", "fields": []},
            }},
            "source->stream->fields": {"spout": {"default": ["sentence"], "other": ["x"]}},
        });
        assert_eq!(got, want);
    }
}
