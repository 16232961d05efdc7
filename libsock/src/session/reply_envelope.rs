//! What a REQ socket's peer may send (libzmq's `req_session_t`): replies in their envelope,
//! each message an empty delimiter frame, after a 4-byte request id or not (REQ_CORRELATE's
//! replies; libzmq takes one whether the option is on or not), then the body. Any other data
//! frame is a protocol error that ends the connection, as libzmq's session refuses it and its
//! engine drops the peer; commands do not count.
//!
//! The session checks the frames it decodes; a direct read side (`engine::direct_rx`)
//! checks its own and hands a frame that breaks the envelope back to the I/O thread, whose
//! session resumes from the frames of the reply read so far ([`ReplyEnvelope::after`]).

use crate::message::Message;

/// Where in a reply the next data frame falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyEnvelope {
    /// A reply's first frame: the delimiter, or a request id.
    #[default]
    Bottom,
    /// After a request id: the delimiter.
    RequestId,
    /// The body, up to its last frame.
    Body,
}

impl ReplyEnvelope {
    /// The state after a data frame of `size` bytes (`more`: not its message's last), or
    /// `None` if the frame breaks the envelope.
    #[inline]
    pub fn next(self, size: usize, more: bool) -> Option<ReplyEnvelope> {
        match self {
            Self::Bottom if more && size == 4 => Some(Self::RequestId),
            Self::Bottom | Self::RequestId if more && size == 0 => Some(Self::Body),
            Self::Body if more => Some(Self::Body),
            Self::Body => Some(Self::Bottom),
            Self::Bottom | Self::RequestId => None,
        }
    }

    /// The state after `frames`, the first frames of a reply not yet whole (each one
    /// accepted in its turn).
    pub fn after(frames: &[Message]) -> ReplyEnvelope {
        frames.iter().fold(Self::Bottom, |state, f| state.next(f.len(), f.get_more()).unwrap_or(Self::Body))
    }
}

#[cfg(test)]
mod tests {
    use super::ReplyEnvelope::{self, Body, Bottom, RequestId};
    use crate::message::Message;

    /// Runs `frames` (size, more) through the check; the index of the first one refused.
    fn first_refused(frames: &[(usize, bool)]) -> Option<usize> {
        let mut state = ReplyEnvelope::default();
        frames.iter().position(|&(size, more)| match state.next(size, more) {
            Some(next) => {
                state = next;
                false
            }
            None => true,
        })
    }

    #[test]
    fn replies_in_their_envelope_pass_as_libzmqs_req_session_takes_them() {
        for reply in [
            &[(0, true), (5, false)][..],
            &[(0, true), (0, false)],
            &[(0, true), (3, true), (0, true), (9, false)],
            &[(4, true), (0, true), (5, false)],
            &[(0, true), (1, false), (0, true), (2, false)],
        ] {
            assert_eq!(first_refused(reply), None, "{reply:?}");
        }
    }

    #[test]
    fn a_message_outside_the_envelope_is_refused_at_the_frame_that_breaks_it() {
        for (frames, at) in [
            (&[(5, false)][..], 0),
            (&[(0, false)], 0),
            (&[(3, true), (0, true), (1, false)], 0),
            (&[(4, false)], 0),
            (&[(4, true), (4, true), (1, false)], 1),
            (&[(4, true), (0, false)], 1),
            (&[(0, true), (1, false), (7, false)], 2),
        ] {
            assert_eq!(first_refused(frames), Some(at), "{frames:?}");
        }
    }

    #[test]
    fn the_state_after_part_of_a_reply_is_where_its_next_frame_falls() {
        let frame = |size: usize| {
            let mut m = Message::from(vec![0u8; size]);
            m.set_more(true);
            m
        };
        assert_eq!(ReplyEnvelope::after(&[]), Bottom);
        assert_eq!(ReplyEnvelope::after(&[frame(4)]), RequestId);
        assert_eq!(ReplyEnvelope::after(&[frame(0)]), Body);
        assert_eq!(ReplyEnvelope::after(&[frame(4), frame(0)]), Body);
        assert_eq!(ReplyEnvelope::after(&[frame(0), frame(4), frame(9)]), Body);
    }
}
