//! Cooperative process and fd functions (gevent's `gevent.os`):
//! [`fork`] that keeps the hub working in the child, [`waitpid`] that waits
//! for a child without blocking the loop, and reads and writes on raw fds
//! that wait cooperatively ([`nb_read`], [`nb_write`]) or run on the
//! thread pool ([`tp_read`], [`tp_write`]).
//!
//! # Children
//! Child watching is switched on by the first [`waitpid`],
//! [`fork_and_watch`] or [`Loop::child`](crate::core::Loop::child) watcher:
//! only then does libev install its `SIGCHLD` handler (so a program that
//! embeds the crate keeps its own handler until it asks for child
//! watching), and from then on libev reaps **every** child of the process
//! as it exits (`waitpid(-1)`, as gevent's libev does). The statuses are
//! kept here until [`waitpid`] asks for them, so use `gevent::os::waitpid`
//! rather than `std::process::Child::wait` (which would find the child
//! already reaped: `ECHILD`). Child watching needs the default loop, the
//! main thread's; on another thread's hub [`waitpid`] polls the child
//! every few milliseconds instead.
//!
//! # Fork
//! [`fork`] quiesces the thread pools of the calling thread first (no
//! worker holds their locks across the fork), and in the child reinits
//! the loop (`ev_loop_fork`) and the pools at once ([`reinit`]): the
//! worker threads did not survive the fork, so queued tasks get new
//! workers and tasks that were running in the parent fail with
//! `Io(ECANCELED)`. The resolver runs on the hub's pool, so lookups work
//! in the child straight away. As with any `fork` of a multi-threaded
//! process, the child should not rely on locks other threads may have
//! held (keep it to async-signal-safe work or to this crate's greenlets).

use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::forksafe::Mutex;

use crate::core::{Child, Loop};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::hub::{get_hub, sleep};
use crate::libev as ev;

/// Child statuses reaped by libev and not yet asked for: `(pid, status)`
/// in the order they arrived.
static REAPED: Mutex<Vec<(i32, i32)>> = Mutex::new(Vec::new());
/// Set once child watching is on (for the default loop).
static WATCHING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The catch-all child watcher feeding [`REAPED`], and the event set
    /// whenever it adds to it (main thread only).
    static CATCH_ALL: RefCell<Option<(Child, Event)>> = const { RefCell::new(None) };
}

/// Switches child watching on for `lp` (the default loop): libev's
/// `SIGCHLD` handler and a catch-all child watcher that keeps every
/// status for [`waitpid`]. Idempotent; a no-op on other loops.
pub(crate) fn watch_children(lp: &Loop) -> Result<()> {
    if !lp.is_default() {
        return Ok(());
    }
    // SAFETY: the default loop is alive (we hold a handle to it); libev's
    // SIGCHLD watcher is started on the loop's own thread.
    unsafe { ev::gevent_ev_sigchld(lp.as_raw(), 1) };
    WATCHING.store(true, Ordering::Relaxed);
    let started = CATCH_ALL.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|(w, _)| w.active() && !w.loop_().destroyed())
    });
    if started {
        return Ok(());
    }
    let w = Child::new_raw_child(lp, 0, false);
    let arrived = Event::new();
    let (me, ev) = (w.clone(), arrived.clone());
    w.start(move || {
        REAPED.lock().push((me.rpid(), me.rstatus()));
        ev.set();
    })?;
    // Watching for children must not keep the loop alive by itself.
    w.set_ref(false);
    CATCH_ALL.with(|c| *c.borrow_mut() = Some((w, arrived)));
    Ok(())
}

/// Whether libev's `SIGCHLD` handling is on (it is off until child
/// watching is used).
pub fn child_watching() -> bool {
    // SAFETY: reads a libev global.
    unsafe { ev::gevent_ev_sigchld_active() != 0 }
}

/// Takes the kept status of `pid` (-1: the earliest of any child).
fn take_reaped(pid: i32) -> Option<(i32, i32)> {
    let mut r = REAPED.lock();
    let i = r.iter().position(|(p, _)| pid == -1 || *p == pid)?;
    Some(r.remove(i))
}

fn sys_waitpid(pid: i32, options: i32) -> io::Result<(i32, i32)> {
    let mut status = 0;
    loop {
        // SAFETY: plain syscall with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, options) };
        if r >= 0 {
            return Ok((r, if r == 0 { 0 } else { status }));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// gevent's `os.waitpid(pid, options)`: the `(pid, status)` of a child
/// that ended (decode `status` with `libc::WEXITSTATUS` & co.), waiting
/// cooperatively; with `libc::WNOHANG`, `(0, 0)` if it has not ended yet.
/// `pid` is a child's pid or -1 for any child; 0 and other negative
/// values (process groups) go to the OS as they are (with `WNOHANG`, or
/// polled).
///
/// ```
/// let child = std::process::Command::new("sh").args(["-c", "exit 3"]).spawn()?;
/// let (pid, status) = gevent::os::waitpid(child.id() as i32, 0)?;
/// assert_eq!(pid, child.id() as i32);
/// assert_eq!(libc::WEXITSTATUS(status), 3);
/// # Ok::<(), gevent::Error>(())
/// ```
///
/// # Blocking
/// Until the child ends (without `WNOHANG`).
///
/// # Errors
/// `Err(Io(ECHILD))` for a pid that is not (or no longer) a child;
/// whatever is thrown into the caller while it waits.
pub fn waitpid(pid: i32, options: i32) -> Result<(i32, i32)> {
    let hub = get_hub();
    // A child or any child: statuses libev reaped are kept for these.
    let kept = pid > 0 || pid == -1;
    let on_default = hub.loop_().is_default();
    if on_default && kept {
        watch_children(hub.loop_())?;
    }
    loop {
        if kept && let Some(done) = take_reaped(pid) {
            return Ok(done);
        }
        match sys_waitpid(pid, options | libc::WNOHANG) {
            Ok((0, _)) if options & libc::WNOHANG != 0 => return Ok((0, 0)),
            Ok((0, _)) => {}
            Ok(done) => return Ok(done),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                // libev may have reaped it first.
                if kept && let Some(done) = take_reaped(pid) {
                    return Ok(done);
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        }
        // Not ended yet: wait for libev to reap something, or poll.
        let arrived = CATCH_ALL.with(|c| c.borrow().as_ref().map(|(_, e)| e.clone()));
        match arrived {
            Some(ev) if on_default && kept => {
                // Nothing was added since the check above (the catch-all
                // runs on this thread, and nothing switched meanwhile).
                ev.clear();
                // A SIGCHLD that came before the handler was installed
                // left a zombie; the WNOHANG call above reaped it. After
                // that, every exit reaches the catch-all watcher, which
                // does not keep the loop alive: this wait does (a child is
                // running), as gevent's referenced child watcher would.
                struct Ref<'a>(&'a Loop);
                impl Drop for Ref<'_> {
                    fn drop(&mut self) {
                        self.0.unref();
                    }
                }
                hub.loop_().ref_();
                let _held = Ref(hub.loop_());
                ev.wait()?;
            }
            _ => sleep(0.005)?,
        }
    }
}

/// gevent's `fork()`: forks with the hub kept usable in the child (see
/// the module docs): 0 in the child, the child's pid in the parent.
///
/// # Errors
/// [`Error::Io`] from `fork(2)` (`EAGAIN`, `ENOMEM`).
pub fn fork() -> Result<i32> {
    // SAFETY: fork(2) itself; the pools' locks are held by this thread
    // across it, so no worker holds them in the child.
    let pid = crate::threadpool::with_quiesced(|| unsafe { libc::fork() });
    if pid < 0 {
        return Err(io::Error::last_os_error().into());
    }
    if pid == 0 {
        reinit();
    }
    Ok(pid)
}

/// gevent's `fork_and_watch()`: [`fork`], and in the parent start
/// watching the child so that [`waitpid`] finds its status; `callback`
/// runs in the hub when it ends (with the `(pid, status)`).
///
/// # Errors
/// As [`fork`]; [`Error::InvalidArgument`] (before forking) for a
/// `callback` on a hub that is not on the default loop, which alone can
/// watch children.
pub fn fork_and_watch(callback: Option<Box<dyn FnOnce(i32, i32)>>) -> Result<i32> {
    let hub = get_hub();
    if hub.loop_().is_default() {
        // Before the fork, so the child's exit cannot be missed.
        watch_children(hub.loop_())?;
    } else if callback.is_some() {
        return Err(Error::invalid(
            "fork_and_watch with a callback needs the default loop's hub (the main thread's)",
        ));
    }
    let pid = fork()?;
    if pid > 0
        && let Some(cb) = callback
    {
        let w = hub.loop_().child(pid, false)?;
        let me = w.clone();
        let mut cb = Some(cb);
        w.start(move || {
            me.stop();
            if let Some(cb) = cb.take() {
                cb(me.rpid(), me.rstatus());
            }
        })?;
        w.set_ref(false);
    }
    Ok(pid)
}

/// gevent's `reinit()`: after a `fork` made some other way (`libc::fork`
/// directly), call this in the child first so the loop and the thread
/// pools work there. [`fork`] does it already.
pub fn reinit() {
    crate::threadpool::after_fork_in_child();
    reinit_loop();
}

fn reinit_loop() {
    if let Some(hub) = crate::hub::get_hub_if_exists() {
        hub.loop_().reinit_now();
    }
    // The statuses belong to the parent's children.
    REAPED.lock().clear();
}

/// Makes `fd` non-blocking (gevent's `make_nonblocking`); true if it was
/// blocking.
///
/// # Errors
/// [`Error::Io`] (`EBADF`).
pub fn make_nonblocking(fd: RawFd) -> Result<bool> {
    // SAFETY: fcntl on any integer fd is harmless.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error().into());
    }
    if flags & libc::O_NONBLOCK != 0 {
        return Ok(false);
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(true)
}

/// Reads up to `n` bytes from a non-blocking `fd`, waiting cooperatively
/// while there is nothing (gevent's `nb_read`); empty at end of file.
///
/// # Errors
/// [`Error::Io`] from `read(2)`; `EAGAIN` never (it waits instead).
pub fn nb_read(fd: RawFd, n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    loop {
        // SAFETY: `buf` is valid for writes of `n` bytes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), n) };
        if r >= 0 {
            buf.truncate(r as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => crate::socket::wait_read(fd, None)?,
            _ => return Err(e.into()),
        }
    }
}

/// Writes what a non-blocking `fd` takes of `buf`, waiting cooperatively
/// while it takes nothing (gevent's `nb_write`); the bytes written.
///
/// # Errors
/// [`Error::Io`] from `write(2)` (`EPIPE`, ...).
pub fn nb_write(fd: RawFd, buf: &[u8]) -> Result<usize> {
    loop {
        // SAFETY: `buf` is valid for reads of its length.
        let r = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => crate::socket::wait_write(fd, None)?,
            _ => return Err(e.into()),
        }
    }
}

/// Reads up to `n` bytes from `fd` on the hub's thread pool (gevent's
/// `tp_read`), for fds that cannot be made non-blocking (files).
///
/// # Errors
/// [`Error::Io`] from `read(2)`.
pub fn tp_read(fd: RawFd, n: usize) -> Result<Vec<u8>> {
    get_hub().threadpool()?.apply(move || {
        let mut buf = vec![0u8; n];
        // SAFETY: `buf` is valid for writes of `n` bytes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), n) };
        if r < 0 {
            return Err(Error::from(io::Error::last_os_error()));
        }
        buf.truncate(r as usize);
        Ok(buf)
    })?
}

/// Writes `buf` to `fd` on the hub's thread pool (gevent's `tp_write`);
/// the bytes written.
///
/// # Errors
/// [`Error::Io`] from `write(2)`.
pub fn tp_write(fd: RawFd, buf: &[u8]) -> Result<usize> {
    let data = buf.to_vec();
    get_hub().threadpool()?.apply(move || {
        // SAFETY: `data` is valid for reads of its length.
        let r = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if r < 0 {
            return Err(Error::from(io::Error::last_os_error()));
        }
        Ok(r as usize)
    })?
}
