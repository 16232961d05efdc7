//! The application thread's reading and decoding for `direct_rx`: data frames only; anything
//! else stops it and is handed back to the I/O thread (rule 2 of the parent module).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};

use super::{DirectRx, RxState, FRAME_MAX, READS, READ_CHUNK};
use crate::codec::frame::decode_header;
use crate::message::{Message, INLINE_CAPACITY};
use crate::sys;

impl DirectRx {
    /// Reads until the kernel has nothing more (or seems to: a short read), decoding whole
    /// messages into `out`. `Err`: hand the rest back to the I/O thread (rule 2). Bytes
    /// left in the kernel are found by the next poll, or reported by the re-arm (rule 7).
    pub(super) fn read_and_decode(
        &self,
        st: &mut RxState,
        fd: RawFd,
        out: &mut Vec<Message>,
    ) -> Result<(), ()> {
        self.decode(st, out)?;
        for _ in 0..READS {
            match sys::read_raw(fd, &mut st.buf, READ_CHUNK) {
                // End of stream: the I/O thread reads it again and takes the link down.
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.traffic.store(true, Ordering::Relaxed);
                    self.decode(st, out)?;
                    if n < READ_CHUNK && !out.is_empty() {
                        // Most likely all there was: save the read that would say EAGAIN.
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
        Err(())
    }

    /// Decodes the data frames in `st.buf`; stops at anything else (`Err`: hand back).
    pub(super) fn decode(&self, st: &mut RxState, out: &mut Vec<Message>) -> Result<(), ()> {
        loop {
            let header = match decode_header(&st.buf, Some(self.max_size)) {
                Ok(Some(h)) if !h.command && h.size <= FRAME_MAX => h,
                Ok(None) => return Ok(()),
                Ok(Some(_)) | Err(_) => return Err(()),
            };
            let size = header.size as usize;
            if st.buf.len() < header.header_len + size {
                return Ok(());
            }
            st.buf.advance(header.header_len);
            let mut msg = if size <= INLINE_CAPACITY {
                let m = Message::from_slice(&st.buf[..size]);
                st.buf.advance(size);
                m
            } else {
                Message::from_bytes(st.buf.split_to(size).freeze())
            };
            msg.set_more(header.more);
            if let Some(meta) = &self.meta {
                msg.set_metadata(meta.clone());
            }
            if header.more {
                st.staged.push(msg);
            } else {
                out.append(&mut st.staged);
                out.push(msg);
            }
        }
    }
}

impl RxState {
    /// The I/O thread takes over what the application left (rule 1): bytes go in front of
    /// its read buffer (empty then, or the application could not have read), the frames of
    /// a partial message are returned for its pipe writer.
    pub(crate) fn take_over(&mut self, rbuf: &mut BytesMut) -> Vec<Message> {
        if !self.buf.is_empty() {
            if rbuf.is_empty() {
                std::mem::swap(rbuf, &mut self.buf);
            } else {
                self.buf.extend_from_slice(rbuf);
                *rbuf = std::mem::take(&mut self.buf);
            }
        }
        std::mem::take(&mut self.staged)
    }
}
