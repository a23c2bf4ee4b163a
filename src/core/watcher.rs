//! libev watchers behind one safe generic type, [`Watcher`].
//!
//! The raw libev struct lives inside the watcher's `Rc` allocation, so it
//! never moves while active; its `data` points back at that allocation.
//! Dropping the last handle stops the watcher. A callback may keep a handle
//! to its own watcher (that is how a watcher stays alive with no other
//! owner, as gevent's loop keeps started watchers alive); stopping or
//! closing the watcher drops the callback and so breaks that cycle.

use std::cell::{Cell, UnsafeCell};
use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Loop;
use crate::error::{Error, Result};
use crate::greenlet::raw::{WakeToken, panic_to_error};
use crate::libev as ev;

/// The libev watcher types a [`Watcher`] can wrap. Sealed.
pub trait WatcherKind: sealed::Sealed + Sized + 'static {
    /// gevent's name for the watcher type (`"timer"`, `"io"`, ...).
    const NAME: &'static str;
    #[doc(hidden)]
    unsafe fn ev_start(l: *mut ev::ev_loop, w: *mut Self);
    #[doc(hidden)]
    unsafe fn ev_stop(l: *mut ev::ev_loop, w: *mut Self);
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! kind {
    ($t:ty, $name:literal, $start:path, $stop:path) => {
        impl sealed::Sealed for $t {}
        impl WatcherKind for $t {
            const NAME: &'static str = $name;
            unsafe fn ev_start(l: *mut ev::ev_loop, w: *mut Self) {
                // SAFETY: forwarded contract: l live, w initialised.
                unsafe { $start(l, w) }
            }
            unsafe fn ev_stop(l: *mut ev::ev_loop, w: *mut Self) {
                // SAFETY: forwarded contract.
                unsafe { $stop(l, w) }
            }
        }
    };
}

kind!(ev::ev_io, "io", ev::ev_io_start, ev::ev_io_stop);
kind!(ev::ev_timer, "timer", ev::ev_timer_start, ev::ev_timer_stop);
kind!(
    ev::ev_periodic,
    "periodic",
    ev::ev_periodic_start,
    ev::ev_periodic_stop
);
kind!(
    ev::ev_signal,
    "signal",
    ev::ev_signal_start,
    ev::ev_signal_stop
);
kind!(ev::ev_child, "child", ev::ev_child_start, ev::ev_child_stop);
kind!(ev::ev_stat, "stat", ev::ev_stat_start, ev::ev_stat_stop);
kind!(ev::ev_idle, "idle", ev::ev_idle_start, ev::ev_idle_stop);
kind!(
    ev::ev_prepare,
    "prepare",
    ev::ev_prepare_start,
    ev::ev_prepare_stop
);
kind!(ev::ev_check, "check", ev::ev_check_start, ev::ev_check_stop);
kind!(ev::ev_fork, "fork", ev::ev_fork_start, ev::ev_fork_stop);
kind!(
    ev::ev_cleanup,
    "cleanup",
    ev::ev_cleanup_start,
    ev::ev_cleanup_stop
);
kind!(ev::ev_async, "async", ev::ev_async_start, ev::ev_async_stop);

/// A timer watcher.
pub type Timer = Watcher<ev::ev_timer>;
/// An io (file descriptor readiness) watcher.
pub type Io = Watcher<ev::ev_io>;
/// A periodic (wall-clock) watcher.
pub type Periodic = Watcher<ev::ev_periodic>;
/// A signal watcher.
pub type Signal = Watcher<ev::ev_signal>;
/// A child-process watcher (default loop only).
pub type Child = Watcher<ev::ev_child>;
/// A file-status watcher.
pub type Stat = Watcher<ev::ev_stat>;
/// An idle watcher.
pub type Idle = Watcher<ev::ev_idle>;
/// A prepare watcher.
pub type Prepare = Watcher<ev::ev_prepare>;
/// A check watcher.
pub type Check = Watcher<ev::ev_check>;
/// A fork watcher.
pub type Fork = Watcher<ev::ev_fork>;
/// A cleanup watcher.
pub type Cleanup = Watcher<ev::ev_cleanup>;
/// An async watcher (woken from any thread).
pub type Async = Watcher<ev::ev_async>;

enum Cb {
    User(Box<dyn FnMut()>),
    Wake(WakeToken),
}

/// A libev watcher made by a [`Loop`]. Cloning gives another handle to the
/// same watcher; the watcher is stopped when the last handle is dropped, so
/// keep a started watcher in a variable (`let _timer = ...`) or a field for
/// as long as it should run.
#[must_use = "a watcher is stopped when its last handle is dropped: keep it alive with `let _w = ...` (not `let _ = ...`)"]
pub struct Watcher<K: WatcherKind>(Rc<WInner<K>>);

impl<K: WatcherKind> Clone for Watcher<K> {
    fn clone(&self) -> Self {
        Watcher(self.0.clone())
    }
}

struct WInner<K: WatcherKind> {
    raw: UnsafeCell<K>,
    lp: Loop,
    cb: Cell<Option<Cb>>,
    ref_: Cell<bool>,
    unrefed: Cell<bool>,
    closed: Cell<bool>,
    revents: Cell<i32>,
    /// Io watchers of sockets: left started after a wait, with no waiter
    /// and no loop reference, so that the next wait costs no
    /// start/stop (see [`Watcher::attach_wake`]).
    idle: Cell<bool>,
    /// Signal watchers: the loop address this watcher holds the signal for
    /// (0 when it holds none).
    claimed: Cell<usize>,
    path: Option<CString>,
    async_shared: Option<Arc<AsyncShared>>,
}

impl<K: WatcherKind> WInner<K> {
    fn w(&self) -> *mut ev::ev_watcher {
        self.raw.get().cast()
    }

    /// Started and not stopped, on a loop that still exists (a destroyed
    /// loop runs nothing, whatever the struct still says).
    fn is_active(&self) -> bool {
        // SAFETY: reading a field of our own watcher struct.
        unsafe { (*self.w()).active != 0 && !self.lp.destroyed() }
    }

    fn stop_now(&self) {
        self.idle.set(false);
        let claimed = self.claimed.replace(0);
        if claimed != 0 {
            // SAFETY: K is ev_signal when a claim was made.
            let signum = unsafe { (*self.raw.get().cast::<ev::ev_signal>()).signum };
            release_signal(claimed, signum);
        }
        let l = self.lp.as_raw();
        if l.is_null() {
            self.unrefed.set(false);
            return;
        }
        if self.unrefed.replace(false) {
            // SAFETY: l is live; re-take the reference given up at start.
            unsafe { ev::ev_ref(l) };
        }
        // SAFETY: l is live and the watcher belongs to it; stopping an
        // inactive watcher only clears its pending state.
        unsafe { K::ev_stop(l, self.raw.get()) };
    }
}

impl<K: WatcherKind> Drop for WInner<K> {
    fn drop(&mut self) {
        if let Some(shared) = &self.async_shared {
            *shared.target.lock() = None;
        }
        self.stop_now();
    }
}

unsafe extern "C" fn trampoline<K: WatcherKind>(
    l: *mut ev::ev_loop,
    w: *mut ev::ev_watcher,
    revents: libc::c_int,
) {
    // SAFETY: `data` is the WInner<K> owning this watcher; it is alive while
    // the watcher is active or pending (its Drop stops it). One more strong
    // count keeps it alive through the callback.
    let inner: Rc<WInner<K>> = unsafe {
        let p = (*w).data as *const WInner<K>;
        Rc::increment_strong_count(p);
        Rc::from_raw(p)
    };
    inner.revents.set(revents);
    if !inner.is_active() && inner.unrefed.replace(false) {
        // libev stopped a one-shot watcher on its own: re-take the
        // reference we gave up when starting it.
        // SAFETY: l is the live loop calling us.
        unsafe { ev::ev_ref(l) };
    }
    let Some(cb) = inner.cb.take() else {
        if inner.idle.get() {
            // An event for a socket no one waits on: stop watching until
            // someone does (level-triggered: it would fire every turn).
            inner.stop_now();
        }
        return;
    };
    match cb {
        Cb::Wake(token) => match token.fire_data() {
            Some(d) => crate::hub::after_switch_data(d),
            // Nobody left to wake: do not keep firing.
            None => inner.stop_now(),
        },
        Cb::User(mut f) => {
            let r = catch_unwind(AssertUnwindSafe(&mut f));
            if let Err(payload) = r {
                let err = panic_to_error(payload);
                if K::NAME == "io" {
                    // gevent stops an io watcher whose callback raised, so
                    // it cannot spin.
                    inner.stop_now();
                }
                super::callback::report(&inner.lp.0, K::NAME, err);
            }
            let keep = inner.is_active() && !inner.closed.get();
            let slot = inner.cb.take();
            match slot {
                // The callback installed a new one (restart): keep that.
                Some(new) => inner.cb.set(Some(new)),
                None if keep => inner.cb.set(Some(Cb::User(f))),
                None => drop(f),
            }
        }
    }
}

impl<K: WatcherKind> Watcher<K> {
    fn make(lp: &Loop, raw: K, path: Option<CString>, shared: Option<Arc<AsyncShared>>) -> Self {
        let inner = Rc::new(WInner {
            raw: UnsafeCell::new(raw),
            lp: lp.clone(),
            cb: Cell::new(None),
            ref_: Cell::new(!lp.0.watchers_unref.get()),
            unrefed: Cell::new(false),
            idle: Cell::new(false),
            closed: Cell::new(false),
            revents: Cell::new(0),
            claimed: Cell::new(0),
            path,
            async_shared: shared,
        });
        // SAFETY: the watcher struct is inside the Rc allocation and never
        // moves; it is inactive here.
        unsafe {
            let w = inner.w();
            ev::ev_init(w, Some(trampoline::<K>));
            (*w).data = Rc::as_ptr(&inner) as *mut libc::c_void;
        }
        Watcher(inner)
    }

    fn raw(&self) -> *mut K {
        self.0.raw.get()
    }

    fn start_cb(&self, cb: Cb) -> Result<()> {
        if self.0.closed.get() {
            return Err(Error::invalid(format!("{} watcher is closed", K::NAME)));
        }
        let l = self.0.lp.raw_checked()?;
        self.0.cb.set(Some(cb));
        if !self.0.is_active() {
            // SAFETY: l is live; the watcher is initialised, inactive and
            // pinned in its Rc allocation.
            unsafe { K::ev_start(l, self.raw()) };
            if !self.0.ref_.get() && self.0.is_active() {
                // SAFETY: l is live.
                unsafe { ev::ev_unref(l) };
                self.0.unrefed.set(true);
            }
        }
        Ok(())
    }

    /// Starts the watcher with `callback` (replacing the callback if it is
    /// already active).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the watcher was closed, its loop
    /// destroyed, or (io) its fd is not open.
    pub fn start(&self, callback: impl FnMut() + 'static) -> Result<()> {
        self.precheck()?;
        self.start_cb(Cb::User(Box::new(callback)))
    }

    /// Starts the watcher so that its firing wakes the parked greenlet of
    /// `token` (the hub's `wait`).
    pub(crate) fn start_wake(&self, token: WakeToken) -> Result<()> {
        self.precheck()?;
        self.start_cb(Cb::Wake(token))
    }

    /// The wake-up of the greenlet parked on this watcher, if any: taken
    /// out, and the watcher stopped (to wake it some other way, such as
    /// with an error when its socket is closed).
    pub(crate) fn take_waiter(&self) -> Option<WakeToken> {
        match self.0.cb.take() {
            Some(Cb::Wake(t)) => {
                self.0.stop_now();
                Some(t)
            }
            other => {
                self.0.cb.set(other);
                None
            }
        }
    }

    fn precheck(&self) -> Result<()> {
        if K::NAME == "signal" {
            // SAFETY: K is ev_signal when NAME is "signal".
            let signum = unsafe { (*self.raw().cast::<ev::ev_signal>()).signum };
            if self.0.claimed.get() == 0 {
                let l = claim_signal(&self.0.lp, signum)?;
                self.0.claimed.set(l);
            }
        }
        if K::NAME == "io" {
            // SAFETY: K is ev_io when NAME is "io".
            let fd = unsafe { (*self.raw().cast::<ev::ev_io>()).fd };
            // SAFETY: F_GETFD on any integer is harmless.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
                return Err(std::io::Error::last_os_error().into());
            }
        }
        Ok(())
    }

    /// Stops the watcher and drops its callback.
    pub fn stop(&self) {
        self.0.stop_now();
        drop(self.0.cb.take());
    }

    /// Stops the watcher for good: it cannot be started again.
    pub fn close(&self) {
        self.stop();
        self.0.closed.set(true);
    }

    /// True once [`close`](Self::close) was called.
    pub fn closed(&self) -> bool {
        self.0.closed.get()
    }

    /// True while started.
    pub fn active(&self) -> bool {
        self.0.is_active()
    }

    /// True while an event is pending and its callback not yet run.
    pub fn pending(&self) -> bool {
        // SAFETY: reading a field of our own watcher.
        unsafe { (*self.0.w()).pending != 0 && !self.0.lp.destroyed() }
    }

    /// The libev priority (-2..=2).
    pub fn priority(&self) -> i32 {
        // SAFETY: reading a field of our own watcher.
        unsafe { (*self.0.w()).priority }
    }

    /// Sets the priority.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] while the watcher is active (libev forbids
    /// it) or out of the -2..=2 range.
    pub fn set_priority(&self, priority: i32) -> Result<()> {
        if self.0.is_active() {
            return Err(Error::invalid(
                "cannot set the priority of an active watcher",
            ));
        }
        if !(ev::EV_MINPRI..=ev::EV_MAXPRI).contains(&priority) {
            return Err(Error::invalid(format!(
                "priority {priority} out of range {}..={}",
                ev::EV_MINPRI,
                ev::EV_MAXPRI
            )));
        }
        // SAFETY: the watcher is inactive; writing its priority field.
        unsafe { (*self.0.w()).priority = priority };
        Ok(())
    }

    /// Whether this watcher keeps the loop alive (gevent's `ref`).
    pub fn ref_(&self) -> bool {
        self.0.ref_.get()
    }

    /// Sets whether this watcher keeps the loop alive; takes effect at once
    /// for an active watcher.
    pub fn set_ref(&self, value: bool) {
        if self.0.ref_.replace(value) == value {
            return;
        }
        let Ok(l) = self.0.lp.raw_checked() else {
            return;
        };
        // An idle watcher holds no reference whatever `ref_` says; its
        // next waiter takes one if `ref_` then asks for it.
        if self.0.is_active() && !self.0.idle.get() {
            if !value && !self.0.unrefed.get() {
                // SAFETY: l is live.
                unsafe { ev::ev_unref(l) };
                self.0.unrefed.set(true);
            } else if value && self.0.unrefed.replace(false) {
                // SAFETY: l is live.
                unsafe { ev::ev_ref(l) };
            }
        }
    }

    /// Feeds an event to the watcher as if it happened
    /// (`ev_feed_event`).
    pub fn feed(&self, revents: i32) -> Result<()> {
        let l = self.0.lp.raw_checked()?;
        // SAFETY: l is live; the watcher is pinned.
        unsafe { ev::ev_feed_event(l, self.raw().cast(), revents) };
        Ok(())
    }

    /// The events of the last callback invocation.
    pub fn revents(&self) -> i32 {
        self.0.revents.get()
    }

    /// The loop this watcher belongs to.
    pub fn loop_(&self) -> &Loop {
        &self.0.lp
    }

    /// True if a callback is set (started and not stopped).
    pub fn has_callback(&self) -> bool {
        let cb = self.0.cb.take();
        let has = cb.is_some();
        self.0.cb.set(cb);
        has
    }

    /// Identity comparison.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    fn require_inactive(&self, what: &str) -> Result<()> {
        if self.0.is_active() {
            Err(Error::invalid(format!(
                "cannot change {what} of an active watcher"
            )))
        } else {
            Ok(())
        }
    }
}

impl<K: WatcherKind> std::fmt::Debug for Watcher<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<{} active={} pending={} ref={}>",
            K::NAME,
            self.active(),
            self.pending(),
            self.ref_()
        )
    }
}

fn zeroed<K>() -> K {
    // SAFETY: libev watcher structs are plain C data for which all-zero is
    // a valid (inactive) value.
    unsafe { std::mem::zeroed() }
}

fn check_time(name: &str, v: f64) -> Result<()> {
    if v.is_nan() {
        Err(Error::invalid(format!("{name} must not be NaN")))
    } else {
        Ok(())
    }
}

impl Watcher<ev::ev_timer> {
    pub(crate) fn new_timer(lp: &Loop, after: f64, repeat: f64) -> Result<Self> {
        check_time("after", after)?;
        check_time("repeat", repeat)?;
        if repeat < 0.0 {
            return Err(Error::invalid("repeat must be positive or zero"));
        }
        let w = Self::make(lp, zeroed(), None, None);
        // SAFETY: inactive timer.
        unsafe { ev::ev_timer_set(w.raw(), after, repeat) };
        Ok(w)
    }

    /// Re-arms the timer with `callback` (`ev_timer_again`): a repeating
    /// timer restarts its period; an inactive one starts.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn again(&self, callback: impl FnMut() + 'static) -> Result<()> {
        if self.0.closed.get() {
            return Err(Error::invalid("timer watcher is closed"));
        }
        let l = self.0.lp.raw_checked()?;
        self.0.cb.set(Some(Cb::User(Box::new(callback))));
        let was_active = self.0.is_active();
        // SAFETY: l is live; the timer is pinned.
        unsafe { ev::ev_timer_again(l, self.raw()) };
        if !was_active && self.0.is_active() && !self.0.ref_.get() {
            // SAFETY: l is live.
            unsafe { ev::ev_unref(l) };
            self.0.unrefed.set(true);
        }
        if was_active && !self.0.is_active() && self.0.unrefed.replace(false) {
            // SAFETY: l is live.
            unsafe { ev::ev_ref(l) };
        }
        Ok(())
    }

    /// Changes `after` and `repeat` of an inactive timer.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] while active, or for bad values.
    pub fn set(&self, after: f64, repeat: f64) -> Result<()> {
        self.require_inactive("the times")?;
        check_time("after", after)?;
        check_time("repeat", repeat)?;
        if repeat < 0.0 {
            return Err(Error::invalid("repeat must be positive or zero"));
        }
        // SAFETY: inactive timer.
        unsafe { ev::ev_timer_set(self.raw(), after, repeat) };
        Ok(())
    }

    /// Seconds until the timer fires (`ev_timer_remaining`).
    pub fn remaining(&self) -> f64 {
        match self.0.lp.raw_checked() {
            // SAFETY: l is live.
            Ok(l) => unsafe { ev::ev_timer_remaining(l, self.raw()) },
            Err(_) => 0.0,
        }
    }

    /// The timer's repeat interval.
    pub fn repeat(&self) -> f64 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).repeat }
    }

    /// When an active timer fires, on the loop's clock (its `after` while
    /// inactive).
    pub fn at(&self) -> f64 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).at }
    }
}

impl Watcher<ev::ev_periodic> {
    pub(crate) fn new_periodic(lp: &Loop, offset: f64, interval: f64) -> Result<Self> {
        check_time("offset", offset)?;
        check_time("interval", interval)?;
        if interval < 0.0 {
            return Err(Error::invalid("interval must be positive or zero"));
        }
        let w = Self::make(lp, zeroed(), None, None);
        // SAFETY: inactive watcher; ev_periodic_set is a macro.
        unsafe {
            let r = w.raw();
            (*r).offset = offset;
            (*r).interval = interval;
            (*r).reschedule_cb = None;
        }
        Ok(w)
    }
}

fn valid_events(events: i32) -> Result<()> {
    if events == 0 || events & !(ev::EV_READ | ev::EV_WRITE) != 0 {
        Err(Error::invalid(format!(
            "illegal event mask {events:#x}: only READ and WRITE"
        )))
    } else {
        Ok(())
    }
}

impl Watcher<ev::ev_io> {
    /// True while a greenlet waits on this watcher.
    pub(crate) fn waiting(&self) -> bool {
        let cb = self.0.cb.take();
        let w = matches!(cb, Some(Cb::Wake(_)));
        self.0.cb.set(cb);
        w
    }

    /// Makes `token`'s greenlet the waiter: starts the watcher, or, if it
    /// was left idle by [`detach_wake`](Self::detach_wake), only takes the
    /// loop reference back (unless `ref_` is off). The caller knows the fd
    /// is open, so no check costs an extra `fcntl`.
    pub(crate) fn attach_wake(&self, token: WakeToken) -> Result<()> {
        if self.0.idle.replace(false) && self.0.is_active() {
            self.0.cb.set(Some(Cb::Wake(token)));
            if self.0.ref_.get() && self.0.unrefed.replace(false) {
                // SAFETY: the loop is live (the watcher is active on it).
                unsafe { ev::ev_ref(self.0.lp.as_raw()) };
            }
            return Ok(());
        }
        self.start_cb(Cb::Wake(token))
    }

    /// Ends a wait begun with [`attach_wake`](Self::attach_wake): the
    /// waiter goes, the watcher stays started but idle, without a loop
    /// reference (an idle socket must not keep `join` from returning). An
    /// event while idle stops it.
    pub(crate) fn detach_wake(&self) {
        drop(self.0.cb.take());
        if !self.0.is_active() {
            return;
        }
        self.0.idle.set(true);
        if !self.0.unrefed.replace(true) {
            // SAFETY: the loop is live (the watcher is active on it).
            unsafe { ev::ev_unref(self.0.lp.as_raw()) };
        }
    }

    pub(crate) fn new_io(lp: &Loop, fd: i32, events: i32) -> Result<Self> {
        if fd < 0 {
            return Err(Error::invalid(format!("fd must be non-negative: {fd}")));
        }
        valid_events(events)?;
        let w = Self::make(lp, zeroed(), None, None);
        // SAFETY: inactive io watcher.
        unsafe { ev::ev_io_set(w.raw(), fd, events) };
        Ok(w)
    }

    /// The file descriptor.
    pub fn fd(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).fd }
    }

    /// The events watched (READ/WRITE, without libev's internal bits).
    pub fn events(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).events & (ev::EV_READ | ev::EV_WRITE) }
    }

    /// The raw libev events field, internal bits (`_IOFDSET`) included.
    pub fn raw_events(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).events }
    }

    /// Changes the fd of an inactive watcher.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] while active or for a negative fd.
    pub fn set_fd(&self, fd: i32) -> Result<()> {
        self.require_inactive("the fd")?;
        if fd < 0 {
            return Err(Error::invalid(format!("fd must be non-negative: {fd}")));
        }
        let ev_ = self.events();
        // SAFETY: inactive watcher.
        unsafe { ev::ev_io_set(self.raw(), fd, ev_) };
        Ok(())
    }

    /// Changes the events of an inactive watcher.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] while active or for a bad mask.
    pub fn set_events(&self, events: i32) -> Result<()> {
        self.require_inactive("the events")?;
        valid_events(events)?;
        let fd = self.fd();
        // SAFETY: inactive watcher.
        unsafe { ev::ev_io_set(self.raw(), fd, events) };
        Ok(())
    }
}

/// Which loop owns each signal: libev aborts when one signal is attached
/// to two loops.
static SIGNAL_OWNERS: Mutex<[(usize, u32); 65]> = Mutex::new([(0, 0); 65]);

fn max_signal() -> i32 {
    libc::SIGRTMAX()
}

impl Watcher<ev::ev_signal> {
    pub(crate) fn new_signal(lp: &Loop, signum: i32) -> Result<Self> {
        if signum < 1 || signum > max_signal() || signum as usize >= 65 {
            return Err(Error::invalid(format!("illegal signal number {signum}")));
        }
        if signum == libc::SIGKILL || signum == libc::SIGSTOP {
            return Err(Error::invalid(format!("signal {signum} cannot be caught")));
        }
        let w = Self::make(lp, zeroed(), None, None);
        // SAFETY: inactive watcher.
        unsafe { ev::ev_signal_set(w.raw(), signum) };
        Ok(w)
    }

    /// The signal number.
    pub fn signum(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).signum }
    }
}

/// Takes signal `signum` for the loop of `lp` (libev aborts when one
/// signal is attached to two loops); returns the loop's address.
fn claim_signal(lp: &Loop, signum: i32) -> Result<usize> {
    let l = lp.raw_checked()? as usize;
    let mut owners = SIGNAL_OWNERS.lock();
    let slot = &mut owners[signum as usize];
    if slot.1 != 0 && slot.0 != l {
        return Err(Error::invalid(format!(
            "signal {signum} is already watched by another loop"
        )));
    }
    *slot = (l, slot.1 + 1);
    Ok(l)
}

/// Gives back one claim of `signum` by the loop at `l`.
fn release_signal(l: usize, signum: i32) {
    let mut owners = SIGNAL_OWNERS.lock();
    let slot = &mut owners[signum as usize];
    if slot.0 == l && slot.1 > 0 {
        slot.1 -= 1;
        if slot.1 == 0 {
            slot.0 = 0;
        }
    }
}

impl Watcher<ev::ev_child> {
    pub(crate) fn new_child(lp: &Loop, pid: i32, trace: bool) -> Result<Self> {
        if !lp.is_default() {
            return Err(Error::invalid(
                "child watchers are only available on the default loop",
            ));
        }
        crate::os::watch_children(lp)?;
        Ok(Self::new_raw_child(lp, pid, trace))
    }

    /// A child watcher without switching child watching on (for
    /// `crate::os` itself); `lp` must be the default loop.
    pub(crate) fn new_raw_child(lp: &Loop, pid: i32, trace: bool) -> Self {
        let w = Self::make(lp, zeroed(), None, None);
        // SAFETY: inactive watcher.
        unsafe { ev::ev_child_set(w.raw(), pid, trace) };
        w
    }

    /// The pid watched (0 = any).
    pub fn pid(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).pid }
    }

    /// The pid that changed status.
    pub fn rpid(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).rpid }
    }

    /// The raw wait status (use `libc::WEXITSTATUS` etc.).
    pub fn rstatus(&self) -> i32 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).rstatus }
    }
}

impl Watcher<ev::ev_stat> {
    pub(crate) fn new_stat(lp: &Loop, path: &str, interval: f64) -> Result<Self> {
        check_time("interval", interval)?;
        let c = CString::new(path).map_err(|_| Error::invalid("path contains a NUL byte"))?;
        let w = Self::make(lp, zeroed(), Some(c), None);
        let p = w.0.path.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: inactive watcher; the CString lives as long as the
        // watcher (same allocation).
        unsafe { ev::ev_stat_set(w.raw(), p, interval) };
        Ok(w)
    }

    /// The path watched.
    pub fn path(&self) -> &str {
        self.0
            .path
            .as_ref()
            .and_then(|c| c.to_str().ok())
            .unwrap_or("")
    }

    /// The polling interval (libev adjusts it once started).
    pub fn interval(&self) -> f64 {
        // SAFETY: reading our own field.
        unsafe { (*self.raw()).interval }
    }

    /// The current status, `None` if the path does not exist.
    pub fn attr(&self) -> Option<libc::stat> {
        // SAFETY: reading our own field (plain C data).
        let st = unsafe { std::ptr::read(&(*self.raw()).attr) };
        (st.st_nlink != 0).then_some(st)
    }

    /// The previous status, `None` if the path did not exist.
    pub fn prev(&self) -> Option<libc::stat> {
        // SAFETY: reading our own field (plain C data).
        let st = unsafe { std::ptr::read(&(*self.raw()).prev) };
        (st.st_nlink != 0).then_some(st)
    }
}

macro_rules! plain {
    ($t:ty) => {
        impl Watcher<$t> {
            pub(crate) fn new_plain(lp: &Loop) -> Result<Self> {
                lp.raw_checked()?;
                Ok(Self::make(lp, zeroed(), None, None))
            }
        }
    };
}

plain!(ev::ev_idle);
plain!(ev::ev_prepare);
plain!(ev::ev_check);
plain!(ev::ev_fork);
plain!(ev::ev_cleanup);

struct AsyncShared {
    /// (loop, watcher) while the watcher exists; None afterwards.
    target: crate::forksafe::Mutex<Option<(usize, usize)>>,
}

/// Wakes an [`Async`] watcher from any thread (`ev_async_send`). Sending
/// after the watcher was dropped does nothing.
#[derive(Clone)]
pub struct AsyncSender(Arc<AsyncShared>);

impl AsyncSender {
    /// Runs `f` holding the sender's lock (for `fork`, see
    /// [`crate::os::fork`]).
    pub(crate) fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let _target = self.0.target.lock();
        f()
    }

    /// Wakes the watcher's loop; the watcher's callback runs there.
    pub fn send(&self) {
        let t = self.0.target.lock();
        if let Some((l, w)) = *t {
            // SAFETY: while `target` is Some, the loop and watcher are alive:
            // the watcher's Drop clears it under this lock before stopping.
            // ev_async_send is thread-safe.
            unsafe { ev::ev_async_send(l as *mut ev::ev_loop, w as *mut ev::ev_async) };
        }
    }
}

impl std::fmt::Debug for AsyncSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<AsyncSender>")
    }
}

impl Watcher<ev::ev_async> {
    pub(crate) fn new_async(lp: &Loop) -> Result<Self> {
        let l = lp.raw_checked()?;
        let shared = Arc::new(AsyncShared {
            target: crate::forksafe::Mutex::new(None),
        });
        let w = Self::make(lp, zeroed(), None, Some(shared.clone()));
        // SAFETY: inactive watcher.
        unsafe { ev::ev_async_set(w.raw()) };
        *shared.target.lock() = Some((l as usize, w.raw() as usize));
        Ok(w)
    }

    /// A handle that wakes this watcher from any thread.
    pub fn sender(&self) -> AsyncSender {
        AsyncSender(
            self.0
                .async_shared
                .clone()
                .expect("async watcher has its shared part"),
        )
    }

    /// Wakes the watcher (from its own thread).
    pub fn send(&self) {
        self.sender().send()
    }

    /// True when a send has not been processed yet (`ev_async_pending`).
    pub fn async_pending(&self) -> bool {
        // SAFETY: reading our own field; `sent` is an atomic-ish int.
        unsafe { std::ptr::read_volatile(&(*self.raw()).sent) != 0 }
    }
}
