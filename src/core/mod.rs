//! The event loop and its watchers (gevent's `gevent.libev.corecext`).
//!
//! [`Loop`] wraps a libev `struct ev_loop`; watchers are made by the loop
//! ([`Loop::timer`], [`Loop::io`], ...) and share one generic type,
//! [`Watcher`], whose raw libev struct is boxed (an active watcher must not
//! move) and which is stopped when its last handle is dropped.
//!
//! ```
//! use gevent::core::Loop;
//! use std::{cell::Cell, rc::Rc};
//!
//! let lp = Loop::new(0).unwrap();
//! let fired = Rc::new(Cell::new(0));
//! let timer = lp.timer(0.001, 0.0).unwrap();
//! let f = fired.clone();
//! timer.start(move || f.set(f.get() + 1)).unwrap();
//! lp.run();
//! assert_eq!(fired.get(), 1);
//! ```
//!
//! # Arguments are checked before they reach libev
//! libev aborts the process on misuse (a negative fd, a negative repeat, a
//! priority change on an active watcher, a child watcher off the default
//! loop...). Every such case is an [`Error::InvalidArgument`] here.
//!
//! # The callback queue
//! [`Loop::run_callback`] is gevent's `loop.run_callback`: a FIFO drained by
//! a prepare watcher before each poll, keeping the loop awake while it is
//! not empty. A drain checks the clock every 50 callbacks and leaves the
//! rest for the next iteration once the switch interval (5 ms) has passed,
//! so a stream of `sleep(0)` cannot starve timers and IO.
//!
//! # Differences from gevent
//! Watcher callbacks are closures (`FnMut()`), so gevent's `args` and the
//! type checks on callbacks are compile-time matters here. A watcher is
//! stopped when its last handle is dropped; a callback may hold a handle to
//! its own watcher to keep it alive, as gevent's loop does.

mod callback;
mod park_timer;
mod threadsafe;
mod watcher;

pub use callback::Callback;
pub(crate) use callback::CallbackEntry;
pub(crate) use park_timer::ParkTimer;
pub use threadsafe::LoopHandle;
pub(crate) use threadsafe::Receiver as ThreadsafeReceiver;
pub use watcher::{
    Async, AsyncSender, Check, Child, Cleanup, Fork, Idle, Io, Periodic, Prepare, Signal, Stat,
    Timer, Watcher, WatcherKind,
};

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::libev as ev;

pub use crate::libev::{EV_READ as READ, EV_WRITE as WRITE};

/// How many callbacks run between two looks at the clock.
pub const CALLBACK_CHECK_COUNT: usize = 50;
/// gevent's default switch interval: the longest one drain of the callback
/// queue may run before letting libev poll.
pub const DEFAULT_SWITCH_INTERVAL: f64 = 0.005;

/// Handler for failures inside callbacks: `(context, error)`.
pub(crate) type ErrorHandler = Rc<dyn Fn(&str, Error)>;

/// A libev event loop.
///
/// Cloning gives another handle to the same loop. Not `Send`.
#[derive(Clone)]
pub struct Loop(pub(crate) Rc<LoopInner>);

pub(crate) struct LoopInner {
    ptr: Cell<*mut ev::ev_loop>,
    owned: bool,
    default: bool,
    /// Attached with `from_raw`: its owner destroys it, never we.
    borrowed: bool,
    pub(crate) callbacks: RefCell<VecDeque<CallbackEntry>>,
    prepare: Box<UnsafeCell<ev::ev_prepare>>,
    timer0: Box<UnsafeCell<ev::ev_timer>>,
    pub(crate) error_handler: RefCell<Option<ErrorHandler>>,
    switch_interval: Cell<f64>,
    /// Set while a hub is stopping: callbacks are then dropped, not run.
    pub(crate) stopping: Cell<bool>,
    update_now_calls: Cell<u64>,
    /// The loop is run by a host (`Hub::attach`): a callback queued where
    /// the prepare watcher will not run before the next poll (a host's
    /// own prepare watcher, `EVRUN_NOWAIT` loops) must not wait for an
    /// unrelated event, so queueing starts the zero timer.
    pub(crate) wake_on_push: Cell<bool>,
    /// Watchers made from now on start unreferenced (an attached hub whose
    /// host does not want greenlets to keep its `ev_run` going).
    pub(crate) watchers_unref: Cell<bool>,
}

/// Backend names as gevent spells them, with their libev flags, in
/// gevent's order (`corecext._flags`).
pub const BACKENDS: &[(&str, u32)] = &[
    ("port", ev::EVBACKEND_PORT),
    ("kqueue", ev::EVBACKEND_KQUEUE),
    ("linux_iouring", ev::EVBACKEND_IOURING),
    ("linux_aio", ev::EVBACKEND_LINUXAIO),
    ("epoll", ev::EVBACKEND_EPOLL),
    ("poll", ev::EVBACKEND_POLL),
    ("select", ev::EVBACKEND_SELECT),
];

/// Event bits as gevent names them (`corecext._events`).
pub const EVENTS: &[(i32, &str)] = &[
    (ev::EV_READ, "READ"),
    (ev::EV_WRITE, "WRITE"),
    (ev::EV__IOFDSET, "_IOFDSET"),
    (ev::EV_PERIODIC, "PERIODIC"),
    (ev::EV_SIGNAL, "SIGNAL"),
    (ev::EV_CHILD, "CHILD"),
    (ev::EV_STAT, "STAT"),
    (ev::EV_IDLE, "IDLE"),
    (ev::EV_PREPARE, "PREPARE"),
    (ev::EV_CHECK, "CHECK"),
    (ev::EV_EMBED, "EMBED"),
    (ev::EV_FORK, "FORK"),
    (ev::EV_CLEANUP, "CLEANUP"),
    (ev::EV_ASYNC, "ASYNC"),
    (ev::EV_CUSTOM, "CUSTOM"),
    (ev::EV_ERROR, "ERROR"),
];

/// Formats event bits as gevent does: `"READ|WRITE"`, unknown bits in hex
/// (`_events_to_str`).
pub fn events_to_str(events: i32) -> String {
    let mut left = events;
    let mut out: Vec<String> = Vec::new();
    for (bit, name) in EVENTS {
        if left & bit != 0 {
            out.push((*name).to_string());
            left &= !bit;
        }
        if left == 0 {
            break;
        }
    }
    if left != 0 {
        out.push(format!("{left:#x}"));
    }
    out.join("|")
}

/// gevent's `_check_flags`: the backend bits of `flags` must name a
/// backend compiled in.
///
/// # Errors
/// [`Error::InvalidArgument`] ("Invalid value for backend",
/// "Unsupported backend: ...").
pub fn check_flags(flags: u32) -> Result<()> {
    let b = flags & ev::EVBACKEND_MASK;
    if b == 0 {
        return Ok(());
    }
    if b & ev::EVBACKEND_ALL == 0 {
        return Err(Error::invalid(format!("Invalid value for backend: {b:#x}")));
    }
    // SAFETY: a pure query.
    if b & unsafe { ev::ev_supported_backends() } == 0 {
        return Err(Error::invalid(format!(
            "Unsupported backend: {}",
            flags_to_list(b).join("|")
        )));
    }
    Ok(())
}

/// Flag names as gevent spells them (`forkcheck`, `noenv`, ...).
pub const FLAGS: &[(&str, u32)] = &[
    ("noenv", ev::EVFLAG_NOENV),
    ("forkcheck", ev::EVFLAG_FORKCHECK),
    ("noinotify", ev::EVFLAG_NOINOTIFY),
    ("signalfd", ev::EVFLAG_SIGNALFD),
    ("nosigmask", ev::EVFLAG_NOSIGMASK),
    ("notimerfd", ev::EVFLAG_NOTIMERFD),
];

/// Converts backend and flag names (case-insensitive, as in gevent's
/// `loop(['epoll', 'SELECT'])`) to libev flags.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first unknown name.
pub fn flags_from_names<S: AsRef<str>>(names: &[S]) -> Result<u32> {
    let mut flags = 0;
    for n in names {
        let n = n.as_ref().trim().to_ascii_lowercase();
        if n.is_empty() {
            continue;
        }
        match BACKENDS.iter().chain(FLAGS).find(|(name, _)| *name == n) {
            Some((_, f)) => flags |= f,
            None => return Err(Error::invalid(format!("Invalid backend or flag: {n:?}"))),
        }
    }
    Ok(flags)
}

/// The backend names set in `flags`, in gevent's order (`_flags_to_list`).
pub fn flags_to_list(flags: u32) -> Vec<&'static str> {
    BACKENDS
        .iter()
        .chain(FLAGS)
        .filter(|(_, f)| flags & f != 0)
        .map(|(n, _)| *n)
        .collect()
}

/// Backends compiled into this libev and usable here.
pub fn supported_backends() -> Vec<&'static str> {
    // SAFETY: a pure query.
    flags_to_list(unsafe { ev::ev_supported_backends() })
}

/// Backends libev recommends on this system.
pub fn recommended_backends() -> Vec<&'static str> {
    // SAFETY: a pure query.
    flags_to_list(unsafe { ev::ev_recommended_backends() })
}

/// The libev version linked in, as `"4.33"` (gevent's `get_version`).
pub fn get_version() -> String {
    // SAFETY: pure queries.
    unsafe {
        format!(
            "libev-{}.{:02}",
            ev::ev_version_major(),
            ev::ev_version_minor()
        )
    }
}

/// The libev version of the headers the crate was built with
/// (gevent's `get_header_version`).
pub fn get_header_version() -> String {
    format!("libev-{}.{:02}", ev::EV_VERSION_MAJOR, ev::EV_VERSION_MINOR)
}

/// libev's wall-clock time (`ev_time`).
pub fn time() -> f64 {
    // SAFETY: a pure query.
    unsafe { ev::ev_time() }
}

thread_local! {
    static LAST_SYSERR: RefCell<Option<String>> = const { RefCell::new(None) };
}

unsafe extern "C" fn syserr_cb(msg: *const libc::c_char) {
    let text = if msg.is_null() {
        "(libev) system error".to_string()
    } else {
        // SAFETY: libev passes a NUL-terminated message.
        unsafe { std::ffi::CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned()
    };
    let err = std::io::Error::last_os_error();
    let _ = LAST_SYSERR.try_with(|s| *s.borrow_mut() = Some(format!("{text}: {err}")));
}

/// The last libev system error on this thread ("(libev) epoll_wait: ..."),
/// taken (gevent raises these as `SystemError` in the main greenlet).
pub fn take_syserr() -> Option<String> {
    LAST_SYSERR
        .try_with(|s| s.borrow_mut().take())
        .ok()
        .flatten()
}

fn install_syserr_cb() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the callback never unwinds and only records the message, so
    // libev goes on instead of aborting.
    ONCE.call_once(|| unsafe { ev::ev_set_syserr_cb(Some(syserr_cb)) });
}

impl Loop {
    /// The process's default loop (the one that handles signals and child
    /// processes), created on first use.
    ///
    /// # Errors
    /// [`Error::SystemError`] if libev cannot create it.
    pub fn default_loop() -> Result<Loop> {
        install_syserr_cb();
        // SAFETY: reading libev's global; loops are made on one thread.
        let fresh = unsafe { ev::ev_default_loop_ptr.is_null() };
        // SAFETY: ev_default_loop may be called any time; it returns the
        // existing default loop or makes it.
        let ptr = unsafe { ev::ev_default_loop(ev::EVFLAG_AUTO) };
        if ptr.is_null() {
            return Err(Error::SystemError("ev_default_loop failed".into()));
        }
        if fresh {
            // SIGCHLD is handled only once child watching is used (see
            // `crate::os`), so a program keeps its own handler until then.
            // SAFETY: the default loop was just made, on this thread.
            unsafe { ev::gevent_ev_sigchld(ptr, 0) };
        }
        Ok(Loop::wrap(ptr, false, true))
    }

    /// A new loop with libev `flags` (0 for the automatic choice; see
    /// [`flags_from_names`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for backend bits naming no backend compiled
    /// in; [`Error::SystemError`] ("ev_loop_new") when libev cannot create a
    /// loop with these flags.
    pub fn new(flags: u32) -> Result<Loop> {
        check_flags(flags)?;
        install_syserr_cb();
        // SAFETY: ev_loop_new accepts any flags and returns null on failure.
        let ptr = unsafe { ev::ev_loop_new(flags) };
        if ptr.is_null() {
            return Err(Error::SystemError(
                format!("ev_loop_new({flags:#x}) failed").into(),
            ));
        }
        Ok(Loop::wrap(ptr, true, false))
    }

    /// A new loop using the backends named, as in gevent's
    /// `loop('epoll')`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown name, or as [`Loop::new`].
    pub fn with_backend(names: &str) -> Result<Loop> {
        let list: Vec<&str> = names.split(',').collect();
        Loop::new(flags_from_names(&list)?)
    }

    /// Attaches to a loop that C code owns. The loop is never destroyed by
    /// this handle.
    ///
    /// # Safety
    /// `ptr` must be a live libev loop, used only from this thread while the
    /// handle (and anything made from it) exists.
    pub unsafe fn from_raw(ptr: *mut ev::ev_loop) -> Loop {
        // No install_syserr_cb here: the loop's owner may have set its own
        // process-wide callback, which stays.
        // SAFETY: reading libev's default-loop pointer.
        let default = unsafe { ptr == ev::ev_default_loop_ptr };
        Loop::wrap_borrowed(ptr, false, default, true)
    }

    fn wrap(ptr: *mut ev::ev_loop, owned: bool, default: bool) -> Loop {
        Loop::wrap_borrowed(ptr, owned, default, false)
    }

    fn wrap_borrowed(ptr: *mut ev::ev_loop, owned: bool, default: bool, borrowed: bool) -> Loop {
        // SAFETY: zeroed libev watcher structs are valid before ev_init.
        let prepare: Box<UnsafeCell<ev::ev_prepare>> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: as above.
        let timer0: Box<UnsafeCell<ev::ev_timer>> = Box::new(unsafe { std::mem::zeroed() });
        let inner = Rc::new(LoopInner {
            ptr: Cell::new(ptr),
            owned,
            default,
            borrowed,
            callbacks: RefCell::new(VecDeque::new()),
            prepare,
            timer0,
            error_handler: RefCell::new(None),
            switch_interval: Cell::new(DEFAULT_SWITCH_INTERVAL),
            stopping: Cell::new(false),
            update_now_calls: Cell::new(0),
            wake_on_push: Cell::new(false),
            watchers_unref: Cell::new(false),
        });
        // SAFETY: the watchers are boxed inside the Rc'd LoopInner, so they
        // do not move; LoopInner's Drop stops them before freeing. `data`
        // points at LoopInner, which outlives the active prepare watcher.
        unsafe {
            let p = inner.prepare.get();
            ev::ev_init(p.cast(), Some(callback::prepare_cb));
            (*p).w.priority = ev::EV_MAXPRI;
            (*p).w.data = Rc::as_ptr(&inner) as *mut libc::c_void;
            ev::ev_prepare_start(ptr, p);
            ev::ev_unref(ptr);
            let t = inner.timer0.get();
            ev::ev_init(t.cast(), Some(callback::noop_cb));
            ev::ev_timer_set(t, 0.0, 0.0);
        }
        Loop(inner)
    }

    /// Runs the loop's callbacks (and so the ready greenlets) from a
    /// prepare watcher of the lowest priority, after the host's own
    /// prepare watchers (what [`Hub::attach`](crate::Hub::attach) wants);
    /// by default it has the highest.
    pub(crate) fn set_callbacks_last(&self) {
        let Ok(p) = self.raw_checked() else { return };
        let w = self.0.prepare.get();
        // SAFETY: p is live; the prepare watcher is ours. Restarting keeps
        // its unref: ev_ref before the stop, ev_unref after the start.
        unsafe {
            ev::ev_ref(p);
            ev::ev_prepare_stop(p, w);
            (*w).w.priority = ev::EV_MINPRI;
            ev::ev_prepare_start(p, w);
            ev::ev_unref(p);
        }
    }

    /// True for a loop attached with [`from_raw`](Self::from_raw): its
    /// owner destroys it.
    pub fn borrowed(&self) -> bool {
        self.0.borrowed
    }

    /// The raw libev loop (null after [`destroy`](Self::destroy)).
    pub fn as_raw(&self) -> *mut ev::ev_loop {
        self.0.ptr.get()
    }

    #[inline]
    pub(crate) fn raw_checked(&self) -> Result<*mut ev::ev_loop> {
        let p = self.0.ptr.get();
        if p.is_null() {
            Err(Error::invalid("operation on a destroyed loop"))
        } else {
            Ok(p)
        }
    }

    /// True for libev's default loop.
    pub fn is_default(&self) -> bool {
        self.0.default
    }

    /// True once [`destroy`](Self::destroy) ran.
    pub fn destroyed(&self) -> bool {
        self.0.ptr.get().is_null()
    }

    fn run_flags(&self, flags: libc::c_int) -> bool {
        let p = self.0.ptr.get();
        if p.is_null() {
            return false;
        }
        let _keep = self.clone();
        // SAFETY: p is a live loop owned by or attached to this handle, used
        // on its thread. Callbacks never unwind into libev (each catches).
        unsafe { ev::ev_run(p, flags) != 0 }
    }

    /// Runs the loop until no referenced watcher or callback is left, or
    /// [`break_`](Self::break_) is called. Returns true if watchers remain
    /// active (the loop was broken out of).
    pub fn run(&self) -> bool {
        self.run_flags(0)
    }

    /// One iteration that does not block.
    pub fn run_nowait(&self) -> bool {
        self.run_flags(ev::EVRUN_NOWAIT)
    }

    /// One iteration, blocking until something happens.
    pub fn run_once(&self) -> bool {
        self.run_flags(ev::EVRUN_ONCE)
    }

    /// Makes the innermost `run` return (`ev_break(EVBREAK_ONE)`).
    pub fn break_(&self) {
        self.break_how(ev::EVBREAK_ONE)
    }

    /// `ev_break` with an explicit mode (`EVBREAK_ONE`/`ALL`/`CANCEL`).
    pub fn break_how(&self, how: i32) {
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live.
            unsafe { ev::ev_break(p, how) }
        }
    }

    /// The loop's cached time.
    pub fn now(&self) -> f64 {
        match self.raw_checked() {
            // SAFETY: p is live.
            Ok(p) => unsafe { ev::ev_now(p) },
            Err(_) => time(),
        }
    }

    /// Refreshes the cached time (`ev_now_update`).
    pub fn update_now(&self) {
        self.0
            .update_now_calls
            .set(self.0.update_now_calls.get() + 1);
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live.
            unsafe { ev::ev_now_update(p) }
        }
    }

    /// The backend flag in use (`EVBACKEND_EPOLL`, ...).
    pub fn backend_int(&self) -> u32 {
        match self.raw_checked() {
            // SAFETY: p is live.
            Ok(p) => unsafe { ev::ev_backend(p) },
            Err(_) => 0,
        }
    }

    /// The backend's name (`"epoll"`, ...).
    pub fn backend(&self) -> &'static str {
        flags_to_list(self.backend_int())
            .first()
            .copied()
            .unwrap_or("")
    }

    /// How many times [`update_now`](Self::update_now) was called (gevent's
    /// tests check that starting a timeout or a sleep refreshes the clock
    /// exactly once).
    pub fn update_now_calls(&self) -> u64 {
        self.0.update_now_calls.get()
    }

    /// The backend's file descriptor (the epoll fd), `None` for backends
    /// without one (select, poll) or a destroyed loop (gevent's
    /// `loop.fileno()`).
    pub fn fileno(&self) -> Option<i32> {
        let p = self.raw_checked().ok()?;
        // SAFETY: p is live.
        let fd = unsafe { ev::gevent_ev_backend_fd(p) };
        (fd >= 0).then_some(fd)
    }

    /// How many referenced things keep `run` going: active watchers not
    /// unref'd plus pending callbacks (libev's `activecnt`).
    pub fn activecnt(&self) -> i32 {
        match self.raw_checked() {
            // SAFETY: p is live.
            Ok(p) => unsafe { ev::gevent_ev_activecnt(p) },
            Err(_) => 0,
        }
    }

    /// Loop iterations so far.
    pub fn iteration(&self) -> u32 {
        match self.raw_checked() {
            // SAFETY: p is live.
            Ok(p) => unsafe { ev::ev_iteration(p) },
            Err(_) => 0,
        }
    }

    /// How deeply `run` calls are nested.
    pub fn depth(&self) -> u32 {
        match self.raw_checked() {
            // SAFETY: p is live.
            Ok(p) => unsafe { ev::ev_depth(p) },
            Err(_) => 0,
        }
    }

    /// Watchers with pending events not yet invoked.
    pub fn pendingcnt(&self) -> u32 {
        match self.raw_checked() {
            // SAFETY: p is live.
            Ok(p) => unsafe { ev::ev_pending_count(p) },
            Err(_) => 0,
        }
    }

    /// `ev_ref`: one more thing keeps the loop alive.
    pub fn ref_(&self) {
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live.
            unsafe { ev::ev_ref(p) }
        }
    }

    /// `ev_unref`: one thing less keeps the loop alive.
    pub fn unref(&self) {
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live.
            unsafe { ev::ev_unref(p) }
        }
    }

    /// Checks libev's internal consistency (aborts if corrupt).
    pub fn verify(&self) {
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live.
            unsafe { ev::ev_verify(p) }
        }
    }

    /// Re-initialises the loop in a child process after `fork()`.
    pub fn reinit(&self) {
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live.
            unsafe { ev::ev_loop_fork(p) }
        }
    }

    /// In a forked child: [`reinit`](Self::reinit) with libev's fork work
    /// done now and the fork watchers queued now (see `src/c/ev_glue.c`).
    pub(crate) fn reinit_now(&self) {
        if let Ok(p) = self.raw_checked() {
            // SAFETY: p is live; called from a greenlet, not while polling.
            unsafe { ev::gevent_ev_loop_fork_now(p) }
        }
    }

    /// The longest a callback drain runs before letting libev poll.
    pub fn switch_interval(&self) -> f64 {
        self.0.switch_interval.get()
    }

    /// Sets the switch interval (gevent's `setswitchinterval`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or NaN interval.
    pub fn set_switch_interval(&self, secs: f64) -> Result<()> {
        if secs.is_nan() || secs < 0.0 {
            return Err(Error::invalid("switch interval must be >= 0"));
        }
        self.0.switch_interval.set(secs);
        Ok(())
    }

    /// Destroys the libev loop now (gevent's `loop.destroy()`). Watchers of
    /// this loop become inert. A loop attached with `from_raw` is only
    /// detached, never destroyed.
    pub fn destroy(&self) {
        let p = self.0.ptr.replace(std::ptr::null_mut());
        if p.is_null() {
            return;
        }
        let pending = self.0.take_callbacks();
        drop(pending);
        // SAFETY: p was live; stopping our internal watchers first.
        unsafe {
            ev::ev_ref(p);
            ev::ev_prepare_stop(p, self.0.prepare.get());
            ev::ev_timer_stop(p, self.0.timer0.get());
            if !self.0.borrowed && (self.0.owned || self.0.default) {
                ev::ev_loop_destroy(p);
            }
        }
    }

    /// Schedules `f` to run at the start of the next loop iteration, in the
    /// hub (gevent's `loop.run_callback`). Returns a handle that can cancel
    /// it; dropping the handle does not cancel.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] once the loop is destroyed (gevent raises
    /// "operation on destroyed loop"): the callback could never run.
    pub fn run_callback<F: FnOnce() + 'static>(&self, f: F) -> Result<Callback> {
        if self.destroyed() {
            return Err(Error::HubDestroyed);
        }
        let cb = Callback::new(f);
        self.push_callback(CallbackEntry::Handle(cb.clone()));
        Ok(cb)
    }

    /// `run_callback` without a cancel handle (one allocation less).
    pub(crate) fn run_callback_fn(&self, f: Box<dyn FnOnce()>) {
        self.push_callback(CallbackEntry::Fn(f));
    }

    #[inline]
    pub(crate) fn push_callback(&self, entry: CallbackEntry) {
        if let Ok(p) = self.raw_checked() {
            let mut q = self.0.callbacks.borrow_mut();
            if q.is_empty() {
                // SAFETY: p is live. A non-empty queue holds one reference
                // on the loop, given back when it is drained empty.
                unsafe { ev::ev_ref(p) };
                if self.0.wake_on_push.get() {
                    // SAFETY: p is live; timer0 is initialised; starting an
                    // active timer is a no-op in libev. It makes the next
                    // poll return at once; the prepare watcher drains.
                    unsafe { ev::ev_timer_start(p, self.0.timer0()) };
                }
            }
            q.push_back(entry);
        }
    }

    /// Callbacks queued and not yet run.
    pub fn pending_callbacks(&self) -> usize {
        self.0.callbacks.borrow().len()
    }

    /// Sets the handler for failures (panics) inside callbacks of this
    /// loop; by default they are logged. The hub installs its
    /// `handle_error` here.
    pub fn set_error_handler(&self, f: impl Fn(&str, Error) + 'static) {
        *self.0.error_handler.borrow_mut() = Some(Rc::new(f));
    }

    /// A timer firing after `after` seconds, then every `repeat` seconds
    /// (0 = once).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or NaN `repeat`, or a NaN
    /// `after`.
    pub fn timer(&self, after: f64, repeat: f64) -> Result<Timer> {
        Timer::new_timer(self, after, repeat)
    }

    /// An io watcher on `fd` for `events` ([`READ`], [`WRITE`] or both).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative fd or events other than
    /// READ/WRITE.
    pub fn io(&self, fd: i32, events: i32) -> Result<Io> {
        Io::new_io(self, fd, events)
    }

    /// A signal watcher.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a signal number out of range.
    pub fn signal(&self, signum: i32) -> Result<Signal> {
        Signal::new_signal(self, signum)
    }

    /// An idle watcher: fires when nothing else is pending.
    pub fn idle(&self) -> Result<Idle> {
        Idle::new_plain(self)
    }

    /// A prepare watcher: fires before each poll.
    pub fn prepare(&self) -> Result<Prepare> {
        Prepare::new_plain(self)
    }

    /// A check watcher: fires after each poll.
    pub fn check(&self) -> Result<Check> {
        Check::new_plain(self)
    }

    /// A fork watcher: fires in a child process after [`reinit`](Self::reinit).
    pub fn fork(&self) -> Result<Fork> {
        Fork::new_plain(self)
    }

    /// A cleanup watcher: fires when the loop is destroyed.
    pub fn cleanup(&self) -> Result<Cleanup> {
        Cleanup::new_plain(self)
    }

    /// An async watcher, woken from any thread by its
    /// [`AsyncSender`].
    pub fn async_(&self) -> Result<Async> {
        Async::new_async(self)
    }

    /// A child watcher for `pid` (0 = any child). Default loop only.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on a non-default loop.
    pub fn child(&self, pid: i32, trace: bool) -> Result<Child> {
        Child::new_child(self, pid, trace)
    }

    /// A stat watcher on `path`, polled every `interval` seconds (0 = libev's
    /// default; inotify is used where available).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a path with a NUL byte or a NaN
    /// interval.
    pub fn stat(&self, path: &str, interval: f64) -> Result<Stat> {
        Stat::new_stat(self, path, interval)
    }

    /// A periodic watcher (`ev_periodic`) at `offset + k * interval`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or NaN interval.
    pub fn periodic(&self, offset: f64, interval: f64) -> Result<Periodic> {
        Periodic::new_periodic(self, offset, interval)
    }
}

impl PartialEq for Loop {
    fn eq(&self, other: &Loop) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.0.ptr.get();
        if p.is_null() {
            return write!(f, "<Loop destroyed>");
        }
        write!(
            f,
            "<Loop at {:p} {}{} pending={} callbacks={}>",
            p,
            if self.0.default { "default " } else { "" },
            self.backend(),
            self.pendingcnt(),
            self.pending_callbacks()
        )
    }
}

impl Drop for LoopInner {
    fn drop(&mut self) {
        let p = self.ptr.replace(std::ptr::null_mut());
        if p.is_null() {
            return;
        }
        // SAFETY: stopping our own watchers on the live loop, then
        // destroying the loop if this handle made it (never the default
        // loop, never one attached with from_raw).
        unsafe {
            ev::ev_ref(p);
            ev::ev_prepare_stop(p, self.prepare.get());
            ev::ev_timer_stop(p, self.timer0.get());
            if !self.callbacks.get_mut().is_empty() {
                ev::ev_unref(p);
            }
            if self.owned {
                ev::ev_loop_destroy(p);
            }
        }
    }
}

impl LoopInner {
    pub(crate) fn raw(&self) -> *mut ev::ev_loop {
        self.ptr.get()
    }

    /// Empties the callback queue (nothing in it will run), giving back the
    /// loop reference a non-empty queue holds.
    pub(crate) fn take_callbacks(&self) -> VecDeque<CallbackEntry> {
        let q = std::mem::take(&mut *self.callbacks.borrow_mut());
        let p = self.ptr.get();
        if !q.is_empty() && !p.is_null() {
            // SAFETY: p is live.
            unsafe { ev::ev_unref(p) };
        }
        q
    }

    pub(crate) fn timer0(&self) -> *mut ev::ev_timer {
        self.timer0.get()
    }

    pub(crate) fn switch_interval(&self) -> f64 {
        self.switch_interval.get()
    }
}
