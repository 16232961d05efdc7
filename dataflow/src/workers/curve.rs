//! CURVE between workers (`topology.worker.curve.secretkey`): every tcp inbox is a CURVE
//! server and every PUSH to another worker a CURVE client, all with the topology's one key
//! pair. Encryption alone would admit any client that knows the public key, so a ZAP handler
//! in the worker's context admits only that public key: only holders of the secret connect.
//! inproc links between executors of one worker carry no security mechanism (as in libzmq)
//! and stay as they are.

use libsock::{Authenticator, Context, Socket};

use crate::topology::WorkerKey;

/// Makes `inbox` a CURVE server (before it binds: the mechanism is fixed at bind time).
pub(crate) fn serve(inbox: &Socket, key: &WorkerKey) -> libsock::Result<()> {
    inbox.set_curve_server(true)?;
    inbox.set_curve_secretkey(key.secret().as_bytes())
}

/// Makes `push` a CURVE client of another worker (before it connects).
pub(crate) fn client(push: &Socket, key: &WorkerKey) -> libsock::Result<()> {
    push.set_curve_serverkey(key.public().as_bytes())?;
    push.set_curve_publickey(key.public().as_bytes())?;
    push.set_curve_secretkey(key.secret().as_bytes())
}

/// Starts the ZAP handler of a worker's context, admitting only `key`'s public key. Keep it
/// for as long as the context serves: without a handler libsock admits any CURVE client.
pub fn authenticate(ctx: &Context, key: &WorkerKey) -> Result<Authenticator, String> {
    let auth = Authenticator::start(ctx).map_err(|e| format!("starting the ZAP handler: {e}"))?;
    let public: [u8; 32] = libsock::z85_decode(key.public())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or("the topology's public key is not 32 bytes of Z85")?;
    auth.set_curve_keys([public]);
    Ok(auth)
}
