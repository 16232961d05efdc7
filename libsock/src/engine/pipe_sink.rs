//! The pipe as the destination of the decoder's flood path ([`FrameSink`]).

use std::sync::Arc;

use crate::message::{Message, Metadata};
use crate::pipe::Writer;
use crate::session::FrameSink;

/// Delivers decoded frames into a connection's inbound pipe, as `Connection::decode_buffered`
/// does one by one: a new message only under the high water mark (a multipart message, once
/// begun, always completes; a closed reader takes everything, to be dropped).
pub(super) struct PipeSink<'a> {
    pub(super) tx: &'a mut Writer,
    pub(super) meta: Option<&'a Arc<Metadata>>,
}

impl FrameSink for PipeSink<'_> {
    #[inline]
    fn has_room(&mut self) -> bool {
        self.tx.in_message() || self.tx.can_write() || self.tx.is_reader_gone()
    }

    #[inline(always)]
    fn deliver(&mut self, frame: Message) {
        self.tx.write_received(frame, self.meta);
    }
}
