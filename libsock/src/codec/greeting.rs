//! The 64-byte ZMTP greeting (RFC 23 §"The Greeting").
//!
//! Layout: `0xFF`, 8 padding bytes, `0x7F` (the signature, 10 bytes), major, minor, mechanism
//! (20 bytes NUL-padded ASCII), as-server (1 byte), filler (31 bytes).
//!
//! [`Greeting::decode`] checks every prefix as it arrives, because libzmq sends its greeting in
//! parts and waits for our version byte before sending the rest: a peer must be judged (and
//! answered) on a partial greeting, and a bad signature or version refused on its first bad
//! byte. The mechanism is judged once the greeting is whole, as libzmq judges it.
//!
//! [`GreetingSender`] sends ours in the same steps as libzmq (`zmtp_engine.cpp`): the
//! signature at once, the major version once the peer's signature is in, the rest once its
//! major version is. A raw peer (libzmq's own `test_stream`) relies on reading the signature
//! alone before it answers.

use super::CodecError;

/// Length of a complete ZMTP 3 greeting.
pub const GREETING_LEN: usize = 64;

/// Bytes up to and including the major version (signature 10 bytes + major): libzmq sends its
/// greeting in parts.
pub const GREETING_VERSION_END: usize = 11;

/// Length of the signature (`0xFF`, padding, `0x7F`): the first step of a greeting.
pub const SIGNATURE_LEN: usize = 10;

/// Offset of the `0x7F` signature byte.
const SIGNATURE_END: usize = SIGNATURE_LEN - 1;
/// Offsets of the fields after the signature.
const MAJOR: usize = 10;
const MINOR: usize = 11;
const MECHANISM: usize = 12;
const MECHANISM_LEN: usize = 20;
const AS_SERVER: usize = MECHANISM + MECHANISM_LEN;

/// A ZMTP security mechanism, as named in the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// No security (RFC 23).
    Null,
    /// Clear-text user name and password (RFC 24).
    Plain,
    /// CurveZMQ (RFC 26).
    Curve,
}

impl Mechanism {
    const ALL: [Mechanism; 3] = [Mechanism::Null, Mechanism::Plain, Mechanism::Curve];

    /// The mechanism's name as sent in the greeting, without padding.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::Null => "NULL",
            Mechanism::Plain => "PLAIN",
            Mechanism::Curve => "CURVE",
        }
    }

    /// The 20-byte NUL-padded field.
    fn padded(self) -> [u8; MECHANISM_LEN] {
        let mut field = [0u8; MECHANISM_LEN];
        field[..self.name().len()].copy_from_slice(self.name().as_bytes());
        field
    }

    /// The mechanism whose padded field is `field`, all 20 bytes compared, as libzmq does.
    fn from_field(field: &[u8]) -> Option<Mechanism> {
        Self::ALL.into_iter().find(|m| m.padded() == field)
    }
}

/// A decoded (or to-be-sent) greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// Major version: 3 for ZMTP 3.x (2 and above 3 are accepted and spoken as 3.1, as libzmq
    /// does; 0 and 1 are ZMTP 1.0 and 2.0, which libsock does not speak).
    pub major: u8,
    /// Minor version: 0 for ZMTP 3.0, 1 for 3.1.
    pub minor: u8,
    /// The security mechanism the peer wants.
    pub mechanism: Mechanism,
    /// The as-server flag (meaningful for PLAIN and CURVE; false for NULL).
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting: ZMTP 3.1, NULL, as_server false.
    pub fn ours() -> Greeting {
        Greeting { major: 3, minor: 1, mechanism: Mechanism::Null, as_server: false }
    }

    /// Whether the peer speaks exactly ZMTP 3.0: it then gets subscriptions as messages
    /// (`0x01`/`0x00` + topic) instead of `SUBSCRIBE`/`CANCEL` commands. Like libzmq, any
    /// other major counts as 3.1 whatever its minor.
    pub fn is_zmtp_3_0(&self) -> bool {
        self.major == 3 && self.minor == 0
    }

    /// Appends exactly 64 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// The 64 bytes on the wire.
    pub fn to_bytes(&self) -> [u8; GREETING_LEN] {
        let mut g = [0u8; GREETING_LEN];
        // Padding is "not significant"; libzmq puts the length of a ZMTP 1.0 identity frame
        // there, 1 for an empty one (`GreetingSender::start` writes the real one).
        g[..MECHANISM].copy_from_slice(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, self.major, self.minor]);
        g[MECHANISM..AS_SERVER].copy_from_slice(&self.mechanism.padded());
        g[AS_SERVER] = u8::from(self.as_server);
        g
    }

    /// Validates whatever prefix of a greeting has arrived so far, so a bad signature or
    /// version is rejected on its first byte, not after 64.
    ///
    /// `Ok(None)`: valid so far, need more. `Ok(Some(g))` once 64 bytes are there (only the
    /// first 64 are looked at). Byte 0 must be `0xFF`; the padding is ignored; byte 9 must have
    /// bit 0 set (libzmq tests `& 1`); major must not be 0 or 1 (ZMTP 1.0 and 2.0, where
    /// libzmq falls back to those protocols: `zmtp_engine_t::select_handshake_fun`); the mechanism field must be
    /// exactly `NULL`, `PLAIN` or `CURVE` NUL-padded (judged once all 64 bytes are in); a nonzero as-server byte means true.
    pub fn decode(buf: &[u8]) -> Result<Option<Greeting>, CodecError> {
        let buf = &buf[..buf.len().min(GREETING_LEN)];
        if buf.first().is_some_and(|&b| b != 0xFF) || buf.get(SIGNATURE_END).is_some_and(|&b| b & 1 == 0) {
            return Err(CodecError::BadSignature);
        }
        if let Some(&major) = buf.get(MAJOR) {
            if major < 2 {
                let minor = buf.get(MINOR).copied().unwrap_or(0);
                return Err(CodecError::UnsupportedVersion { major, minor });
            }
        }
        // The mechanism is judged on the whole greeting, as libzmq judges it: a peer with
        // another one reads our whole greeting (sent once its major arrived) and both report
        // the mismatch.
        if buf.len() < GREETING_LEN {
            return Ok(None);
        }
        let mechanism =
            Mechanism::from_field(&buf[MECHANISM..AS_SERVER]).ok_or(CodecError::UnknownMechanism)?;
        Ok(Some(Greeting { major: buf[MAJOR], minor: buf[MINOR], mechanism, as_server: buf[AS_SERVER] != 0 }))
    }
}

/// Sends our greeting in libzmq's three steps, each once the peer has sent enough of its own.
///
/// Sans-I/O: [`GreetingSender::start`] queues the signature, [`GreetingSender::on_received`]
/// queues whatever the peer's validated bytes have made due. Neither side can wait on the
/// other: each step needs only the peer's previous step, which it sends unprompted.
#[derive(Debug, Clone, Copy)]
pub struct GreetingSender {
    greeting: Greeting,
    /// The length of our routing id (at most 255), which the padding tells. Kept rather
    /// than the 64 bytes: a session holds this for its lifetime, beside its hot fields.
    routing_id_len: u8,
    /// How many of its bytes are queued so far: 10, 11 or 64.
    sent: usize,
}

impl GreetingSender {
    /// Queues the signature of `greeting` in `out`: what goes out before the peer says anything.
    /// Its padding is what libzmq's holds: the length of a ZMTP 1.0 identity frame
    /// (`routing_id_len` + 1), which is what an unversioned peer reads there.
    pub fn start(greeting: &Greeting, routing_id_len: usize, out: &mut Vec<u8>) -> GreetingSender {
        let routing_id_len = u8::try_from(routing_id_len).unwrap_or(u8::MAX);
        let sender = GreetingSender { greeting: *greeting, routing_id_len, sent: SIGNATURE_LEN };
        out.extend_from_slice(&sender.bytes()[..SIGNATURE_LEN]);
        sender
    }

    /// All 64 bytes, the padding holding the routing id's length + 1.
    fn bytes(&self) -> [u8; GREETING_LEN] {
        let mut bytes = self.greeting.to_bytes();
        bytes[1..SIGNATURE_END].copy_from_slice(&(u64::from(self.routing_id_len) + 1).to_be_bytes());
        bytes
    }

    /// The peer's first `received` greeting bytes have arrived and passed [`Greeting::decode`]:
    /// queues our major version once its signature is complete, the rest once its major is in.
    pub fn on_received(&mut self, received: usize, out: &mut Vec<u8>) {
        let due = match received {
            r if r > MAJOR => GREETING_LEN,
            r if r >= SIGNATURE_LEN => GREETING_VERSION_END,
            _ => SIGNATURE_LEN,
        };
        if due > self.sent {
            out.extend_from_slice(&self.bytes()[self.sent..due]);
            self.sent = due;
        }
    }

    /// Whether all 64 bytes are queued.
    pub fn is_done(&self) -> bool {
        self.sent == GREETING_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libzmq 4.3's NULL greeting (routing id empty), written out by hand from RFC 23.
    fn libzmq_greeting() -> Vec<u8> {
        let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
        g.extend_from_slice(b"NULL");
        g.extend_from_slice(&[0; 16]); // mechanism padding
        g.push(0); // as-server
        g.extend_from_slice(&[0; 31]); // filler
        g
    }

    #[test]
    fn ours_encodes_byte_exact() {
        let mut out = vec![0xAA]; // appends, never overwrites
        Greeting::ours().encode(&mut out);
        assert_eq!(out.len(), 1 + GREETING_LEN);
        assert_eq!(&out[1..], libzmq_greeting().as_slice());
    }

    #[test]
    fn round_trips_every_mechanism() {
        for mechanism in Mechanism::ALL {
            for as_server in [false, true] {
                let g = Greeting { major: 3, minor: 0, mechanism, as_server };
                let mut out = Vec::new();
                g.encode(&mut out);
                assert_eq!(Greeting::decode(&out), Ok(Some(g)));
            }
        }
    }

    #[test]
    fn every_prefix_needs_more() {
        let full = libzmq_greeting();
        for len in 0..GREETING_LEN {
            assert_eq!(Greeting::decode(&full[..len]), Ok(None), "prefix of {len}");
        }
        let mut longer = full.clone();
        longer.extend_from_slice(b"trailing frame bytes");
        assert_eq!(Greeting::decode(&longer), Ok(Some(Greeting::ours())));
    }

    #[test]
    fn garbage_is_rejected_on_its_first_byte() {
        assert_eq!(Greeting::decode(b"G"), Err(CodecError::BadSignature));
        assert_eq!(Greeting::decode(b"GET / HTTP/1.1\r\n"), Err(CodecError::BadSignature));
        let mut g = libzmq_greeting();
        g[9] = 0x7E; // bit 0 clear: a ZMTP 1.0 identity frame, not a signature
        assert_eq!(Greeting::decode(&g[..10]), Err(CodecError::BadSignature));
    }

    #[test]
    fn padding_and_filler_are_ignored_and_0x01_suffices() {
        let mut g = libzmq_greeting();
        g[1..9].copy_from_slice(&[0xAB; 8]);
        g[9] = 0x01;
        g[33..].fill(0xEE);
        g[32] = 7; // nonzero as-server means true
        let want = Greeting { as_server: true, ..Greeting::ours() };
        assert_eq!(Greeting::decode(&g), Ok(Some(want)));
    }

    #[test]
    fn old_versions_are_refused_as_soon_as_major_arrives() {
        let mut g = libzmq_greeting();
        for old in [0, 1] {
            g[10] = old;
            assert_eq!(
                Greeting::decode(&g[..11]),
                Err(CodecError::UnsupportedVersion { major: old, minor: 0 })
            );
            assert_eq!(Greeting::decode(&g), Err(CodecError::UnsupportedVersion { major: old, minor: 1 }));
        }
        // libzmq speaks 3.1 to a major of 2, as to one above 3.
        g[10] = 2;
        let v2 = Greeting::decode(&g).unwrap().unwrap();
        assert_eq!((v2.major, v2.minor), (2, 1));
    }

    #[test]
    fn versions_3_0_and_above() {
        let mut g = libzmq_greeting();
        g[11] = 0;
        let v30 = Greeting::decode(&g).unwrap().unwrap();
        assert!(v30.is_zmtp_3_0());
        g[10] = 4;
        let v40 = Greeting::decode(&g).unwrap().unwrap();
        assert_eq!((v40.major, v40.minor), (4, 0));
        assert!(!v40.is_zmtp_3_0());
        assert!(!Greeting::ours().is_zmtp_3_0());
    }

    #[test]
    fn mechanism_must_match_exactly() {
        let bad: [&[u8]; 4] = [b"GSSAPI", b"null", b"NULLX", b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0X"];
        for name in bad {
            let mut g = libzmq_greeting();
            g[12..32].fill(0);
            g[12..12 + name.len()].copy_from_slice(name);
            assert_eq!(Greeting::decode(&g), Err(CodecError::UnknownMechanism));
            // Judged on the whole greeting, as libzmq judges it.
            assert_eq!(Greeting::decode(&g[..63]), Ok(None), "{name:?}");
        }
        let mut g = libzmq_greeting();
        g[12..32].fill(0);
        assert_eq!(Greeting::decode(&g), Err(CodecError::UnknownMechanism));
    }

    /// libzmq's steps: 10 bytes unprompted, the major after the peer's 10, the remaining 53
    /// after the peer's 11th; nothing twice, nothing more however much arrives later.
    #[test]
    fn sender_steps_as_libzmq() {
        let ours = Greeting { mechanism: Mechanism::Curve, as_server: true, ..Greeting::ours() };
        let whole = ours.to_bytes();
        let mut out = Vec::new();
        let mut sender = GreetingSender::start(&ours, 0, &mut out);
        assert_eq!(out, whole[..10]);
        for received in 0..10 {
            sender.on_received(received, &mut out);
            assert_eq!(out.len(), 10, "after {received} peer bytes");
        }
        sender.on_received(10, &mut out);
        assert_eq!(out, whole[..11]);
        assert!(!sender.is_done());
        sender.on_received(11, &mut out);
        assert_eq!(out, whole);
        assert!(sender.is_done());
        for received in [11, 12, 64, 200] {
            sender.on_received(received, &mut out);
        }
        assert_eq!(out, whole);
    }

    /// A whole greeting (or more) at once: everything due is queued in one call, in order.
    #[test]
    fn padding_is_a_zmtp_1_0_identity_length_as_in_libzmq() {
        let mut out = Vec::new();
        GreetingSender::start(&Greeting::ours(), 3, &mut out);
        assert_eq!(out, [0xFF, 0, 0, 0, 0, 0, 0, 0, 4, 0x7F]);
    }

    #[test]
    fn sender_catches_up_at_once() {
        let mut out = vec![0xAA];
        let mut sender = GreetingSender::start(&Greeting::ours(), 0, &mut out);
        sender.on_received(GREETING_LEN, &mut out);
        assert_eq!(out[0], 0xAA);
        assert_eq!(&out[1..], libzmq_greeting().as_slice());
    }

    #[test]
    fn mechanism_names() {
        let names: Vec<_> = Mechanism::ALL.iter().map(Mechanism::name).collect();
        assert_eq!(names, ["NULL", "PLAIN", "CURVE"]);
    }
}
