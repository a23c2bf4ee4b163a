//! Waiting for several file descriptors at once (gevent's
//! `gevent.select`): [`select`] and [`Poll`] with gevent's semantics.
//!
//! ```
//! use gevent::select::select;
//! use gevent::socket::socketpair;
//!
//! let (a, b) = socketpair()?;
//! b.sendall(b"x")?;
//! let (r, w, _) = select(&[a.fileno()], &[b.fileno()], &[], Some(1.0))?;
//! assert_eq!((r, w), (vec![a.fileno()], vec![b.fileno()]));
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! As gevent: a real zero-timeout check comes first, so a closed fd is an
//! `EBADF` error (libev would report it ready, or abort) and fds already
//! ready return at once (after one yield, so a polling loop cannot
//! monopolise the hub); otherwise one io watcher per fd waits, at the
//! highest priority, until the first fires or `timeout` passes. `xlist` is
//! accepted and never reported, as in gevent.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::hub::{checked_timeout, get_hub};
use crate::libev as ev;

/// gevent's `select(rlist, wlist, xlist, timeout)`: the fds ready to
/// read, ready to write, and (never) in an exceptional condition; three
/// empty lists when `timeout` passed first. `None` waits without limit.
///
/// # Blocking
/// Until one fd is ready or `timeout` passed.
///
/// # Errors
/// `Err(Io(EBADF))` for a closed fd (also one closed during the wait);
/// [`Error::InvalidArgument`] for a negative timeout;
/// [`Error::BlockingSwitchOut`] inside the hub.
pub fn select(
    rlist: &[RawFd],
    wlist: &[RawFd],
    _xlist: &[RawFd],
    timeout: Option<f64>,
) -> Result<(Vec<RawFd>, Vec<RawFd>, Vec<RawFd>)> {
    let timeout = timeout.map(checked_timeout).transpose()?;
    // One poll registration per fd, reading and/or writing.
    let poll = Poll::new();
    for &fd in rlist {
        poll.add(fd, POLLIN);
    }
    for &fd in wlist {
        poll.add(fd, POLLOUT);
    }
    let events = poll.poll(Some(timeout.map_or(-1.0, |t| t * 1000.0)))?;
    let closed = |fd: RawFd| {
        // SAFETY: F_GETFD on any integer is harmless.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        flags == -1
    };
    // POLLNVAL, or a fd closed while we waited (its watcher may have fired
    // as ready): EBADF, as gevent's real select reports it.
    if events
        .iter()
        .any(|&(fd, ev)| ev & POLLNVAL != 0 || closed(fd))
    {
        return Err(std::io::Error::from_raw_os_error(libc::EBADF).into());
    }
    let ready = |list: &[RawFd], want: i16| -> Vec<RawFd> {
        let mut out: Vec<RawFd> = list
            .iter()
            .copied()
            .filter(|fd| {
                events
                    .iter()
                    .any(|&(f, ev)| f == *fd && ev & (want | POLLERR | POLLHUP) != 0)
            })
            .collect();
        out.dedup();
        out
    };
    Ok((ready(rlist, POLLIN), ready(wlist, POLLOUT), Vec::new()))
}

/// `poll(2)` event bits, as `select.POLLIN` & co.
pub use libc::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI};

/// gevent's `select.poll()` object: fds registered with an event mask,
/// then waited for together.
///
/// ```
/// use gevent::select::{POLLIN, Poll};
/// use gevent::socket::socketpair;
///
/// let (a, b) = socketpair()?;
/// let poll = Poll::new();
/// poll.register(a.fileno(), POLLIN);
/// assert!(poll.poll(Some(10.0))?.is_empty());
/// b.sendall(b"x")?;
/// assert_eq!(poll.poll(None)?, vec![(a.fileno(), POLLIN)]);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Default)]
pub struct Poll {
    /// Registered fds in registration order, with their masks.
    fds: RefCell<Vec<(RawFd, i16)>>,
}

impl Poll {
    /// An empty poll object.
    pub fn new() -> Poll {
        Poll::default()
    }

    /// Watches `fd` for the events of `eventmask` (`POLLIN`, `POLLPRI`,
    /// `POLLOUT`); registering again changes the mask.
    pub fn register(&self, fd: RawFd, eventmask: i16) {
        let mut fds = self.fds.borrow_mut();
        match fds.iter_mut().find(|(f, _)| *f == fd) {
            Some(e) => e.1 = eventmask,
            None => fds.push((fd, eventmask)),
        }
    }

    /// Adds `events` to `fd`'s mask (registering it if needed).
    fn add(&self, fd: RawFd, events: i16) {
        let mut fds = self.fds.borrow_mut();
        match fds.iter_mut().find(|(f, _)| *f == fd) {
            Some(e) => e.1 |= events,
            None => fds.push((fd, events)),
        }
    }

    /// The same as [`register`](Self::register) (gevent's `modify`).
    pub fn modify(&self, fd: RawFd, eventmask: i16) {
        self.register(fd, eventmask)
    }

    /// Stops watching `fd`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `fd` was never registered (Python's
    /// `KeyError`).
    pub fn unregister(&self, fd: RawFd) -> Result<()> {
        let mut fds = self.fds.borrow_mut();
        let Some(i) = fds.iter().position(|(f, _)| *f == fd) else {
            return Err(Error::invalid(format!("fd {fd} is not registered")));
        };
        fds.remove(i);
        Ok(())
    }

    /// Waits until a registered fd has an event, or `timeout_ms`
    /// milliseconds passed (`None` or negative: no limit); the `(fd,
    /// revents)` pairs, empty on timeout. A closed fd is reported as
    /// `POLLNVAL`, as by `poll(2)`.
    ///
    /// # Blocking
    /// Until an event or the timeout.
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] inside the hub; whatever is thrown
    /// into the caller while it waits.
    pub fn poll(&self, timeout_ms: Option<f64>) -> Result<Vec<(RawFd, i16)>> {
        let timeout = timeout_ms.filter(|t| *t >= 0.0).map(|t| t / 1000.0);
        let hub = get_hub();
        hub.ensure_can_block()?;
        let fds = self.fds.borrow().clone();
        // A real zero-timeout poll first: ready fds and closed ones
        // (POLLNVAL) without any watcher.
        let mut pfds: Vec<libc::pollfd> = fds
            .iter()
            .map(|&(fd, events)| libc::pollfd {
                fd,
                events,
                revents: 0,
            })
            .collect();
        // SAFETY: `pfds` is a valid array of its length.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e.into());
            }
        }
        let ready: Vec<(RawFd, i16)> = pfds
            .iter()
            .filter(|p| p.revents != 0)
            .map(|p| (p.fd, p.revents))
            .collect();
        if !ready.is_empty() || timeout == Some(0.0) {
            crate::sleep(0.0)?;
            return Ok(ready);
        }
        if fds.is_empty() {
            if let Some(t) = timeout {
                crate::sleep(t)?;
            }
            return Ok(Vec::new());
        }
        let fired: Rc<RefCell<HashMap<RawFd, i16>>> = Rc::default();
        let event = Event::new();
        let lp = hub.loop_();
        /// Closes the watchers however `poll` ends (each callback holds
        /// its watcher, a cycle only `close` breaks).
        struct Closing(Vec<crate::core::Io>);
        impl Drop for Closing {
            fn drop(&mut self) {
                for w in &self.0 {
                    w.close();
                }
            }
        }
        let mut watchers = Closing(Vec::with_capacity(fds.len()));
        let mut closing = Vec::with_capacity(fds.len());
        for &(fd, mask) in &fds {
            let mut events = 0;
            if mask & (POLLIN | POLLPRI) != 0 {
                events |= ev::EV_READ;
            }
            if mask & POLLOUT != 0 {
                events |= ev::EV_WRITE;
            }
            if events == 0 {
                continue;
            }
            let w = lp.io(fd, events)?;
            w.set_priority(ev::EV_MAXPRI)?;
            let (f, e, me) = (fired.clone(), event.clone(), w.clone());
            let started = w.start(move || {
                let got = me.revents();
                let mut revents = 0;
                if got & ev::EV_READ != 0 {
                    revents |= POLLIN;
                }
                if got & ev::EV_WRITE != 0 {
                    revents |= POLLOUT;
                }
                if got & ev::EV_ERROR != 0 {
                    revents |= POLLNVAL;
                }
                *f.borrow_mut().entry(fd).or_insert(0) |= revents & (mask | POLLNVAL);
                e.set();
            });
            watchers.0.push(w.clone());
            started?;
            // A socket closed on this fd meanwhile reports it as closed.
            let (f, e, me) = (fired.clone(), event.clone(), w.clone());
            closing.push(crate::socket::watch_close(
                fd,
                Rc::new(move || {
                    me.stop();
                    *f.borrow_mut().entry(fd).or_insert(0) |= POLLNVAL;
                    e.set();
                }),
            ));
        }
        let waited = match timeout {
            Some(t) => event.wait_timeout(t),
            None => event.wait(),
        };
        drop(closing);
        drop(watchers);
        waited?;
        let fired = fired.borrow();
        Ok(fds
            .iter()
            .filter_map(|&(fd, _)| fired.get(&fd).map(|&r| (fd, r)))
            .filter(|(_, r)| *r != 0)
            .collect())
    }
}
