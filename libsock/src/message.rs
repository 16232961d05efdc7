//! [`Message`]: one frame of a (possibly multipart) message.
//!
//! Small bodies live inline (no allocation, the copy is a few bytes). Bodies copied in that
//! are larger, up to 64 KiB, go to a recycled buffer (`sys::pool`: no `malloc`/`free` per
//! message, which costs most when the message is freed by another thread, as every sent
//! one is). Other bodies are a reference-counted [`Bytes`], so a body read off the wire or
//! handed in by the user is never copied again on its way through the library.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bytes::Bytes;

use crate::codec::frame::copy_small;
use crate::sys::pool::PoolBuf;

/// Bodies up to this many bytes are stored inline.
pub const INLINE_CAPACITY: usize = 38;

/// Bodies up to this many bytes copied into a message ([`Message::from_slice`],
/// [`Message::zeroed`]) live in recycled buffers; larger ones in a buffer of their own.
/// Either is writable through [`Message::data_mut`] while the message alone holds it.
pub const POOLED_MAX: usize = crate::sys::pool::POOL_MAX;

/// One message frame. Dereferences to its bytes.
#[derive(Clone)]
pub struct Message {
    repr: Repr,
    more: bool,
    /// Received over a connection whose metadata the pipe's reader attaches (see
    /// `pipe::queue`): set on the I/O thread instead of `meta`, so the metadata's reference
    /// count is only touched by the application thread.
    inherit_meta: bool,
    /// What the connection knows about the sender (messages received over tcp and ipc).
    meta: Option<Arc<Metadata>>,
    /// SERVER: the peer a message came from / goes to (`zmq_msg_routing_id`); 0 for none.
    #[cfg(feature = "draft")]
    routing_id: u32,
}

/// Properties of the connection a message arrived on, read with [`Message::gets`]: the
/// peer's handshake metadata (`Socket-Type`, `Identity`, ...), `User-Id` and any metadata
/// from the ZAP handler, and `Peer-Address`. Names compare case-insensitively.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Values are stored with a trailing NUL so the C API can lend them as C strings.
    props: Vec<(String, Vec<u8>)>,
    /// RADIO/DISH: the message's group, with a trailing NUL. Kept here, behind the message's one pointer to
    /// metadata, so that a [`Message`] does not grow for everyone else.
    #[cfg(feature = "draft")]
    group: Option<Box<str>>,
    /// The descriptor of the connection (`ZMQ_SRCFD`).
    source_fd: Option<i32>,
}

impl Metadata {
    /// The file descriptor of the connection the message came in on (libzmq's deprecated
    /// `ZMQ_SRCFD`); it may be closed or reused once the connection ends.
    pub fn source_fd(&self) -> Option<i32> {
        self.source_fd
    }

    pub(crate) fn set_source_fd(&mut self, fd: i32) {
        self.source_fd = Some(fd);
    }

    /// The value of property `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.find(name).map(|v| &v[..v.len() - 1])
    }

    /// The value of property `name` as a C string (cut at its first NUL, if it has one), for
    /// `zmq_msg_gets`: borrowed from the metadata, so it lives as long as the message.
    pub fn get_c_str(&self, name: &str) -> Option<&std::ffi::CStr> {
        self.find(name).and_then(|v| std::ffi::CStr::from_bytes_until_nul(v).ok())
    }

    fn find(&self, name: &str) -> Option<&[u8]> {
        self.props.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| &v[..])
    }

    /// Sets `name` (a later value replaces an earlier one).
    pub(crate) fn insert(&mut self, name: &str, value: &[u8]) {
        self.props.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        let mut v = Vec::with_capacity(value.len() + 1);
        v.extend_from_slice(value);
        v.push(0);
        self.props.push((name.to_owned(), v));
    }

    /// Every property, in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.props.iter().map(|(n, v)| (n.as_str(), &v[..v.len() - 1]))
    }
}

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        data: [u8; INLINE_CAPACITY],
    },
    /// A copy in a buffer of the pool: recycled up to `sys::pool::POOL_MAX` bytes, its
    /// own beyond.
    Pooled(PoolBuf),
    Shared(Bytes),
}

// Messages move by value through every pipe: a new body kind must not make them larger.
#[cfg(not(feature = "draft"))]
const _: () = assert!(std::mem::size_of::<Message>() <= 56);

impl Message {
    /// An empty frame.
    #[inline]
    pub fn new() -> Message {
        Message {
            repr: Repr::Inline { len: 0, data: [0; INLINE_CAPACITY] },
            more: false,
            inherit_meta: false,
            meta: None,
            #[cfg(feature = "draft")]
            routing_id: 0,
        }
    }

    /// Copies `data` into a new frame.
    #[inline(always)]
    pub fn from_slice(data: &[u8]) -> Message {
        if data.len() > INLINE_CAPACITY {
            return Message::from_larger_slice(data);
        }
        // Built in place: the body is copied into the message that is returned.
        let mut msg = Message {
            repr: Repr::Inline { len: data.len() as u8, data: [0; INLINE_CAPACITY] },
            more: false,
            inherit_meta: false,
            meta: None,
            #[cfg(feature = "draft")]
            routing_id: 0,
        };
        if let Repr::Inline { data: body, .. } = &mut msg.repr {
            // A few fixed-size moves instead of a call to `memcpy` for a variable length.
            copy_small(&mut body[..data.len()], data);
        }
        msg
    }

    /// [`Message::from_slice`] of a body too large to be inline.
    #[inline(never)]
    fn from_larger_slice(data: &[u8]) -> Message {
        let repr = if let Some(buf) = PoolBuf::copy_from(data) {
            Repr::Pooled(buf)
        } else {
            Repr::Shared(Bytes::copy_from_slice(data))
        };
        Message {
            repr,
            more: false,
            inherit_meta: false,
            meta: None,
            #[cfg(feature = "draft")]
            routing_id: 0,
        }
    }

    /// Drops the message, skipping the out-of-line drop glue (a call, and a match on the
    /// body kind) when there is nothing to release: an inline body without metadata, the
    /// usual small message on the hot paths.
    #[inline(always)]
    pub(crate) fn release(self) {
        if matches!(self.repr, Repr::Inline { .. }) && self.meta.is_none() {
            // Nothing in it owns memory or a count: forgetting it leaks nothing.
            std::mem::forget(self);
        } else {
            drop(self);
        }
    }

    /// Replaces this message, just [`Message::clear`]ed, with `new`: the old one owns
    /// nothing, so it is written over without being read (were it not cleared, what it
    /// owned would leak, never be freed twice).
    #[inline(always)]
    pub(crate) fn put_cleared(&mut self, new: Message) {
        debug_assert!(self.is_inline() && self.meta.is_none());
        std::mem::forget(std::mem::replace(self, new));
    }

    /// Makes this an empty frame, releasing what it owned: for an inline body without
    /// metadata (which owns nothing), a check and a few stores.
    #[inline(always)]
    pub(crate) fn clear(&mut self) {
        match &mut self.repr {
            Repr::Inline { len, .. } if self.meta.is_none() => {
                *len = 0;
                self.more = false;
                #[cfg(feature = "draft")]
                {
                    self.routing_id = 0;
                }
            }
            _ => self.clear_owning(),
        }
    }

    #[inline(never)]
    fn clear_owning(&mut self) {
        *self = Message::new();
    }

    /// A frame whose body is the first `len` bytes of `window` (`len` at most
    /// [`INLINE_CAPACITY`]): the whole window is copied, a few fixed-size moves instead of a
    /// call to `memcpy` for a variable length (the decoder's flood path, where the read
    /// buffer usually holds that many bytes past a frame's start). Bytes past `len` are
    /// never exposed.
    #[inline(always)]
    pub(crate) fn inline_from_window(window: &[u8; INLINE_CAPACITY], len: usize, more: bool) -> Message {
        debug_assert!(len <= INLINE_CAPACITY);
        Message {
            repr: Repr::Inline { len: len as u8, data: *window },
            more,
            inherit_meta: false,
            meta: None,
            #[cfg(feature = "draft")]
            routing_id: 0,
        }
    }

    /// Wraps `bytes` without copying (small bodies are moved inline).
    #[inline]
    pub fn from_bytes(bytes: Bytes) -> Message {
        if bytes.len() <= INLINE_CAPACITY {
            return Message::from_slice(&bytes);
        }
        Message::from_bytes_shared(bytes)
    }

    /// Wraps `bytes` without copying, however small: the message holds them until it is
    /// dropped (after it was written out, or by its receiver). For an owner that waits for
    /// that release, as a C caller's free function does (`zmq_msg_init_data`).
    #[inline]
    pub fn from_bytes_shared(bytes: Bytes) -> Message {
        Message {
            repr: Repr::Shared(bytes),
            more: false,
            inherit_meta: false,
            meta: None,
            #[cfg(feature = "draft")]
            routing_id: 0,
        }
    }

    /// Whether more frames of the same message follow this one (`ZMQ_RCVMORE`).
    #[inline]
    pub fn get_more(&self) -> bool {
        self.more
    }

    /// Sets the MORE flag. A send sets it from its own flags (`SNDMORE`) whatever it was;
    /// this is for code that keeps messages as libzmq's `zmq_msg_t` keeps them (the C API
    /// gives a message a failed send was asked to mark the flag, as libzmq does).
    #[inline]
    pub fn set_more(&mut self, more: bool) {
        self.more = more;
    }

    /// A property of the connection this message arrived on, as text, like libzmq's
    /// `zmq_msg_gets`: `"User-Id"` (from ZAP), `"Peer-Address"`, `"Socket-Type"`, ... Set on
    /// messages received from a tcp or ipc peer, whatever the mechanism; `None` otherwise
    /// (inproc, or a message made locally).
    pub fn gets(&self, property: &str) -> Option<&str> {
        self.meta.as_ref()?.get(property).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All connection properties of this message (see [`Message::gets`]).
    pub fn metadata(&self) -> Option<&Metadata> {
        self.meta.as_deref()
    }

    #[inline]
    pub(crate) fn set_metadata(&mut self, meta: Arc<Metadata>) {
        self.meta = Some(meta);
        self.inherit_meta = false;
    }

    /// Gives this frame the connection metadata of `other` (STREAM: the routing id frame
    /// carries that of the data it comes with, as in libzmq).
    #[inline]
    pub(crate) fn copy_metadata_from(&mut self, other: &Message) {
        self.meta = other.meta.clone();
        self.inherit_meta = false;
    }

    /// Marks this frame as carrying the same connection metadata as the frame before it in
    /// its pipe; the pipe's reader fills it in ([`Message::inherit_metadata`]).
    #[inline]
    pub(crate) fn set_inherits_metadata(&mut self) {
        self.inherit_meta = true;
    }

    /// Resolves a frame marked by [`Message::set_inherits_metadata`] with `current`, the
    /// metadata of the frames before it; a frame carrying its own replaces `current`.
    #[inline]
    pub(crate) fn inherit_metadata(&mut self, current: &mut Option<Arc<Metadata>>) {
        if self.inherit_meta {
            self.inherit_meta = false;
            self.meta = current.clone();
        } else if let Some(own) = &self.meta {
            if !current.as_ref().is_some_and(|c| Arc::ptr_eq(c, own)) {
                *current = Some(own.clone());
            }
        }
    }

    /// The body as a shared [`Bytes`] (copies only inline bodies).
    pub fn to_bytes(&self) -> Bytes {
        match &self.repr {
            Repr::Shared(b) => b.clone(),
            Repr::Inline { .. } | Repr::Pooled(_) => Bytes::copy_from_slice(self),
        }
    }

    /// The body as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self).ok()
    }

    /// The body's `Bytes`, when it is one.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> Option<&Bytes> {
        match &self.repr {
            Repr::Shared(b) => Some(b),
            Repr::Inline { .. } | Repr::Pooled(_) => None,
        }
    }

    /// The body as a [`Bytes`] sharing its memory, for writing without a copy; `None` for
    /// inline and small pooled bodies (copying them is cheaper).
    #[inline]
    pub(crate) fn share_large(&self, min: usize) -> Option<Bytes> {
        match &self.repr {
            Repr::Shared(b) if b.len() >= min => Some(b.clone()),
            Repr::Pooled(p) if p.len() >= min => Some(Bytes::from_owner(p.clone())),
            _ => None,
        }
    }
}

/// Constructors and queries for the C API (`zmq_msg_init_size`, `zmq_msg_close`): cheap
/// enough to inline into each exported function, with no panic path.
impl Message {
    /// A frame of `len` zero bytes, for a caller to fill (inline up to [`INLINE_CAPACITY`]:
    /// a few stores, no copy from anywhere).
    #[inline]
    pub fn zeroed(len: usize) -> Message {
        if len > INLINE_CAPACITY {
            let repr = match PoolBuf::zeroed(len) {
                Some(buf) => Repr::Pooled(buf),
                None => Repr::Shared(Bytes::from(vec![0u8; len])),
            };
            return Message {
                repr,
                more: false,
                inherit_meta: false,
                meta: None,
                #[cfg(feature = "draft")]
                routing_id: 0,
            };
        }
        Message {
            repr: Repr::Inline { len: len as u8, data: [0; INLINE_CAPACITY] },
            more: false,
            inherit_meta: false,
            meta: None,
            #[cfg(feature = "draft")]
            routing_id: 0,
        }
    }

    /// Same as [`Message::zeroed`] (the `zmq` crate's name).
    #[inline]
    pub fn with_size(len: usize) -> Message {
        Message::zeroed(len)
    }

    /// A frame of `len` bytes whose content is unspecified (zeros, or the bytes of an
    /// earlier message of this process whose buffer is reused), for a caller that
    /// overwrites every byte through [`Message::data_mut`], as `zmq_msg_init_size` leaves
    /// its content unspecified: saves [`Message::zeroed`]'s memset for large bodies. Never
    /// uninitialised memory. Zeroed beyond [`POOLED_MAX`].
    #[inline]
    pub fn for_overwrite(len: usize) -> Message {
        if len <= INLINE_CAPACITY {
            return Message::zeroed(len);
        }
        match PoolBuf::unfilled(len) {
            Some(buf) => Message {
                repr: Repr::Pooled(buf),
                more: false,
                inherit_meta: false,
                meta: None,
                #[cfg(feature = "draft")]
                routing_id: 0,
            },
            _ => Message::zeroed(len),
        }
    }

    /// The body's size in bytes (what `len()` on the dereferenced bytes gives, without a
    /// bounds check on the way).
    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Inline { len, .. } => *len as usize,
            Repr::Pooled(p) => p.len(),
            Repr::Shared(b) => b.len(),
        }
    }

    /// Whether the body is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body, writable when this message alone owns it: stored inline, or copied in
    /// (from a slice, or [`Message::zeroed`]) and not shared since. `None` for bodies shared
    /// with the read buffer they arrived in, with the caller's `Bytes`, or with a clone.
    /// (Writing through `&mut *msg` always works: it copies such a body first.)
    #[inline]
    pub fn data_mut(&mut self) -> Option<&mut [u8]> {
        match &mut self.repr {
            Repr::Inline { len, data } => Some(&mut data[..*len as usize]),
            Repr::Pooled(p) => p.as_mut_slice(),
            Repr::Shared(_) => None,
        }
    }

    /// Whether the body is stored inside the `Message` itself (no allocation): then the
    /// message owns nothing but its metadata, if any.
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.repr, Repr::Inline { .. })
    }
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

impl Deref for Message {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.repr {
            Repr::Inline { len, data } => &data[..*len as usize],
            Repr::Pooled(p) => p.as_slice(),
            Repr::Shared(b) => b,
        }
    }
}

/// The body, writable (as the `zmq` crate's `Message`): a body this message does not hold
/// alone (see [`Message::data_mut`]) is copied first, so a write never shows in another
/// message or in the buffer it arrived in. Only a body of 4 GiB or more, beyond what one
/// buffer holds, cannot be copied so: it reads as empty here.
impl DerefMut for Message {
    fn deref_mut(&mut self) -> &mut [u8] {
        if self.data_mut().is_none() {
            let copy = Message::from_slice(self);
            self.repr = copy.repr;
        }
        self.data_mut().unwrap_or_default()
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        **self == **other
    }
}

impl Eq for Message {}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body: &[u8] = self;
        let shown = &body[..body.len().min(32)];
        write!(f, "Message({} bytes{}: {:?})", body.len(), if self.more { ", more" } else { "" }, shown)
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Message::from_slice(data)
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(data: &[u8; N]) -> Self {
        Message::from_slice(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        if data.len() <= INLINE_CAPACITY {
            Message::from_slice(&data)
        } else {
            Message::from_bytes(Bytes::from(data))
        }
    }
}

impl From<&Vec<u8>> for Message {
    fn from(data: &Vec<u8>) -> Self {
        Message::from_slice(data)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::from_bytes(data)
    }
}

impl From<&str> for Message {
    fn from(data: &str) -> Self {
        Message::from_slice(data.as_bytes())
    }
}

impl From<&String> for Message {
    fn from(data: &String) -> Self {
        Message::from_slice(data.as_bytes())
    }
}

impl From<String> for Message {
    fn from(data: String) -> Self {
        Message::from(data.into_bytes())
    }
}

impl From<&Message> for Message {
    fn from(msg: &Message) -> Self {
        let mut m = msg.clone();
        m.more = false;
        m
    }
}

impl From<Message> for Vec<u8> {
    fn from(msg: Message) -> Self {
        msg.to_vec()
    }
}

/// Groups are at most this long (`ZMQ_GROUP_MAX_LENGTH` in libzmq 4.3's draft API).
#[cfg(feature = "draft")]
pub const GROUP_MAX_LENGTH: usize = 255;

/// The draft API's per-message routing id and group (feature `draft`).
#[cfg(feature = "draft")]
impl Message {
    /// The routing id a SERVER gave the peer this message came from; 0 when none
    /// (`zmq_msg_routing_id`). Reply by sending a message with the same id.
    pub fn routing_id(&self) -> u32 {
        self.routing_id
    }

    /// Names the peer a SERVER sends this message to (`zmq_msg_set_routing_id`); 0 is not
    /// a valid routing id.
    pub fn set_routing_id(&mut self, id: u32) -> crate::Result<()> {
        if id == 0 {
            return Err(crate::Error::invalid("routing id 0 is reserved"));
        }
        self.routing_id = id;
        Ok(())
    }

    pub(crate) fn clear_routing_id(&mut self) {
        self.routing_id = 0;
    }

    /// The RADIO/DISH group of this message; empty when it has none (`zmq_msg_group`).
    pub fn group(&self) -> &str {
        let stored = self.meta.as_ref().and_then(|m| m.group.as_deref()).unwrap_or("\0");
        &stored[..stored.len() - 1]
    }

    /// [`Message::group`] as a C string, for `zmq_msg_group`: borrowed from the message.
    pub fn group_c_str(&self) -> &std::ffi::CStr {
        let stored = self.meta.as_ref().and_then(|m| m.group.as_deref()).unwrap_or("\0");
        std::ffi::CStr::from_bytes_with_nul(stored.as_bytes()).unwrap_or_default()
    }

    /// Sets the group a RADIO sends this message to (`zmq_msg_set_group`): up to
    /// [`GROUP_MAX_LENGTH`] bytes, no NUL.
    pub fn set_group(&mut self, group: &str) -> crate::Result<()> {
        check_group(group)?;
        let meta = Arc::make_mut(self.meta.get_or_insert_with(Default::default));
        // Stored with a NUL, so the C API can lend it as a C string.
        meta.group = Some(format!("{group}\0").into_boxed_str());
        Ok(())
    }
}

/// Whether `group` may name a RADIO/DISH group.
#[cfg(feature = "draft")]
pub(crate) fn check_group(group: &str) -> crate::Result<()> {
    if group.len() > GROUP_MAX_LENGTH {
        return Err(crate::Error::invalid(format!("a group is at most {GROUP_MAX_LENGTH} bytes")));
    }
    if group.contains('\0') {
        return Err(crate::Error::invalid("a group may not contain NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_releases_what_the_message_owned_and_put_cleared_writes_over_it() {
        let mut m = Message::from_slice(&[1; 100]);
        let addr = m.as_ptr();
        m.clear();
        assert!(m.is_empty() && m.is_inline());
        assert_eq!(Message::from_slice(&[2; 100]).as_ptr(), addr, "the pooled body went back");
        m.put_cleared(Message::from_slice(b"x"));
        assert_eq!(&m[..], b"x");
        let meta = Arc::new(Metadata::default());
        m.set_metadata(meta.clone());
        m.clear();
        assert_eq!(Arc::strong_count(&meta), 1, "the old metadata was released");
        assert!(m.metadata().is_none());
        m.put_cleared(Message::from_slice(&[3; 100]));
        assert_eq!(&m[..], &[3; 100][..]);
        // An inline body without metadata owns nothing: clear only empties it.
        let mut inline = Message::from_slice(b"abc");
        inline.set_more(true);
        inline.clear();
        assert!(inline.is_empty() && !inline.get_more());
    }

    #[test]
    fn release_frees_what_a_message_owns_and_skips_only_inline_bodies_without_metadata() {
        // A pooled body goes back to this thread's magazine: the next one reuses it.
        let pooled = Message::from_slice(&[1; 100]);
        let addr = pooled.as_ptr();
        pooled.release();
        assert_eq!(Message::from_slice(&[2; 100]).as_ptr(), addr);
        // Metadata is a counted reference: released with the message, inline or not.
        let meta = Arc::new(Metadata::default());
        for size in [1, 100] {
            let mut m = Message::from_slice(&vec![3; size]);
            m.set_metadata(meta.clone());
            assert_eq!(Arc::strong_count(&meta), 2);
            m.release();
            assert_eq!(Arc::strong_count(&meta), 1, "size {size}");
        }
        Message::from_slice(b"inline").release();
    }

    #[test]
    fn small_bodies_of_every_length_are_copied_whole() {
        let data: Vec<u8> = (1..=INLINE_CAPACITY as u8 + 2).collect();
        for n in 0..=data.len() {
            assert_eq!(&*Message::from_slice(&data[..n]), &data[..n], "length {n}");
        }
    }

    #[test]
    fn metadata_values_read_as_bytes_and_as_c_strings() {
        let mut m = Metadata::default();
        m.insert("User-Id", b"alice");
        m.insert("Odd", b"a\0b");
        m.insert("user-id", b"bob");
        assert_eq!(m.get("USER-ID"), Some(&b"bob"[..]));
        assert_eq!(m.get_c_str("User-Id").unwrap().to_bytes(), b"bob");
        assert_eq!(m.get("Odd"), Some(&b"a\0b"[..]));
        assert_eq!(m.get_c_str("Odd").unwrap().to_bytes(), b"a", "cut at the first NUL");
        assert_eq!(m.iter().collect::<Vec<_>>(), [("Odd", &b"a\0b"[..]), ("user-id", &b"bob"[..])]);
        assert!(m.get_c_str("Missing").is_none());
    }

    #[test]
    fn small_bodies_are_inline_and_large_are_shared() {
        let small = Message::from_slice(&[7u8; INLINE_CAPACITY]);
        assert!(small.shared().is_none());
        assert_eq!(&*small, &[7u8; INLINE_CAPACITY][..]);
        let big = Message::from(vec![1u8; INLINE_CAPACITY + 1]);
        assert!(big.shared().is_some());
        assert_eq!(big.len(), INLINE_CAPACITY + 1);
    }

    #[test]
    fn copied_bodies_are_pooled_and_writable_until_shared() {
        let mut copied = Message::from_slice(&[5u8; 1000]);
        assert!(copied.shared().is_none(), "a copy goes to a recycled buffer");
        copied.data_mut().unwrap()[0] = 6;
        let clone = copied.clone();
        assert!(copied.data_mut().is_none(), "shared with the clone");
        assert_eq!(clone[0], 6);
        assert_eq!(&clone[1..], &[5u8; 999][..]);
        drop(clone);
        assert!(copied.data_mut().is_some());
        assert_eq!(Message::zeroed(POOLED_MAX).data_mut().unwrap(), &vec![0u8; POOLED_MAX][..]);
        let mut large = Message::zeroed(POOLED_MAX + 1);
        assert_eq!(large.data_mut().unwrap(), &vec![0u8; POOLED_MAX + 1][..], "its own buffer");
        large.data_mut().unwrap()[POOLED_MAX] = 3;
        let shared = large.clone();
        assert!(large.data_mut().is_none(), "shared with the clone");
        drop(shared);
        assert_eq!(large.data_mut().unwrap()[POOLED_MAX], 3);
        let copied = Message::from_slice(&[1u8; POOLED_MAX + 1]);
        assert_eq!((copied.len(), copied[POOLED_MAX]), (POOLED_MAX + 1, 1));
        assert!(Message::from_slice(&[1u8; INLINE_CAPACITY]).data_mut().is_some());
    }

    #[test]
    fn writing_through_deref_mut_never_changes_another_message() {
        // Inline, and a pooled body this message holds alone: written in place.
        let mut small = Message::from("abc");
        small[0] = b'x';
        assert_eq!(&small[..], b"xbc");
        let mut pooled = Message::from_slice(&[1u8; 1000]);
        let before = pooled.as_ptr();
        pooled[0] = 2;
        assert_eq!((pooled[0], pooled.as_ptr()), (2, before), "no copy");
        // Shared with a clone: copied first, the clone keeps its bytes.
        let clone = pooled.clone();
        pooled[1] = 3;
        assert_eq!((clone[1], pooled[1], pooled[0]), (1, 3, 2));
        // Shared with the caller's Bytes, flags kept.
        let bytes = Bytes::from(vec![5u8; 4096]);
        let mut m = Message::from_bytes(bytes.clone());
        m.set_more(true);
        m[4095] = 6;
        assert_eq!((bytes[4095], m[4095], m.len()), (5, 6, 4096));
        assert!(m.get_more());
        let mut empty = Message::new();
        assert!(empty.iter_mut().next().is_none());
    }

    #[test]
    fn shared_bodies_are_not_copied() {
        let body = Bytes::from(vec![9u8; 4096]);
        let msg = Message::from_bytes(body.clone());
        assert_eq!(msg.shared().unwrap().as_ptr(), body.as_ptr());
        assert_eq!(msg.to_bytes().as_ptr(), body.as_ptr());
    }

    #[test]
    fn zeroed_frames_are_inline_when_small() {
        for len in [0, 1, INLINE_CAPACITY, INLINE_CAPACITY + 1, 4096] {
            let m = Message::zeroed(len);
            assert_eq!(&*m, &vec![0u8; len][..]);
            assert_eq!(m.is_inline(), len <= INLINE_CAPACITY);
            assert!(!m.get_more() && m.metadata().is_none());
        }
    }

    #[test]
    fn conversions_keep_content() {
        assert_eq!(&*Message::from("hello"), b"hello");
        assert_eq!(&*Message::from(String::from("x")), b"x");
        assert!(Message::new().is_empty());
        assert_eq!(Message::from("a").as_str(), Some("a"));
    }
}
