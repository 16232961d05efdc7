//! What this build is and can do, as libzmq reports it: [`version`] (`zmq_version`) and
//! [`has`] (`zmq_has`).

/// The libzmq API version libsock implements, `(major, minor, patch)`: what `zmq_version`
/// reports through the C bindings, and the `zmq` crate's `version()`.
pub const fn version() -> (i32, i32, i32) {
    (4, 3, 4)
}

/// Whether libsock has `capability`, named as `zmq_has` names them (the `zmq` crate's
/// `has`): `"ipc"`, `"curve"`, `"ws"` and `"wss"` (`ws://`, `wss://`; libzmq 4.3.4 answers
/// them as `"WS"` and `"WSS"`, which are taken too) yes, `"draft"` when built with the `draft`
/// feature (as a libzmq built with its draft API); libzmq's others (`"pgm"`, `"tipc"`,
/// `"norm"`, `"gssapi"`, `"vmci"`) and unknown names no.
///
/// ```
/// assert!(libsock::has("curve"));
/// assert!(!libsock::has("pgm"));
/// ```
pub fn has(capability: &str) -> bool {
    matches!(capability, "ipc" | "curve" | "ws" | "WS" | "wss" | "WSS")
        || (capability == "draft" && cfg!(feature = "draft"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_as_zmq_has() {
        for present in ["ipc", "curve", "ws", "WS", "wss", "WSS"] {
            assert!(super::has(present), "{present}");
        }
        for absent in ["pgm", "tipc", "norm", "gssapi", "vmci", "", "CURVE"] {
            assert!(!super::has(absent), "{absent}");
        }
        assert_eq!(super::has("draft"), cfg!(feature = "draft"));
    }
}
