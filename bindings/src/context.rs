//! Contexts: `zmq_ctx_new/term/shutdown/set/get/destroy`, `zmq_init/term`.
//!
//! Options go to libsock's [`Context::set`]/[`Context::get`] by number (its I/O threads
//! start with the first socket, so `ZMQ_IO_THREADS` set before that takes effect, as in
//! libzmq). `zmq_ctx_term` makes blocked and later calls on open sockets fail with `ETERM`,
//! waits until every socket is closed and has lingered, then ends the context; a signal
//! handler ends that wait with `EINTR`, as in libzmq.

use std::ffi::{c_int, c_void};
use std::sync::{Arc, Mutex, MutexGuard};

use libsock::Context;

use crate::boundary::{self, err, CResult};
use crate::consts::*;
use crate::handle::{self, Handle, Tag};

/// What a `void *` context points at.
#[repr(C)]
pub struct CtxHandle {
    tag: Tag,
    pub(crate) shared: Arc<CtxShared>,
}

impl Handle for CtxHandle {
    fn tag(&self) -> &Tag {
        &self.tag
    }
}

/// State shared by a context handle and its sockets.
pub struct CtxShared {
    state: Mutex<CtxState>,
}

/// Bookkeeping of one C context.
pub struct CtxState {
    /// The libsock context, until `zmq_ctx_term`.
    ctx: Option<Context>,
    shut_down: bool,
}

impl CtxShared {
    fn lock(&self) -> MutexGuard<'_, CtxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The libsock context to make a new socket in (ETERM once the context is shut down;
    /// libsock counts the socket open until it is dropped, and `zmq_ctx_term` waits for that).
    pub(crate) fn open_socket(&self) -> CResult<Context> {
        let st = self.lock();
        if st.shut_down {
            return Err(ETERM);
        }
        st.ctx.clone().ok_or(ETERM)
    }
}

/// The libsock context behind a C context handle (`EFAULT` for bad or terminated ones).
///
/// # Safety
/// As [`ctx_ref`].
pub(crate) unsafe fn libsock_ctx(p: *mut c_void) -> CResult<Context> {
    // SAFETY: forwarded contract.
    let h = unsafe { ctx_ref(p) }?;
    let ctx = h.shared.lock().ctx.clone();
    ctx.ok_or(libc::EFAULT)
}

/// # Safety
/// `p` is NULL or a pointer previously returned by `zmq_ctx_new` (see [`handle::has_tag`]).
pub(crate) unsafe fn ctx_ref<'a>(p: *mut c_void) -> CResult<&'a CtxHandle> {
    // SAFETY: forwarded contract of has_tag.
    if !unsafe { handle::has_tag(p, handle::CONTEXT) } {
        return Err(libc::EFAULT);
    }
    // SAFETY: the tag says `p` is a live CtxHandle.
    Ok(unsafe { &*p.cast::<CtxHandle>() })
}

/// Creates a context.
#[no_mangle]
pub extern "C" fn zmq_ctx_new() -> *mut c_void {
    boundary::ptr(|| {
        let state = CtxState { ctx: Some(Context::new()), shut_down: false };
        let shared = Arc::new(CtxShared { state: Mutex::new(state) });
        let h = Box::new(CtxHandle { tag: Tag::new(handle::CONTEXT), shared });
        Ok(Box::into_raw(h).cast())
    })
}

/// Ends a context: open sockets fail with ETERM; waits until all are closed and LINGER has
/// delivered what they queued. A signal handler that runs meanwhile ends it with EINTR, as
/// in libzmq; the context stays shut down and a later call goes on waiting.
///
/// # Safety
/// `context` is NULL or a context handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_term(context: *mut c_void) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { ctx_ref(context) }?;
        let ctx = {
            let mut st = h.shared.lock();
            st.shut_down = true;
            st.ctx.clone()
        };
        // libsock's term waits until every socket of the context is dropped (each C socket
        // is one, dropped by zmq_close), then for LINGER, and stops the I/O threads even if
        // a libsock handle to the context is still held elsewhere (a call in another
        // thread), so the program may exit as soon as this returns.
        if let Some(ctx) = ctx {
            ctx.term_interruptible().map_err(err)?;
        }
        h.shared.lock().ctx = None;
        // SAFETY: the tag check above proved `context` came from Box::into_raw in
        // zmq_ctx_new; the caller gives up the handle with this call.
        handle::bury(unsafe { Box::from_raw(context.cast::<CtxHandle>()) });
        Ok(0)
    })
}

/// Same as [`zmq_ctx_term`].
///
/// # Safety
/// As [`zmq_ctx_term`].
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_destroy(context: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_ctx_term(context) }
}

/// Same as [`zmq_ctx_term`] (libzmq 2 name).
///
/// # Safety
/// As [`zmq_ctx_term`].
#[no_mangle]
pub unsafe extern "C" fn zmq_term(context: *mut c_void) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { zmq_ctx_term(context) }
}

/// Creates a context with `io_threads` I/O threads (libzmq 2 name).
#[no_mangle]
pub extern "C" fn zmq_init(io_threads: c_int) -> *mut c_void {
    if io_threads < 0 {
        boundary::set_errno(libc::EINVAL);
        return std::ptr::null_mut();
    }
    let ctx = zmq_ctx_new();
    // SAFETY: `ctx` is NULL or the handle just made.
    if !ctx.is_null() && unsafe { zmq_ctx_set(ctx, IO_THREADS, io_threads) } != 0 {
        // SAFETY: as above; nothing else holds it yet.
        unsafe { zmq_ctx_term(ctx) };
        return std::ptr::null_mut();
    }
    ctx
}

/// Makes blocked and later operations on the context's sockets fail with ETERM.
///
/// # Safety
/// `context` is NULL or a context handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_shutdown(context: *mut c_void) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { ctx_ref(context) }?;
        let mut st = h.shared.lock();
        st.shut_down = true;
        if let Some(c) = &st.ctx {
            c.shutdown();
        }
        Ok(0)
    })
}

/// Sets a context option.
///
/// # Safety
/// `context` is NULL or a context handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let ctx = unsafe { libsock_ctx(context) }?;
        ctx.set(option, optval).map_err(err)?;
        Ok(0)
    })
}

/// Reads a context option.
///
/// # Safety
/// `context` is NULL or a context handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let ctx = unsafe { libsock_ctx(context) }?;
        ctx.get(option).map_err(err)
    })
}
