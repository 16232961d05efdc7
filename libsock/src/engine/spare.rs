//! Read buffers that idle WebSocket links gave back, kept warm for the next read on this
//! thread.
//!
//! A link drops its read buffers whenever a read finds nothing, so an idle connection holds
//! none. In a flood that happens every few messages, and a `ws://` link keeps two buffers of
//! a few hundred KiB (the frames read, and the ZMTP bytes made of them; a third for TLS
//! records): new ones each time are fresh memory to fault in and fill, which was half of
//! the receiving time at 64 KiB messages. A few kept here, per thread, serve whichever link
//! reads next; what they hold is bounded whatever the number of connections.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers kept per thread: a `wss://` link's three, and one more.
const KEPT: usize = 4;
/// Smaller buffers are cheap to make again.
const KEPT_MIN: usize = 16 * 1024;
/// Larger ones (a flood of large messages reads up to 8 MiB at once) go back to the
/// allocator, so the buffers kept hold at most `KEPT * KEPT_MAX` bytes.
const KEPT_MAX: usize = 1024 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Takes `buf`'s memory, leaving it empty with none (`BytesMut::new()`): kept for [`take`]
/// when no message shares it any more and its size is within bounds, freed otherwise.
/// Whatever `buf` held is dropped: call it once that is decoded.
pub(crate) fn give_back(buf: &mut BytesMut) {
    let mut old = std::mem::take(buf);
    old.clear();
    // Not while a message shares it: kept, it would keep all of it alive.
    let Ok(mut old) = old.freeze().try_into_mut() else { return };
    // Alone, a handle can reclaim its whole allocation: more than KEPT_MAX fails for a
    // small enough one, and KEPT_MIN then succeeds for one large enough.
    if old.try_reclaim(KEPT_MAX + 1) || !old.try_reclaim(KEPT_MIN) {
        return;
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < KEPT {
            spare.push(old);
        }
    });
}

/// Gives `buf` a kept buffer's memory if it has none (it was given back, or never had any).
pub(crate) fn take(buf: &mut BytesMut) {
    if buf.capacity() > 0 {
        return;
    }
    if let Some(kept) = SPARE.with(|spare| spare.borrow_mut().pop()) {
        *buf = kept;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Buf;

    use super::*;

    #[test]
    fn buffers_within_bounds_are_kept_and_handed_out_again() {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.extend_from_slice(&[7; 1000]);
        let at = buf.as_ptr();
        give_back(&mut buf);
        assert_eq!(buf.capacity(), 0);
        let mut next = BytesMut::new();
        take(&mut next);
        assert_eq!(next.as_ptr(), at, "the same memory");
        assert!(next.is_empty() && next.capacity() >= 64 * 1024);
        // A buffer that has memory keeps its own.
        let mut own = BytesMut::with_capacity(10);
        take(&mut own);
        assert_eq!(own.capacity(), 10);
    }

    #[test]
    fn shared_small_and_large_buffers_are_not_kept() {
        let mut shared = BytesMut::with_capacity(64 * 1024);
        shared.extend_from_slice(&[1; 100]);
        let message = shared.split_to(50).freeze();
        shared.advance(shared.len());
        let mut small = BytesMut::with_capacity(1024);
        let mut large = BytesMut::with_capacity(2 * KEPT_MAX);
        for buf in [&mut shared, &mut small, &mut large] {
            give_back(buf);
        }
        drop(message);
        let mut next = BytesMut::new();
        take(&mut next);
        assert_eq!(next.capacity(), 0, "nothing was kept");
    }

    #[test]
    fn at_most_a_few_are_kept() {
        for _ in 0..KEPT + 3 {
            give_back(&mut BytesMut::with_capacity(KEPT_MIN));
        }
        let mut taken = 0;
        loop {
            let mut next = BytesMut::new();
            take(&mut next);
            if next.capacity() == 0 {
                break;
            }
            taken += 1;
        }
        assert_eq!(taken, KEPT);
    }
}
