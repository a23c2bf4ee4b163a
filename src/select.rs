//! Waiting for several file descriptors at once (gevent's
//! `gevent.select`): [`select`] with gevent's semantics.
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
use std::os::fd::RawFd;
use std::rc::Rc;

use crate::error::Result;
use crate::event::Event;
use crate::hub::{checked_timeout, get_hub};
use crate::libev as ev;

/// The fds of `rlist` ready to read and of `wlist` ready to write, now,
/// with `poll(2)`; `EBADF` for a closed fd.
fn ready_now(rlist: &[RawFd], wlist: &[RawFd]) -> Result<(Vec<RawFd>, Vec<RawFd>)> {
    let mut fds: Vec<libc::pollfd> = rlist
        .iter()
        .map(|&fd| (fd, libc::POLLIN))
        .chain(wlist.iter().map(|&fd| (fd, libc::POLLOUT)))
        .map(|(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `fds` is a valid array of its length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
        if n >= 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e.into());
        }
    }
    if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        return Err(std::io::Error::from_raw_os_error(libc::EBADF).into());
    }
    let (rpart, wpart) = fds.split_at(rlist.len());
    let hit = |p: &libc::pollfd, want: libc::c_short| {
        p.revents & (want | libc::POLLERR | libc::POLLHUP) != 0
    };
    Ok((
        rpart
            .iter()
            .filter(|p| hit(p, libc::POLLIN))
            .map(|p| p.fd)
            .collect(),
        wpart
            .iter()
            .filter(|p| hit(p, libc::POLLOUT))
            .map(|p| p.fd)
            .collect(),
    ))
}

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
    let hub = get_hub();
    hub.ensure_can_block()?;
    let (r, w) = ready_now(rlist, wlist)?;
    if !r.is_empty() || !w.is_empty() || timeout == Some(0.0) {
        crate::sleep(0.0)?;
        return Ok((r, w, Vec::new()));
    }
    if rlist.is_empty() && wlist.is_empty() {
        if let Some(t) = timeout {
            crate::sleep(t)?;
        }
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let fired: Rc<RefCell<(Vec<RawFd>, Vec<RawFd>)>> = Rc::default();
    let event = Event::new();
    let lp = hub.loop_();
    let mut watchers = Vec::with_capacity(rlist.len() + wlist.len());
    for (fds, events, read) in [(rlist, ev::EV_READ, true), (wlist, ev::EV_WRITE, false)] {
        for &fd in fds {
            let w = lp.io(fd, events)?;
            w.set_priority(ev::EV_MAXPRI)?;
            let (f, e) = (fired.clone(), event.clone());
            w.start(move || {
                let mut f = f.borrow_mut();
                if read {
                    f.0.push(fd);
                } else {
                    f.1.push(fd);
                }
                e.set();
            })?;
            watchers.push(w);
        }
    }
    let waited = match timeout {
        Some(t) => event.wait_timeout(t),
        None => event.wait(),
    };
    for w in &watchers {
        w.stop();
    }
    waited?;
    let (mut r, mut w) = std::mem::take(&mut *fired.borrow_mut());
    r.sort_unstable();
    r.dedup();
    w.sort_unstable();
    w.dedup();
    // A fd closed while we waited: its watcher may have fired as ready.
    if r.iter().chain(&w).any(|&fd| {
        // SAFETY: F_GETFD on any integer is harmless.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        flags == -1
    }) {
        return Err(std::io::Error::from_raw_os_error(libc::EBADF).into());
    }
    Ok((r, w, Vec::new()))
}
