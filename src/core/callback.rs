//! The loop's callback queue (gevent's `loop.run_callback` and its
//! `callback` objects), drained by a prepare watcher.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use super::LoopInner;
use crate::greenlet::raw::{WakeToken, panic_to_error};
use crate::libev as ev;

/// A callback scheduled with [`Loop::run_callback`](super::Loop::run_callback)
/// (gevent's `callback`): true while pending, cancellable with
/// [`stop`](Self::stop). The closure lives in the handle's own allocation.
#[derive(Clone)]
pub struct Callback(Rc<dyn CallbackCell>);

pub(crate) trait CallbackCell {
    fn pending(&self) -> bool;
    fn stop(&self);
    /// Runs the closure if still pending.
    fn run(&self);
}

struct Cb<F>(Cell<Option<F>>);

impl<F: FnOnce()> CallbackCell for Cb<F> {
    fn pending(&self) -> bool {
        // SAFETY: a shared peek at the Option's discriminant; no reference
        // into the cell escapes and nothing else runs meanwhile.
        unsafe { (*self.0.as_ptr()).is_some() }
    }

    fn stop(&self) {
        drop(self.0.take());
    }

    fn run(&self) {
        if let Some(f) = self.0.take() {
            f()
        }
    }
}

impl Callback {
    pub(crate) fn new<F: FnOnce() + 'static>(f: F) -> Callback {
        Callback(Rc::new(Cb(Cell::new(Some(f)))))
    }

    /// True until the callback has run or was stopped.
    pub fn pending(&self) -> bool {
        self.0.pending()
    }

    /// Cancels the callback if it has not run yet.
    pub fn stop(&self) {
        self.0.stop()
    }

    /// Same as [`stop`](Self::stop) (gevent's `close`).
    pub fn close(&self) {
        self.stop()
    }
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<callback pending={}>", self.pending())
    }
}

/// An entry of the queue.
pub(crate) enum CallbackEntry {
    /// A plain closure (no handle).
    Fn(Box<dyn FnOnce()>),
    /// A closure with a cancel handle.
    Handle(Callback),
    /// Wake a parked greenlet (`sleep(0)`, wake-ups): no allocation.
    Wake(WakeToken),
    /// Start a greenlet (switch into it unless it already started or was
    /// discarded): `spawn` without a closure.
    Start(crate::greenlet::RawGreenlet),
    /// Fire the links of a linkable object.
    Notify(Rc<dyn crate::linkable::Notify>),
}

/// The prepare watcher's callback: drain the queue.
pub(super) unsafe extern "C" fn prepare_cb(
    _l: *mut ev::ev_loop,
    w: *mut ev::ev_watcher,
    _revents: libc::c_int,
) {
    // SAFETY: `data` is the LoopInner that owns this prepare watcher; it is
    // alive while the watcher is active (LoopInner::drop stops it).
    let inner = unsafe { &*((*w).data as *const LoopInner) };
    // Keep the loop alive while callbacks run (one may drop the last Loop).
    // SAFETY: `inner` lives in an Rc (Loop); taking one more count is sound.
    let _keep = unsafe {
        Rc::increment_strong_count(inner);
        Rc::from_raw(inner as *const LoopInner)
    };
    run_callbacks(inner);
}

pub(super) unsafe extern "C" fn noop_cb(
    _l: *mut ev::ev_loop,
    _w: *mut ev::ev_watcher,
    _revents: libc::c_int,
) {
}

fn run_callbacks(inner: &LoopInner) {
    let l = inner.raw();
    if l.is_null() {
        return;
    }
    // SAFETY: l is live; timer0 belongs to this loop.
    unsafe { ev::ev_timer_stop(l, inner.timer0()) };
    // SAFETY: l is live (checked above).
    let expiration = unsafe { ev::ev_now(l) } + inner.switch_interval();
    let mut count = super::CALLBACK_CHECK_COUNT;
    loop {
        let (entry, now_empty) = {
            let mut q = inner.callbacks.borrow_mut();
            let e = q.pop_front();
            (e, q.is_empty())
        };
        let Some(entry) = entry else { break };
        let l = inner.raw();
        if l.is_null() {
            return;
        }
        if now_empty {
            // SAFETY: l is live; gives back the queue's reference (taken
            // by push_callback when the queue became non-empty).
            unsafe { ev::ev_unref(l) };
        }
        if !inner.stopping.get() {
            run_entry(inner, entry);
        }
        count -= 1;
        if count == 0 {
            count = super::CALLBACK_CHECK_COUNT;
            let l = inner.raw();
            if l.is_null() {
                return;
            }
            // SAFETY: l is live.
            let now = unsafe {
                ev::ev_now_update(l);
                ev::ev_now(l)
            };
            if now >= expiration {
                break;
            }
        }
    }
    let l = inner.raw();
    if !l.is_null() && !inner.callbacks.borrow().is_empty() {
        // Leftovers: make the next poll non-blocking.
        // SAFETY: l is live; timer0 is initialised and inactive.
        unsafe { ev::ev_timer_start(l, inner.timer0()) };
    }
}

#[inline(always)]
fn run_entry(inner: &LoopInner, entry: CallbackEntry) {
    match entry {
        CallbackEntry::Fn(f) => call_guarded(inner, f),
        CallbackEntry::Handle(h) => {
            if h.pending()
                && let Err(payload) = catch_unwind(AssertUnwindSafe(|| h.0.run()))
            {
                report(inner, "callback", panic_to_error(payload));
            }
        }
        CallbackEntry::Wake(token) => {
            if let Some(d) = token.fire_data() {
                crate::hub::after_switch_data(d);
            }
        }
        CallbackEntry::Start(g) => {
            if !g.started() {
                crate::hub::hub_switch(&g, crate::greenlet::raw::Msg::Value(None));
            }
        }
        CallbackEntry::Notify(n) => {
            if catch_unwind(AssertUnwindSafe(|| n.notify())).is_err() {
                report(
                    inner,
                    "link notification",
                    crate::Error::Panicked("link notification".into()),
                );
            }
        }
    }
}

/// Runs a callback, turning a panic into a report to the loop's error
/// handler (never unwinding into libev).
pub(crate) fn call_guarded<F: FnOnce()>(inner: &LoopInner, f: F) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        let err = panic_to_error(payload);
        report(inner, "callback", err);
    }
}

pub(crate) fn report(inner: &LoopInner, context: &str, err: crate::Error) {
    let h = inner.error_handler.borrow().clone();
    match h {
        Some(h) => {
            if catch_unwind(AssertUnwindSafe(|| h(context, err))).is_err() {
                crate::error::emit(
                    log::Level::Error,
                    format_args!("gevent: the error handler itself panicked"),
                );
            }
        }
        None => crate::error::report_failure(context, &err),
    }
}
