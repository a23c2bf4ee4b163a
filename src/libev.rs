//! Raw `extern "C"` bindings to the vendored libev 4.33 (gevent's
//! `gevent.libev.corecext` C level).
//!
//! The struct layouts mirror `ev.h` as configured by `build.rs`
//! (`EV_MULTIPLICITY=1`, the default `EV_COMMON` of one `void *data`, the
//! default priority range -2..=2). The integration test `libev_layout`
//! compares every size and offset here with the values the C compiler
//! computed (`src/c/layout.c`).
//!
//! libev's initialisation macros (`ev_io_init`, `ev_timer_set`, ...) are
//! macros in C; they are provided here as `unsafe fn`s doing exactly what
//! the macros do.
//!
//! Everything in this module is `unsafe` to use; [`crate::core`] is the
//! safe layer.
#![allow(non_camel_case_types, missing_docs)]

use libc::{c_char, c_int, c_uint, c_void};

pub type ev_tstamp = f64;

/// libev's opaque loop structure.
#[repr(C)]
pub struct ev_loop {
    _private: [u8; 0],
}

pub const EV_UNDEF: c_int = !0;
pub const EV_NONE: c_int = 0x00;
pub const EV_READ: c_int = 0x01;
pub const EV_WRITE: c_int = 0x02;
pub const EV__IOFDSET: c_int = 0x80;
pub const EV_TIMER: c_int = 0x0000_0100;
pub const EV_PERIODIC: c_int = 0x0000_0200;
pub const EV_SIGNAL: c_int = 0x0000_0400;
pub const EV_CHILD: c_int = 0x0000_0800;
pub const EV_STAT: c_int = 0x0000_1000;
pub const EV_IDLE: c_int = 0x0000_2000;
pub const EV_PREPARE: c_int = 0x0000_4000;
pub const EV_CHECK: c_int = 0x0000_8000;
pub const EV_EMBED: c_int = 0x0001_0000;
pub const EV_FORK: c_int = 0x0002_0000;
pub const EV_CLEANUP: c_int = 0x0004_0000;
pub const EV_ASYNC: c_int = 0x0008_0000;
pub const EV_CUSTOM: c_int = 0x0100_0000;
pub const EV_ERROR: c_int = 0x8000_0000_u32 as c_int;

pub const EVFLAG_AUTO: c_uint = 0x0000_0000;
pub const EVFLAG_NOENV: c_uint = 0x0100_0000;
pub const EVFLAG_FORKCHECK: c_uint = 0x0200_0000;
pub const EVFLAG_NOINOTIFY: c_uint = 0x0010_0000;
pub const EVFLAG_SIGNALFD: c_uint = 0x0020_0000;
pub const EVFLAG_NOSIGMASK: c_uint = 0x0040_0000;
pub const EVFLAG_NOTIMERFD: c_uint = 0x0080_0000;

pub const EVBACKEND_SELECT: c_uint = 0x0000_0001;
pub const EVBACKEND_POLL: c_uint = 0x0000_0002;
pub const EVBACKEND_EPOLL: c_uint = 0x0000_0004;
pub const EVBACKEND_KQUEUE: c_uint = 0x0000_0008;
pub const EVBACKEND_DEVPOLL: c_uint = 0x0000_0010;
pub const EVBACKEND_PORT: c_uint = 0x0000_0020;
pub const EVBACKEND_LINUXAIO: c_uint = 0x0000_0040;
pub const EVBACKEND_IOURING: c_uint = 0x0000_0080;
pub const EVBACKEND_ALL: c_uint = 0x0000_00FF;
pub const EVBACKEND_MASK: c_uint = 0x0000_FFFF;

pub const EVRUN_NOWAIT: c_int = 1;
pub const EVRUN_ONCE: c_int = 2;

pub const EVBREAK_CANCEL: c_int = 0;
pub const EVBREAK_ONE: c_int = 1;
pub const EVBREAK_ALL: c_int = 2;

pub const EV_MINPRI: c_int = -2;
pub const EV_MAXPRI: c_int = 2;

pub const EV_VERSION_MAJOR: c_int = 4;
pub const EV_VERSION_MINOR: c_int = 33;

/// `EV_WATCHER(type)`: the fields every watcher starts with.
#[repr(C)]
pub struct ev_watcher {
    pub active: c_int,
    pub pending: c_int,
    pub priority: c_int,
    pub data: *mut c_void,
    pub cb: Option<unsafe extern "C" fn(*mut ev_loop, *mut ev_watcher, c_int)>,
}

/// `EV_WATCHER_LIST(type)`.
#[repr(C)]
pub struct ev_watcher_list {
    pub w: ev_watcher,
    pub next: *mut ev_watcher_list,
}

/// `EV_WATCHER_TIME(type)`.
#[repr(C)]
pub struct ev_watcher_time {
    pub w: ev_watcher,
    pub at: ev_tstamp,
}

#[repr(C)]
pub struct ev_io {
    pub w: ev_watcher,
    pub next: *mut ev_watcher_list,
    pub fd: c_int,
    pub events: c_int,
}

#[repr(C)]
pub struct ev_timer {
    pub w: ev_watcher,
    pub at: ev_tstamp,
    pub repeat: ev_tstamp,
}

#[repr(C)]
pub struct ev_periodic {
    pub w: ev_watcher,
    pub at: ev_tstamp,
    pub offset: ev_tstamp,
    pub interval: ev_tstamp,
    pub reschedule_cb: Option<unsafe extern "C" fn(*mut ev_periodic, ev_tstamp) -> ev_tstamp>,
}

#[repr(C)]
pub struct ev_signal {
    pub w: ev_watcher,
    pub next: *mut ev_watcher_list,
    pub signum: c_int,
}

#[repr(C)]
pub struct ev_child {
    pub w: ev_watcher,
    pub next: *mut ev_watcher_list,
    pub flags: c_int,
    pub pid: c_int,
    pub rpid: c_int,
    pub rstatus: c_int,
}

pub type ev_statdata = libc::stat;

#[repr(C)]
pub struct ev_stat {
    pub w: ev_watcher,
    pub next: *mut ev_watcher_list,
    pub timer: ev_timer,
    pub interval: ev_tstamp,
    pub path: *const c_char,
    pub prev: ev_statdata,
    pub attr: ev_statdata,
    pub wd: c_int,
}

#[repr(C)]
pub struct ev_idle {
    pub w: ev_watcher,
}

#[repr(C)]
pub struct ev_prepare {
    pub w: ev_watcher,
}

#[repr(C)]
pub struct ev_check {
    pub w: ev_watcher,
}

#[repr(C)]
pub struct ev_fork {
    pub w: ev_watcher,
}

#[repr(C)]
pub struct ev_cleanup {
    pub w: ev_watcher,
}

#[repr(C)]
pub struct ev_async {
    pub w: ev_watcher,
    /// `EV_ATOMIC_T` is `sig_atomic_t volatile`, an `int` on Linux.
    pub sent: c_int,
}

/// One row of the C-side layout table (`src/c/layout.c`).
#[repr(C)]
pub struct gevent_layout_entry {
    pub name: *const c_char,
    pub value: usize,
}

unsafe extern "C" {
    pub fn ev_version_major() -> c_int;
    pub fn ev_version_minor() -> c_int;
    pub fn ev_supported_backends() -> c_uint;
    pub fn ev_recommended_backends() -> c_uint;
    pub fn ev_embeddable_backends() -> c_uint;
    pub fn ev_time() -> ev_tstamp;
    pub fn ev_sleep(delay: ev_tstamp);
    pub fn ev_set_syserr_cb(cb: Option<unsafe extern "C" fn(msg: *const c_char)>);

    pub fn ev_default_loop(flags: c_uint) -> *mut ev_loop;
    pub static mut ev_default_loop_ptr: *mut ev_loop;
    pub fn ev_loop_new(flags: c_uint) -> *mut ev_loop;
    pub fn ev_loop_destroy(l: *mut ev_loop);
    pub fn ev_loop_fork(l: *mut ev_loop);
    pub fn ev_backend(l: *mut ev_loop) -> c_uint;
    pub fn ev_now(l: *mut ev_loop) -> ev_tstamp;
    pub fn ev_now_update(l: *mut ev_loop);
    pub fn ev_run(l: *mut ev_loop, flags: c_int) -> c_int;
    pub fn ev_break(l: *mut ev_loop, how: c_int);
    pub fn ev_ref(l: *mut ev_loop);
    pub fn ev_unref(l: *mut ev_loop);
    pub fn ev_invoke_pending(l: *mut ev_loop);
    pub fn ev_iteration(l: *mut ev_loop) -> c_uint;
    pub fn ev_depth(l: *mut ev_loop) -> c_uint;
    pub fn ev_verify(l: *mut ev_loop);
    pub fn ev_set_userdata(l: *mut ev_loop, data: *mut c_void);
    pub fn ev_userdata(l: *mut ev_loop) -> *mut c_void;
    pub fn ev_pending_count(l: *mut ev_loop) -> c_uint;
    pub fn ev_suspend(l: *mut ev_loop);
    pub fn ev_resume(l: *mut ev_loop);
    pub fn ev_feed_event(l: *mut ev_loop, w: *mut c_void, revents: c_int);
    pub fn ev_feed_fd_event(l: *mut ev_loop, fd: c_int, revents: c_int);
    pub fn ev_feed_signal(signum: c_int);
    pub fn ev_invoke(l: *mut ev_loop, w: *mut c_void, revents: c_int);
    pub fn ev_clear_pending(l: *mut ev_loop, w: *mut c_void) -> c_int;

    pub fn ev_io_start(l: *mut ev_loop, w: *mut ev_io);
    pub fn ev_io_stop(l: *mut ev_loop, w: *mut ev_io);
    pub fn ev_timer_start(l: *mut ev_loop, w: *mut ev_timer);
    pub fn ev_timer_stop(l: *mut ev_loop, w: *mut ev_timer);
    pub fn ev_timer_again(l: *mut ev_loop, w: *mut ev_timer);
    pub fn ev_timer_remaining(l: *mut ev_loop, w: *mut ev_timer) -> ev_tstamp;
    pub fn ev_periodic_start(l: *mut ev_loop, w: *mut ev_periodic);
    pub fn ev_periodic_stop(l: *mut ev_loop, w: *mut ev_periodic);
    pub fn ev_periodic_again(l: *mut ev_loop, w: *mut ev_periodic);
    pub fn ev_signal_start(l: *mut ev_loop, w: *mut ev_signal);
    pub fn ev_signal_stop(l: *mut ev_loop, w: *mut ev_signal);
    pub fn ev_child_start(l: *mut ev_loop, w: *mut ev_child);
    pub fn ev_child_stop(l: *mut ev_loop, w: *mut ev_child);
    pub fn ev_stat_start(l: *mut ev_loop, w: *mut ev_stat);
    pub fn ev_stat_stop(l: *mut ev_loop, w: *mut ev_stat);
    pub fn ev_stat_stat(l: *mut ev_loop, w: *mut ev_stat);
    pub fn ev_idle_start(l: *mut ev_loop, w: *mut ev_idle);
    pub fn ev_idle_stop(l: *mut ev_loop, w: *mut ev_idle);
    pub fn ev_prepare_start(l: *mut ev_loop, w: *mut ev_prepare);
    pub fn ev_prepare_stop(l: *mut ev_loop, w: *mut ev_prepare);
    pub fn ev_check_start(l: *mut ev_loop, w: *mut ev_check);
    pub fn ev_check_stop(l: *mut ev_loop, w: *mut ev_check);
    pub fn ev_fork_start(l: *mut ev_loop, w: *mut ev_fork);
    pub fn ev_fork_stop(l: *mut ev_loop, w: *mut ev_fork);
    pub fn ev_cleanup_start(l: *mut ev_loop, w: *mut ev_cleanup);
    pub fn ev_cleanup_stop(l: *mut ev_loop, w: *mut ev_cleanup);
    pub fn ev_async_start(l: *mut ev_loop, w: *mut ev_async);
    pub fn ev_async_stop(l: *mut ev_loop, w: *mut ev_async);
    pub fn ev_async_send(l: *mut ev_loop, w: *mut ev_async);

    /// The backend fd of a loop (-1 for select/poll); `src/c/ev_glue.c`.
    pub fn gevent_ev_backend_fd(l: *mut ev_loop) -> c_int;
    /// The loop's count of active referenced watchers; `src/c/ev_glue.c`.
    pub fn gevent_ev_activecnt(l: *mut ev_loop) -> c_int;
    /// Starts (`on` != 0) or stops libev's SIGCHLD watcher of the default
    /// loop (no-op on another loop); `src/c/ev_glue.c`.
    pub fn gevent_ev_sigchld(l: *mut ev_loop, on: c_int);
    /// `ev_loop_fork` done at once, fork watchers queued; `src/c/ev_glue.c`.
    pub fn gevent_ev_loop_fork_now(l: *mut ev_loop);
    /// libev's syserr callback now set (process-wide); `src/c/ev_glue.c`.
    pub fn gevent_ev_syserr_cb() -> *mut c_void;
    /// Whether libev's SIGCHLD watcher is active; `src/c/ev_glue.c`.
    pub fn gevent_ev_sigchld_active() -> c_int;

    /// The C compiler's view of libev's layouts (`src/c/layout.c`),
    /// terminated by an entry whose `name` is null.
    pub fn gevent_libev_layout() -> *const gevent_layout_entry;
}

/// `ev_init(w, cb)`: clear the common watcher fields and set the callback.
///
/// # Safety
/// `w` must point to a valid, inactive watcher of any type (every libev
/// watcher starts with an `ev_watcher`).
pub unsafe fn ev_init(
    w: *mut ev_watcher,
    cb: Option<unsafe extern "C" fn(*mut ev_loop, *mut ev_watcher, c_int)>,
) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe {
        (*w).active = 0;
        (*w).pending = 0;
        (*w).priority = 0;
        (*w).cb = cb;
    }
}

/// `ev_io_set(w, fd, events)`.
///
/// # Safety
/// `w` must be a valid, inactive `ev_io`.
pub unsafe fn ev_io_set(w: *mut ev_io, fd: c_int, events: c_int) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe {
        (*w).fd = fd;
        (*w).events = events | EV__IOFDSET;
    }
}

/// `ev_timer_set(w, after, repeat)`.
///
/// # Safety
/// `w` must be a valid, inactive `ev_timer`.
pub unsafe fn ev_timer_set(w: *mut ev_timer, after: ev_tstamp, repeat: ev_tstamp) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe {
        (*w).at = after;
        (*w).repeat = repeat;
    }
}

/// `ev_signal_set(w, signum)`.
///
/// # Safety
/// `w` must be a valid, inactive `ev_signal`.
pub unsafe fn ev_signal_set(w: *mut ev_signal, signum: c_int) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe { (*w).signum = signum }
}

/// `ev_child_set(w, pid, trace)`.
///
/// # Safety
/// `w` must be a valid, inactive `ev_child`.
pub unsafe fn ev_child_set(w: *mut ev_child, pid: c_int, trace: bool) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe {
        (*w).pid = pid;
        (*w).flags = trace as c_int;
    }
}

/// `ev_stat_set(w, path, interval)`.
///
/// # Safety
/// `w` must be a valid, inactive `ev_stat`; `path` must stay valid while
/// the watcher exists.
pub unsafe fn ev_stat_set(w: *mut ev_stat, path: *const c_char, interval: ev_tstamp) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe {
        (*w).path = path;
        (*w).interval = interval;
        (*w).wd = -2;
    }
}

/// `ev_async_set(w)`.
///
/// # Safety
/// `w` must be a valid, inactive `ev_async`.
pub unsafe fn ev_async_set(w: *mut ev_async) {
    // SAFETY: the caller guarantees `w` is valid and writable.
    unsafe { (*w).sent = 0 }
}
