//! The C API (`include/gevent.h`): a C program that runs its own libev
//! loop attaches a hub to it and runs C functions as greenlets beside its
//! own watchers. Every entry point returns -1 (or NULL) with `errno` set
//! on failure, never unwinds into C (a panic becomes `ENOTRECOVERABLE`),
//! and a blocking call made outside a greenlet returns `EDEADLK`.
//!
//! The functions are documented in the header; this file maps them onto
//! the Rust API ([`Hub::attach`] and friends).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::core::Loop;
use crate::error::Error;
use crate::event::Event;
use crate::greenlet::Greenlet;
use crate::hub::{Hub, get_hub_if_exists};
use crate::libev as ev;

/// The ABI number `gevent_attach` expects (`GEVENT_EV_ABI` in
/// `include/gevent_ev.h`, computed there by the C compiler).
pub fn ev_abi() -> c_uint {
    ((ev::EV_VERSION_MAJOR as c_uint) << 24)
        | ((ev::EV_VERSION_MINOR as c_uint) << 16)
        | ((std::mem::size_of::<ev::ev_io>() as c_uint) << 8)
        | std::mem::size_of::<ev::ev_timer>() as c_uint
}

/// An OS error with errno `e`, as the C API reports it.
fn os_error(e: c_int) -> Error {
    std::io::Error::from_raw_os_error(e).into()
}

/// `Err(Io(EBADF))` unless `fd` is open.
fn check_open(fd: c_int) -> crate::Result<()> {
    // SAFETY: F_GETFD on any integer is harmless.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

fn set_errno(e: c_int) {
    // SAFETY: errno is this thread's.
    unsafe { *libc::__errno_location() = e };
}

/// The errno for a crate error, as the header documents.
fn errno_of(e: &Error) -> c_int {
    match e {
        Error::Io(io) => io.raw_os_error().unwrap_or(libc::EIO),
        Error::Timeout(_) => libc::ETIMEDOUT,
        Error::BlockingSwitchOut(_) => libc::EDEADLK,
        Error::ConcurrentObjectUse(_) => libc::EBUSY,
        Error::GreenletExit => libc::ECANCELED,
        Error::HubDestroyed => libc::ESHUTDOWN,
        Error::LoopExit(_) => libc::EDEADLK,
        Error::InvalidArgument(_) => libc::EINVAL,
        _ => libc::EIO,
    }
}

/// Runs `f`, mapping an `Err` to `fail` with errno and a panic to `fail`
/// with `ENOTRECOVERABLE`: nothing unwinds into C.
fn guard<T>(fail: T, f: impl FnOnce() -> crate::Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_errno(errno_of(&e));
            fail
        }
        Err(_) => {
            set_errno(libc::ENOTRECOVERABLE);
            fail
        }
    }
}

/// The thread's attached hub, or `ENXIO`.
fn attached_hub() -> crate::Result<Hub> {
    match get_hub_if_exists() {
        Some(h) if h.attached() && !h.destroyed() => Ok(h),
        _ => Err(os_error(libc::ENXIO)),
    }
}

/// A negative timeout is "no limit".
fn timeout(secs: f64) -> Option<f64> {
    (secs >= 0.0).then_some(secs)
}

/// `gevent_attach(loop)`: see `include/gevent.h`.
///
/// # Safety
/// `lp` must be a live libev loop that outlives the hub (until
/// `gevent_detach`), used on this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_attach_abi(lp: *mut ev::ev_loop, abi: c_uint) -> c_int {
    guard(-1, || {
        if lp.is_null() {
            return Err(Error::invalid("a null loop"));
        }
        if abi != ev_abi() {
            return Err(os_error(libc::EPROTO));
        }
        if get_hub_if_exists().is_some() {
            return Err(os_error(libc::EEXIST));
        }
        // SAFETY: the caller's contract.
        let lp = unsafe { Loop::from_raw(lp) };
        Hub::attach(lp)?;
        Ok(0)
    })
}

/// `gevent_detach()`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_detach() -> c_int {
    guard(-1, || {
        let hub = attached_hub()?;
        hub.destroy();
        Ok(0)
    })
}

/// `gevent_keep_loop_alive(on)`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_keep_loop_alive(on: c_int) -> c_int {
    guard(-1, || {
        attached_hub()?.set_keep_loop_alive(on != 0);
        Ok(0)
    })
}

/// A greenlet handle given to C.
pub struct CGreenlet(Greenlet<()>);

/// A C function pointer and its argument.
type CFn = unsafe extern "C" fn(*mut c_void);

/// `gevent_spawn(fn, arg)`: see `include/gevent.h`.
///
/// # Safety
/// `f` must be safe to call with `arg` in a greenlet of this thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_spawn(f: Option<CFn>, arg: *mut c_void) -> *mut CGreenlet {
    guard(std::ptr::null_mut(), || {
        let f = f.ok_or_else(|| Error::invalid("a null function"))?;
        attached_hub()?;
        let arg = arg as usize;
        let g = Greenlet::spawn(move || {
            // SAFETY: the caller's contract; a C function cannot unwind.
            unsafe { f(arg as *mut c_void) };
            Ok(())
        });
        Ok(Box::into_raw(Box::new(CGreenlet(g))))
    })
}

/// Borrows a handle given out by `gevent_spawn`.
///
/// # Safety
/// `g` is null or from `gevent_spawn` and not freed.
unsafe fn handle<'a>(g: *mut CGreenlet) -> crate::Result<&'a CGreenlet> {
    // SAFETY: the caller's contract.
    unsafe { g.as_ref() }.ok_or_else(|| Error::invalid("a null greenlet"))
}

/// `gevent_join(g, timeout)`: see `include/gevent.h`.
///
/// # Safety
/// `g` comes from `gevent_spawn` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_join(g: *mut CGreenlet, secs: f64) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's contract.
        let g = unsafe { handle(g) }?;
        let done = match timeout(secs) {
            Some(t) => g.0.join_timeout(t)?,
            None => g.0.join().map(|()| true)?,
        };
        if done {
            Ok(0)
        } else {
            Err(os_error(libc::ETIMEDOUT))
        }
    })
}

/// `gevent_kill(g, block)`: see `include/gevent.h`.
///
/// # Safety
/// `g` comes from `gevent_spawn` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_kill(g: *mut CGreenlet, block: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's contract.
        let g = unsafe { handle(g) }?;
        if block != 0 {
            g.0.kill()?;
        } else {
            g.0.kill_nowait();
        }
        Ok(0)
    })
}

/// `gevent_dead(g)`: see `include/gevent.h`.
///
/// # Safety
/// `g` comes from `gevent_spawn` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_dead(g: *mut CGreenlet) -> c_int {
    // SAFETY: the caller's contract.
    guard(-1, || Ok(c_int::from(unsafe { handle(g) }?.0.dead())))
}

/// `gevent_greenlet_free(g)`: see `include/gevent.h`.
///
/// # Safety
/// `g` is null or comes from `gevent_spawn`; it is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_greenlet_free(g: *mut CGreenlet) {
    if !g.is_null() {
        guard((), || {
            // SAFETY: the caller's contract: ours, freed once.
            drop(unsafe { Box::from_raw(g) });
            Ok(())
        });
    }
}

/// `gevent_current()`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_current() -> *const c_void {
    guard(std::ptr::null(), || {
        let cur = crate::greenlet::raw::RawGreenlet::current();
        if cur.is_main() {
            Ok(std::ptr::null())
        } else {
            Ok(crate::greenlet::raw::current_ptr() as *const c_void)
        }
    })
}

/// `gevent_sleep(secs)`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_sleep(secs: f64) -> c_int {
    guard(-1, || {
        attached_hub()?;
        crate::sleep(secs.max(0.0))?;
        Ok(0)
    })
}

thread_local! {
    /// The C greenlets waiting in `gevent_wait_fd`, by fd and direction
    /// (a second waiter gets `EBUSY`).
    static FD_WAITERS: RefCell<HashMap<(c_int, c_int), usize>> = RefCell::new(HashMap::new());
}

/// `gevent_wait_fd(fd, events, timeout)`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_wait_fd(fd: c_int, events: c_int, secs: f64) -> c_int {
    guard(-1, || {
        let hub = attached_hub()?;
        hub.ensure_can_block()?;
        let events = events & (ev::EV_READ | ev::EV_WRITE);
        if fd < 0 || events == 0 {
            return Err(Error::invalid("a bad fd or no GEVENT_READ/GEVENT_WRITE"));
        }
        let busy = |dir: c_int| FD_WAITERS.with(|w| w.borrow().contains_key(&(fd, dir)));
        let dirs: Vec<c_int> = [ev::EV_READ, ev::EV_WRITE]
            .into_iter()
            .filter(|d| events & d != 0)
            .collect();
        if dirs.iter().any(|d| busy(*d)) {
            return Err(Error::ConcurrentObjectUse(
                "another greenlet waits on this fd".into(),
            ));
        }
        check_open(fd)?;
        struct Registered(c_int, Vec<c_int>);
        impl Drop for Registered {
            fn drop(&mut self) {
                let _ = FD_WAITERS.try_with(|w| {
                    for d in &self.1 {
                        w.borrow_mut().remove(&(self.0, *d));
                    }
                });
            }
        }
        FD_WAITERS.with(|w| {
            for d in &dirs {
                w.borrow_mut().insert((fd, *d), 1);
            }
        });
        let _registered = Registered(fd, dirs);
        match crate::socket::wait_fd_events(&hub, fd, events, timeout(secs))? {
            Some(0) => Ok(events),
            Some(got) => Ok(got),
            None => Err(os_error(libc::ETIMEDOUT)),
        }
    })
}

/// `gevent_close(fd)`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_close(fd: c_int) -> c_int {
    guard(-1, || {
        check_open(fd)?;
        crate::socket::close_fd(fd);
        Ok(0)
    })
}

/// An event handle given to C.
pub struct CEvent(Event);

/// `gevent_event_new()`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_event_new() -> *mut CEvent {
    guard(std::ptr::null_mut(), || {
        attached_hub()?;
        Ok(Box::into_raw(Box::new(CEvent(Event::new()))))
    })
}

/// Borrows an event from `gevent_event_new`.
///
/// # Safety
/// `e` is null or from `gevent_event_new` and not freed.
unsafe fn event<'a>(e: *mut CEvent) -> crate::Result<&'a CEvent> {
    // SAFETY: the caller's contract.
    unsafe { e.as_ref() }.ok_or_else(|| Error::invalid("a null event"))
}

/// `gevent_event_set(e)`: see `include/gevent.h`.
///
/// # Safety
/// `e` comes from `gevent_event_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_event_set(e: *mut CEvent) -> c_int {
    // SAFETY: the caller's contract.
    guard(-1, || unsafe { event(e) }.map(|e| e.0.set()).map(|()| 0))
}

/// `gevent_event_clear(e)`: see `include/gevent.h`.
///
/// # Safety
/// `e` comes from `gevent_event_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_event_clear(e: *mut CEvent) -> c_int {
    // SAFETY: the caller's contract.
    guard(-1, || unsafe { event(e) }.map(|e| e.0.clear()).map(|()| 0))
}

/// `gevent_event_is_set(e)`: see `include/gevent.h`.
///
/// # Safety
/// `e` comes from `gevent_event_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_event_is_set(e: *mut CEvent) -> c_int {
    // SAFETY: the caller's contract.
    guard(-1, || {
        unsafe { event(e) }.map(|e| c_int::from(e.0.is_set()))
    })
}

/// `gevent_event_wait(e, timeout)`: see `include/gevent.h`.
///
/// # Safety
/// `e` comes from `gevent_event_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_event_wait(e: *mut CEvent, secs: f64) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's contract.
        let e = unsafe { event(e) }?;
        let set = match timeout(secs) {
            Some(t) => e.0.wait_timeout(t)?,
            None => e.0.wait()?,
        };
        if set {
            Ok(0)
        } else {
            Err(os_error(libc::ETIMEDOUT))
        }
    })
}

/// `gevent_event_free(e)`: see `include/gevent.h`.
///
/// # Safety
/// `e` is null or comes from `gevent_event_new`; not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_event_free(e: *mut CEvent) {
    if !e.is_null() {
        guard((), || {
            // SAFETY: the caller's contract: ours, freed once.
            drop(unsafe { Box::from_raw(e) });
            Ok(())
        });
    }
}

/// A queue of pointers given to C.
pub struct CQueue(crate::queue::Queue<usize>);

/// `gevent_queue_new(maxsize)`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_queue_new(maxsize: usize) -> *mut CQueue {
    guard(std::ptr::null_mut(), || {
        attached_hub()?;
        let q = crate::queue::Queue::new((maxsize > 0).then_some(maxsize));
        Ok(Box::into_raw(Box::new(CQueue(q))))
    })
}

/// Borrows a queue from `gevent_queue_new`.
///
/// # Safety
/// `q` is null or from `gevent_queue_new` and not freed.
unsafe fn queue<'a>(q: *mut CQueue) -> crate::Result<&'a CQueue> {
    // SAFETY: the caller's contract.
    unsafe { q.as_ref() }.ok_or_else(|| Error::invalid("a null queue"))
}

/// `gevent_queue_put(q, item, timeout)`: see `include/gevent.h`.
///
/// # Safety
/// `q` comes from `gevent_queue_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_queue_put(q: *mut CQueue, item: *mut c_void, secs: f64) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's contract.
        let q = unsafe { queue(q) }?;
        match timeout(secs) {
            Some(0.0) => q.0.try_put(item as usize),
            Some(t) => q.0.put_timeout(item as usize, t),
            None => q.0.put(item as usize),
        }
        .map_err(|e| full_is_timeout(e, secs))?;
        Ok(0)
    })
}

/// `queue.Full` / `queue.Empty` are `ETIMEDOUT` in C, `EAGAIN` for a zero
/// timeout.
fn full_is_timeout(e: Error, secs: f64) -> Error {
    match e {
        Error::Full | Error::Empty => {
            let errno = if secs == 0.0 {
                libc::EAGAIN
            } else {
                libc::ETIMEDOUT
            };
            os_error(errno)
        }
        e => e,
    }
}

/// `gevent_queue_get(q, &item, timeout)`: see `include/gevent.h`.
///
/// # Safety
/// `q` comes from `gevent_queue_new` and was not freed; `item` is valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_queue_get(
    q: *mut CQueue,
    item: *mut *mut c_void,
    secs: f64,
) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's contract.
        let q = unsafe { queue(q) }?;
        if item.is_null() {
            return Err(Error::invalid("a null item pointer"));
        }
        let got = match timeout(secs) {
            Some(0.0) => q.0.try_get(),
            Some(t) => q.0.get_timeout(t),
            None => q.0.get(),
        }
        .map_err(|e| full_is_timeout(e, secs))?;
        // SAFETY: the caller's contract: `item` is writable.
        unsafe { *item = got as *mut c_void };
        Ok(0)
    })
}

/// `gevent_queue_size(q)`: see `include/gevent.h`.
///
/// # Safety
/// `q` comes from `gevent_queue_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_queue_size(q: *mut CQueue) -> c_int {
    // SAFETY: the caller's contract.
    guard(-1, || Ok(unsafe { queue(q) }?.0.qsize() as c_int))
}

/// `gevent_queue_free(q)`: see `include/gevent.h`.
///
/// # Safety
/// `q` is null or comes from `gevent_queue_new`; not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_queue_free(q: *mut CQueue) {
    if !q.is_null() {
        guard((), || {
            // SAFETY: the caller's contract: ours, freed once.
            drop(unsafe { Box::from_raw(q) });
            Ok(())
        });
    }
}

/// `gevent_run_in_thread(fn, arg, &result, timeout)`: see
/// `include/gevent.h`.
///
/// # Safety
/// `f` must be safe to call with `arg` on another thread; `result` is
/// null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_run_in_thread(
    f: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    arg: *mut c_void,
    result: *mut *mut c_void,
    secs: f64,
) -> c_int {
    guard(-1, || {
        let f = f.ok_or_else(|| Error::invalid("a null function"))?;
        let hub = attached_hub()?;
        hub.ensure_can_block()?;
        let arg = arg as usize;
        // SAFETY: the caller's contract; a C function cannot unwind.
        let r = hub
            .threadpool()?
            .spawn(move || unsafe { f(arg as *mut c_void) } as usize)?;
        let v = match timeout(secs) {
            Some(t) => r.get_timeout(t)?,
            None => r.get()?,
        };
        if !result.is_null() {
            // SAFETY: the caller's contract.
            unsafe { *result = v as *mut c_void };
        }
        Ok(0)
    })
}

/// Where a lookup's answer goes: the caller, or (once it gave up) the
/// bin.
enum Lookup {
    Waiting,
    Abandoned,
    Done(c_int, usize),
}

/// `gevent_getaddrinfo(node, service, hints, res, timeout)`: see
/// `include/gevent.h`.
///
/// # Safety
/// `node` and `service` are null or NUL-terminated strings, `hints` null
/// or a valid `struct addrinfo`, `res` valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gevent_getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const libc::addrinfo,
    res: *mut *mut libc::addrinfo,
    secs: f64,
) -> c_int {
    let r = guard(Err(()), || {
        if res.is_null() || (node.is_null() && service.is_null()) {
            return Err(Error::invalid("no res, or neither node nor service"));
        }
        let hub = attached_hub()?;
        hub.ensure_can_block()?;
        // SAFETY: the caller's contract: NUL-terminated strings.
        let copy = |p: *const c_char| {
            (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_owned())
        };
        let (node, service) = (copy(node), copy(service));
        // SAFETY: zeroes are addrinfo's documented defaults.
        let mut h: libc::addrinfo = unsafe { std::mem::zeroed() };
        // SAFETY: the caller's contract: `hints` is null or valid.
        if let Some(given) = unsafe { hints.as_ref() } {
            h.ai_flags = given.ai_flags;
            h.ai_family = given.ai_family;
            h.ai_socktype = given.ai_socktype;
            h.ai_protocol = given.ai_protocol;
        }
        let (flags, family, socktype, protocol) =
            (h.ai_flags, h.ai_family, h.ai_socktype, h.ai_protocol);
        let slot = std::sync::Arc::new(crate::forksafe::Mutex::new(Lookup::Waiting));
        let s = slot.clone();
        let done = hub.threadpool()?.spawn(move || {
            // SAFETY: zeroes are addrinfo's documented defaults.
            let mut h: libc::addrinfo = unsafe { std::mem::zeroed() };
            h.ai_flags = flags;
            h.ai_family = family;
            h.ai_socktype = socktype;
            h.ai_protocol = protocol;
            let mut out: *mut libc::addrinfo = std::ptr::null_mut();
            // SAFETY: valid strings (or null), hints and out pointer.
            let rc = unsafe {
                libc::getaddrinfo(
                    node.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                    service.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                    &h,
                    &mut out,
                )
            };
            let mut st = s.lock();
            if matches!(*st, Lookup::Abandoned) {
                if rc == 0 {
                    // SAFETY: nobody will read this answer: free it here.
                    unsafe { libc::freeaddrinfo(out) };
                }
            } else {
                *st = Lookup::Done(rc, out as usize);
            }
        })?;
        let waited = match timeout(secs) {
            Some(t) => done.wait_timeout(t),
            None => done.wait(),
        };
        let mut st = slot.lock();
        match std::mem::replace(&mut *st, Lookup::Abandoned) {
            Lookup::Done(rc, out) => {
                // SAFETY: the caller's contract: `res` is writable.
                unsafe { *res = out as *mut libc::addrinfo };
                Ok(Ok(rc))
            }
            _ => {
                // Given up (timeout, kill): the worker frees a late answer.
                waited?;
                Err(os_error(libc::ETIMEDOUT))
            }
        }
    });
    match r {
        Ok(rc) => rc,
        Err(()) => libc::EAI_SYSTEM,
    }
}

/// `gevent_strerror(err)`: see `include/gevent.h`.
#[unsafe(no_mangle)]
pub extern "C" fn gevent_strerror(err: c_int) -> *const c_char {
    let s: &'static [u8] = match err {
        libc::EDEADLK => b"blocking call outside a greenlet (in the host's code or callbacks)\0",
        libc::ECANCELED => b"the greenlet was killed while it waited\0",
        libc::EBUSY => b"another greenlet already waits on this fd\0",
        libc::ETIMEDOUT => b"timed out\0",
        libc::EBADF => b"the fd is not open, or was closed while waiting\0",
        libc::ENXIO => b"no hub is attached on this thread (gevent_attach)\0",
        libc::EEXIST => b"this thread already has a hub\0",
        libc::EPROTO => b"gevent_ev.h does not match the library (GEVENT_EV_ABI)\0",
        libc::ESHUTDOWN => b"the hub was detached\0",
        libc::ENOTRECOVERABLE => b"the gevent library panicked (a bug); the call failed\0",
        libc::EINVAL => b"invalid argument\0",
        // SAFETY: strerror returns a static string for any value.
        _ => return unsafe { libc::strerror(err) },
    };
    s.as_ptr().cast()
}
