//! The timer of a timed park (`sleep`, and every wait with a timeout): a
//! one-shot `ev_timer` that lives in the parked greenlet's own frame, so a
//! timed wait allocates nothing.
//!
//! It is sound because the frame outlives the timer: the timer is stopped
//! on every way out of the frame (its `Drop`), and a parked greenlet's
//! frame only goes away by returning or unwinding through it (a hub being
//! destroyed unwinds its greenlets before it destroys its loop).

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomPinned;

use super::Loop;
use crate::error::Result;
use crate::greenlet::raw::WakeToken;
use crate::libev as ev;

/// A started one-shot timer waking `token`'s greenlet; stopped when
/// dropped. Build it in place and never move it while started: it is
/// only used through [`ParkTimer::start`], which pins it in the caller's
/// frame for the duration of a closure.
pub(crate) struct ParkTimer {
    raw: UnsafeCell<ev::ev_timer>,
    lp: Loop,
    /// The wake-up; taken by the callback when the timer expires.
    token: Cell<Option<WakeToken>>,
    /// The loop reference was given up (`ev_unref`) while started.
    unrefed: Cell<bool>,
    _pin: PhantomPinned,
}

impl ParkTimer {
    /// Runs `park` with a timer started for `secs` that wakes `token` when
    /// it expires (holding a loop reference unless `ref_` is false or the
    /// loop's watchers do not keep it alive); stops the timer afterwards,
    /// also when `park` unwinds. Returns what `park` returned and whether
    /// the timer expired (its wake-up was used).
    #[inline(always)]
    pub(crate) fn start<R>(
        lp: &Loop,
        secs: f64,
        token: WakeToken,
        ref_: bool,
        park: impl FnOnce() -> R,
    ) -> Result<(R, bool)> {
        let l = lp.raw_checked()?;
        let t = ParkTimer {
            // SAFETY: an all-zero ev_timer is a valid inactive watcher
            // (what ev_init writes, before setting the callback).
            raw: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            lp: lp.clone(),
            token: Cell::new(Some(token)),
            unrefed: Cell::new(false),
            _pin: PhantomPinned,
        };
        let w = t.raw.get();
        // SAFETY: `t` stays where it is until this function returns (it is
        // only borrowed from here on), and it is stopped before it goes (by
        // `stop` below or by its Drop while unwinding). l is live.
        unsafe {
            ev::ev_init(w.cast(), Some(expired));
            (*w).w.data = (&raw const t) as *mut libc::c_void;
            ev::ev_timer_set(w, secs.max(0.0), 0.0);
            ev::ev_timer_start(l, w);
            if !ref_ || lp.0.watchers_unref.get() {
                ev::ev_unref(l);
                t.unrefed.set(true);
            }
        }
        let r = park();
        let expired = t.token.take().is_none();
        t.stop();
        Ok((r, expired))
    }

    fn stop(&self) {
        if self.lp.destroyed() {
            return;
        }
        let l = self.lp.0.raw();
        let w = self.raw.get();
        // SAFETY: l is live (not destroyed); the watcher is initialised and
        // belongs to it; stopping an inactive watcher is a no-op.
        unsafe {
            if (*w).w.active != 0 {
                if self.unrefed.replace(false) {
                    ev::ev_ref(l);
                }
                ev::ev_timer_stop(l, w);
            }
        }
    }
}

impl Drop for ParkTimer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The timer expired: libev already stopped it. Wake the greenlet, after
/// the last touch of the timer (the woken greenlet's frame, and with it
/// the timer, may be gone by the time the switch comes back here).
unsafe extern "C" fn expired(l: *mut ev::ev_loop, w: *mut ev::ev_watcher, _revents: libc::c_int) {
    let token = {
        // SAFETY: `data` is the ParkTimer owning this watcher, alive while
        // the watcher is active or pending (it is stopped before it goes).
        let t = unsafe { &*((*w).data as *const ParkTimer) };
        if t.unrefed.replace(false) {
            // SAFETY: l is the live loop calling us; libev stopped the
            // one-shot timer, so the reference given up comes back.
            unsafe { ev::ev_ref(l) };
        }
        t.token.take()
    };
    if let Some(d) = token.and_then(|tk| tk.fire_data()) {
        crate::hub::after_switch_data(d);
    }
}
