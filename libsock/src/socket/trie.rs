//! [`SubscriptionTrie`]: which pipes subscribed to which topic prefixes, counted.
//!
//! Matching walks the message once, collecting the subscribers at each node along its path,
//! so it costs the length of the longest matching prefix, not the number of subscriptions.

use std::collections::HashMap;

use super::routing::PipeId;

#[derive(Default)]
struct Node {
    /// Children by next byte, kept sorted for binary search.
    children: Vec<(u8, Node)>,
    /// Subscribers of exactly this prefix, with their subscription counts.
    pipes: HashMap<PipeId, u32>,
}

impl Node {
    fn child(&self, byte: u8) -> Option<&Node> {
        self.children.binary_search_by_key(&byte, |(b, _)| *b).ok().map(|i| &self.children[i].1)
    }

    fn child_mut_or_insert(&mut self, byte: u8) -> &mut Node {
        let i = match self.children.binary_search_by_key(&byte, |(b, _)| *b) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (byte, Node::default()));
                i
            }
        };
        &mut self.children[i].1
    }

    fn is_empty(&self) -> bool {
        self.pipes.is_empty() && self.children.is_empty()
    }
}

/// Counted prefix subscriptions per pipe.
#[derive(Default)]
pub(crate) struct SubscriptionTrie {
    root: Node,
}

impl SubscriptionTrie {
    /// Adds a subscription of `pipe` to `topic`: `counted` adds one more reference (a SUB's
    /// own subscriptions), otherwise a repeat is a no-op (a publisher's view of a subscriber,
    /// as in libzmq). Returns true if nobody had subscribed to this exact topic before (an
    /// XPUB passes only such "new" subscriptions up).
    pub(crate) fn add(&mut self, topic: &[u8], pipe: PipeId, counted: bool) -> bool {
        let mut node = &mut self.root;
        for b in topic {
            node = node.child_mut_or_insert(*b);
        }
        let was_new = node.pipes.is_empty();
        let count = node.pipes.entry(pipe).or_insert(0);
        if counted || *count == 0 {
            *count += 1;
        }
        was_new
    }

    /// Removes one subscription of `pipe` to `topic`. Returns true if the topic now has no
    /// subscriber left. Unknown subscriptions are ignored (returns false).
    pub(crate) fn remove(&mut self, topic: &[u8], pipe: PipeId) -> bool {
        self.remove_found(topic, pipe).unwrap_or(false)
    }

    /// [`Trie::remove`] as libzmq's XPUB counts it (its mtrie's `rm`): true also when `pipe`
    /// had no such subscription, which that XPUB passes up to its program too.
    pub(crate) fn remove_or_unknown(&mut self, topic: &[u8], pipe: PipeId) -> bool {
        self.remove_found(topic, pipe).unwrap_or(true)
    }

    /// Removes one subscription; `None` when `pipe` had none to `topic`.
    fn remove_found(&mut self, topic: &[u8], pipe: PipeId) -> Option<bool> {
        fn go(node: &mut Node, topic: &[u8], pipe: PipeId) -> Option<bool> {
            let Some((first, rest)) = topic.split_first() else {
                let count = node.pipes.get_mut(&pipe)?;
                *count -= 1;
                if *count == 0 {
                    node.pipes.remove(&pipe);
                }
                return Some(node.pipes.is_empty());
            };
            let i = node.children.binary_search_by_key(first, |(b, _)| *b).ok()?;
            let emptied = go(&mut node.children[i].1, rest, pipe)?;
            if node.children[i].1.is_empty() {
                node.children.remove(i);
            }
            Some(emptied)
        }
        go(&mut self.root, topic, pipe)
    }

    /// Drops every subscription of `pipe`; returns, in byte order, the topics left with no
    /// subscriber, or with `every_topic` all the topics `pipe` had (libzmq's `mtrie_t::rm`
    /// with and without `call_on_uniq`).
    pub(crate) fn remove_pipe(&mut self, pipe: PipeId, every_topic: bool) -> Vec<Vec<u8>> {
        fn go(node: &mut Node, pipe: PipeId, every: bool, path: &mut Vec<u8>, gone: &mut Vec<Vec<u8>>) {
            if node.pipes.remove(&pipe).is_some() && (every || node.pipes.is_empty()) {
                gone.push(path.clone());
            }
            for (b, child) in &mut node.children {
                path.push(*b);
                go(child, pipe, every, path, gone);
                path.pop();
            }
            node.children.retain(|(_, c)| !c.is_empty());
        }
        let mut gone = Vec::new();
        go(&mut self.root, pipe, every_topic, &mut Vec::new(), &mut gone);
        gone
    }

    /// Appends to `out` every pipe subscribed to a prefix of `msg` (each once).
    #[inline]
    pub(crate) fn matches(&self, msg: &[u8], out: &mut Vec<PipeId>) {
        let start = out.len();
        let mut node = &self.root;
        let mut i = 0;
        loop {
            out.extend(node.pipes.keys().copied());
            let Some(next) = msg.get(i).and_then(|b| node.child(*b)) else { break };
            node = next;
            i += 1;
        }
        if out.len() - start > 1 {
            out[start..].sort_unstable();
            let mut w = start + 1;
            for r in start + 1..out.len() {
                if out[r] != out[w - 1] {
                    out[w] = out[r];
                    w += 1;
                }
            }
            out.truncate(w);
        }
    }

    /// Whether any prefix of `msg` is subscribed by anyone.
    pub(crate) fn matches_any(&self, msg: &[u8]) -> bool {
        let mut node = &self.root;
        for b in msg {
            if !node.pipes.is_empty() {
                return true;
            }
            match node.child(*b) {
                Some(n) => node = n,
                None => return false,
            }
        }
        !node.pipes.is_empty()
    }

    /// Every (topic, pipe, count), for resending subscriptions.
    pub(crate) fn topics(&self) -> Vec<(Vec<u8>, u32)> {
        fn go(node: &Node, path: &mut Vec<u8>, out: &mut Vec<(Vec<u8>, u32)>) {
            let total: u32 = node.pipes.values().sum();
            if total > 0 {
                out.push((path.clone(), total));
            }
            for (b, child) in &node.children {
                path.push(*b);
                go(child, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        go(&self.root, &mut Vec::new(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matching(t: &SubscriptionTrie, msg: &[u8]) -> Vec<PipeId> {
        let mut out = Vec::new();
        t.matches(msg, &mut out);
        out
    }

    #[test]
    fn prefixes_match_and_each_pipe_is_reported_once() {
        let mut t = SubscriptionTrie::default();
        assert!(t.add(b"ab", 1, true));
        assert!(t.add(b"a", 1, true));
        assert!(!t.add(b"a", 2, true));
        assert!(t.add(b"b", 3, true));
        assert_eq!(matching(&t, b"abc"), vec![1, 2]);
        assert_eq!(matching(&t, b"b"), vec![3]);
        assert!(matching(&t, b"c").is_empty());
        assert!(t.matches_any(b"abc") && !t.matches_any(b"x"));
    }

    #[test]
    fn subscriptions_are_counted() {
        let mut t = SubscriptionTrie::default();
        t.add(b"x", 1, true);
        t.add(b"x", 1, true);
        assert!(!t.remove(b"x", 1));
        assert_eq!(matching(&t, b"x"), vec![1]);
        assert!(t.remove(b"x", 1));
        assert!(matching(&t, b"x").is_empty());
        assert!(!t.remove(b"nope", 1));
    }

    #[test]
    fn uncounted_repeats_are_idempotent() {
        let mut t = SubscriptionTrie::default();
        assert!(t.add(b"x", 1, false));
        assert!(!t.add(b"x", 1, false));
        assert!(t.remove(b"x", 1));
    }

    #[test]
    fn empty_topic_matches_everything() {
        let mut t = SubscriptionTrie::default();
        t.add(b"", 7, true);
        assert_eq!(matching(&t, b""), vec![7]);
        assert_eq!(matching(&t, b"anything"), vec![7]);
    }

    #[test]
    fn removing_a_pipe_reports_orphaned_topics() {
        let mut t = SubscriptionTrie::default();
        t.add(b"a", 1, true);
        t.add(b"a", 2, true);
        t.add(b"abc", 1, true);
        let mut gone = t.remove_pipe(1, false);
        gone.sort();
        assert_eq!(gone, vec![b"abc".to_vec()]);
        assert_eq!(matching(&t, b"abcd"), vec![2]);
        assert_eq!(t.topics(), vec![(b"a".to_vec(), 1)]);
    }

    #[test]
    fn removing_a_pipe_can_report_every_topic_it_had_in_byte_order() {
        let mut t = SubscriptionTrie::default();
        for topic in [&b"b"[..], b"a", b"ab", b""] {
            t.add(topic, 1, false);
        }
        t.add(b"a", 2, false);
        let gone = t.remove_pipe(1, true);
        assert_eq!(gone, vec![b"".to_vec(), b"a".to_vec(), b"ab".to_vec(), b"b".to_vec()]);
        assert_eq!(t.topics(), vec![(b"a".to_vec(), 1)]);
    }
}
