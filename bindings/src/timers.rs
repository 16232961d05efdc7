//! `zmq_timers_*`: timers the application runs from its own loop (libzmq 4.2+ stable API).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{c_int, c_long, c_void};
use std::time::{Duration, Instant};

use crate::boundary::{self, CResult};

/// `zmq_timer_fn`.
pub type TimerFn = unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void);

const TAG: u32 = 0x7131_e125;

#[repr(C)]
struct Timers {
    tag: u32,
    next_id: c_int,
    timers: RefCell<BTreeMap<c_int, Timer>>,
}

struct Timer {
    interval: Duration,
    due: Instant,
    handler: TimerFn,
    arg: *mut c_void,
}

/// # Safety
/// `p` is NULL or a handle from [`zmq_timers_new`].
unsafe fn timers<'a>(p: *mut c_void) -> CResult<&'a mut Timers> {
    // SAFETY: non-NULL handles are Timers per the contract; the tag is checked first.
    match unsafe { p.cast::<Timers>().as_mut() } {
        Some(t) if t.tag == TAG => Ok(t),
        _ => Err(libc::EFAULT),
    }
}

/// A new, empty timer set.
#[no_mangle]
pub extern "C" fn zmq_timers_new() -> *mut c_void {
    boundary::ptr(|| {
        let t = Timers { tag: TAG, next_id: 0, timers: RefCell::new(BTreeMap::new()) };
        Ok(Box::into_raw(Box::new(t)).cast())
    })
}

/// Frees the set at `*p` and sets `*p` to NULL.
///
/// # Safety
/// `p` is NULL or points to NULL or to a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_destroy(p: *mut *mut c_void) -> c_int {
    boundary::int(|| {
        if p.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: non-NULL and readable per the contract.
        let t = unsafe { timers(*p) }?;
        t.tag = 0;
        // SAFETY: the handle came from Box::into_raw in zmq_timers_new; `*p` is writable.
        unsafe {
            drop(Box::from_raw(std::ptr::from_mut(t)));
            *p = std::ptr::null_mut();
        }
        Ok(0)
    })
}

/// Adds a timer calling `handler(id, arg)` every `interval` ms; returns its id.
///
/// # Safety
/// `p` is NULL or a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_add(
    p: *mut c_void,
    interval: usize,
    handler: Option<TimerFn>,
    arg: *mut c_void,
) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let t = unsafe { timers(p) }?;
        let handler = handler.ok_or(libc::EFAULT)?;
        t.next_id += 1;
        let interval = Duration::from_millis(interval as u64);
        let timer = Timer { interval, due: Instant::now() + interval, handler, arg };
        t.timers.borrow_mut().insert(t.next_id, timer);
        Ok(t.next_id)
    })
}

fn with_timer(p: *mut c_void, id: c_int, f: impl FnOnce(&mut Timer)) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract of the callers.
        let t = unsafe { timers(p) }?;
        let mut map = t.timers.borrow_mut();
        f(map.get_mut(&id).ok_or(libc::EINVAL)?);
        Ok(0)
    })
}

/// Cancels a timer.
///
/// # Safety
/// `p` is NULL or a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_cancel(p: *mut c_void, id: c_int) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let t = unsafe { timers(p) }?;
        t.timers.borrow_mut().remove(&id).map(|_| 0).ok_or(libc::EINVAL)
    })
}

/// Changes a timer's interval and restarts it.
///
/// # Safety
/// `p` is NULL or a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_set_interval(p: *mut c_void, id: c_int, interval: usize) -> c_int {
    with_timer(p, id, |t| {
        t.interval = Duration::from_millis(interval as u64);
        t.due = Instant::now() + t.interval;
    })
}

/// Restarts a timer's interval from now.
///
/// # Safety
/// `p` is NULL or a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_reset(p: *mut c_void, id: c_int) -> c_int {
    with_timer(p, id, |t| t.due = Instant::now() + t.interval)
}

/// Milliseconds until the next timer is due (0 if overdue, -1 if there is none).
///
/// # Safety
/// `p` is NULL or a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_timeout(p: *mut c_void) -> c_long {
    boundary::or(-1, || {
        // SAFETY: forwarded contract.
        let t = unsafe { timers(p) }?;
        let now = Instant::now();
        let next = t.timers.borrow().values().map(|t| t.due).min();
        // Rounded up: a timer due in 0.4 ms is not due yet, and a caller that sleeps the
        // answer and finds 0 must then see it run (libzmq's test_timers loops on this).
        Ok(next.map_or(-1, |due| due.saturating_duration_since(now).as_micros().div_ceil(1000) as c_long))
    })
}

/// Runs the handlers of due timers and schedules their next run.
///
/// # Safety
/// `p` is NULL or a timer set handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_execute(p: *mut c_void) -> c_int {
    boundary::int(|| {
        // SAFETY: forwarded contract.
        let t = unsafe { timers(p) }?;
        let now = Instant::now();
        let due: Vec<c_int> =
            t.timers.borrow().iter().filter(|(_, t)| t.due <= now).map(|(id, _)| *id).collect();
        for id in due {
            // Handlers may cancel or add timers: no borrow is held while one runs.
            let call = t.timers.borrow_mut().get_mut(&id).map(|timer| {
                timer.due = now + timer.interval;
                (timer.handler, timer.arg)
            });
            if let Some((handler, arg)) = call {
                // SAFETY: the caller registered this handler and argument.
                unsafe { handler(id, arg) };
            }
        }
        Ok(0)
    })
}
