//! Cooperative sockets (gevent's `gevent.socket`): code that looks
//! blocking, running in greenlets.
//!
//! ```
//! use gevent::socket::{Socket, socketpair};
//!
//! let (a, b) = socketpair()?;
//! let reader = gevent::spawn(move || b.recv(5));
//! a.sendall(b"hello")?;
//! assert_eq!(reader.get()?, b"hello");
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! A [`Socket`]'s fd is non-blocking at the OS level. Every operation
//! tries its syscall first and waits only when it would block: the
//! greenlet parks on one of the socket's two io watchers (read and write,
//! each made once with the socket, so a wait is only a start and a stop
//! and libev issues no `epoll_ctl` in steady state) and the hub runs the
//! others meanwhile.
//!
//! * **Timeouts** follow gevent: `recv`, `recv_into`, `recvfrom`, `accept`
//!   and `send` time out per wait; `connect` and `sendall` within a total
//!   deadline. A timed-out call returns [`Error::Timeout`] (gevent's
//!   `socket.timeout('timed out')`). `settimeout(Some(0.0))` makes the
//!   socket non-blocking: a call that would block returns
//!   `Err(Io(EAGAIN))`. New sockets take [`getdefaulttimeout`].
//! * **Closing** from another greenlet wakes every greenlet blocked on the
//!   socket with `Err(Io(EBADF))`; the socket's watchers are stopped
//!   (dropping any pending event) before the fd is closed, so a socket
//!   that reuses the fd number never sees a stale event.
//! * **One waiter per direction**: a second greenlet that waits to read
//!   (or write) while one already does gets
//!   [`Error::ConcurrentObjectUse`].
//! * **Speed**: after a short read (fewer bytes than asked for) the
//!   receive buffer is known to be empty, so the next `recv` waits before
//!   it calls, saving the `EAGAIN` round trip (tokio's trick; safe with
//!   libev's level-triggered backends). `sendall` makes no `getsockopt`.
//! * **Fairness**: a greenlet whose operations keep completing without
//!   waiting yields to the loop (through a poll) every
//!   [`BUDGET`] operations, so one busy connection cannot starve the
//!   others.
//!
//! # Differences from gevent
//! Addresses are [`std::net::SocketAddr`], `"host:port"` or
//! `(host, port)`; names are resolved on the hub's thread pool (see
//! [`getaddrinfo`]). The socket handle is `Clone` (a Python reference), so
//! another greenlet can `close` it.

mod addr;
mod dns;
mod net;
mod sys;

pub use addr::{Address, ToAddr};
pub use net::{
    Incoming, ReadHalf, TcpListener, TcpStream, UdpSocket, UnixIncoming, UnixListener, UnixStream,
    WriteHalf,
};

pub use dns::{
    AddrInfo, GaiError, Query, Resolver, ThreadResolver, getaddrinfo, getaddrinfo_timeout,
    gethostbyaddr, gethostbyname, gethostbyname_ex, getnameinfo, resolve, set_resolver,
};

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::core::Io;
use crate::error::{Error, Result, TimeoutError};
use crate::greenlet::raw::Msg;
use crate::hub::{Hub, Seconds, checked_timeout, get_hub, hub_switch};
use crate::libev as ev;

/// Operations a greenlet may complete in a row without waiting before it
/// yields to the loop (tokio's coop budget).
pub const BUDGET: u32 = 128;

/// `getdefaulttimeout()` as f64 bits; NaN bits stand for `None`.
static DEFAULT_TIMEOUT: AtomicU64 = AtomicU64::new(f64::NAN.to_bits());

/// The timeout new sockets get (gevent's `socket.getdefaulttimeout`):
/// `None`, block without limit, unless changed with
/// [`setdefaulttimeout`].
pub fn getdefaulttimeout() -> Option<f64> {
    let v = f64::from_bits(DEFAULT_TIMEOUT.load(Ordering::Relaxed));
    (!v.is_nan()).then_some(v)
}

/// Sets the timeout of sockets made from now on (process-wide, as in
/// Python).
///
/// # Errors
/// [`Error::InvalidArgument`] for a negative or NaN value.
pub fn setdefaulttimeout(timeout: Option<f64>) -> Result<()> {
    let bits = match timeout {
        None => f64::NAN.to_bits(),
        Some(t) => checked_timeout(t)?.to_bits(),
    };
    DEFAULT_TIMEOUT.store(bits, Ordering::Relaxed);
    Ok(())
}

/// gevent's `socket.timeout('timed out')` (its text is exactly that).
fn timed_out(_secs: Option<f64>) -> Error {
    Error::Timeout(TimeoutError {
        id: 0,
        seconds: None,
        message: None,
    })
}

fn ebadf() -> Error {
    io::Error::from_raw_os_error(libc::EBADF).into()
}

thread_local! {
    /// The greenlet (by address) that completed the last socket operation,
    /// and how many it completed in a row without waiting (see [`BUDGET`]).
    static STREAK: Cell<(usize, u32)> = const { Cell::new((0, 0)) };
}

/// The running greenlet's streak of operations that did not wait.
fn streak() -> u32 {
    let me = crate::greenlet::raw::current_ptr() as usize;
    let (who, n) = STREAK.with(|s| s.get());
    if who == me { n } else { 0 }
}

fn set_streak(n: u32) {
    let me = crate::greenlet::raw::current_ptr() as usize;
    STREAK.with(|s| s.set((me, n)));
}

/// A cooperative socket (gevent's `socket.socket`). Cloning gives another
/// handle to the same socket; the fd is closed by [`close`](Self::close)
/// or when the last handle is dropped.
#[derive(Clone)]
pub struct Socket(Rc<Inner>);

struct Inner {
    /// -1 once closed or detached.
    fd: Cell<RawFd>,
    family: i32,
    ty: i32,
    proto: Cell<i32>,
    /// The per-wait timeout of each direction ([`READ`], [`WRITE`]); gevent's
    /// single timeout is both.
    timeouts: [Cell<Option<f64>>; 2],
    /// An absolute deadline of each direction (the Rust-shaped wrappers').
    deadlines: [Cell<Option<Instant>>; 2],
    /// The io watcher of each direction.
    watchers: [Io; 2],
    hub: Hub,
    /// A short read emptied the receive buffer: the next read waits first.
    drained: Cell<bool>,
    /// Live [`SocketFile`]s: while there are any, `close` only marks the
    /// socket and the last file's drop closes it (Python's `_io_refs`).
    io_refs: Cell<usize>,
    /// `close` was called while files were open.
    close_pending: Cell<bool>,
}

/// A direction: an index into [`Inner`]'s per-direction arrays.
pub(crate) type Dir = usize;
pub(crate) const READ: Dir = 0;
pub(crate) const WRITE: Dir = 1;

/// Wakes the greenlet waiting on `w`, if any, with `Err(Io(EBADF))`
/// through the loop (gevent's `cancel_wait`); true if there was one.
fn cancel_wait(hub: &Hub, w: &Io) -> bool {
    let Some(token) = w.take_waiter() else {
        return false;
    };
    hub.loop_().run_callback_fn(Box::new(move || {
        if token.is_current() {
            hub_switch(&token.greenlet(), Msg::Throw(ebadf()));
        }
    }));
    true
}

/// A raw-fd wait's registration key and what wakes it.
type CloseHook = (u64, Rc<dyn Fn()>);

thread_local! {
    /// Cooperative waits on raw fds ([`wait_read`] & co., `select`, `poll`)
    /// by fd: closing a [`Socket`] on that fd runs their hooks, which wake
    /// them as the socket's own waiters are woken.
    static FD_WAITS: RefCell<HashMap<RawFd, Vec<CloseHook>>> = RefCell::new(HashMap::new());
    static NEXT_WAIT: Cell<u64> = const { Cell::new(0) };
}

/// A registration in [`FD_WAITS`], removed on drop.
pub(crate) struct FdWait {
    fd: RawFd,
    key: u64,
}

/// Registers `on_close` to run if a [`Socket`] on `fd` is closed while the
/// returned guard lives.
pub(crate) fn watch_close(fd: RawFd, on_close: Rc<dyn Fn()>) -> FdWait {
    let key = NEXT_WAIT.with(|n| {
        let k = n.get();
        n.set(k + 1);
        k
    });
    FD_WAITS.with(|m| m.borrow_mut().entry(fd).or_default().push((key, on_close)));
    FdWait { fd, key }
}

impl Drop for FdWait {
    fn drop(&mut self) {
        // The map is gone only during thread exit, when nothing waits.
        let _ = FD_WAITS.try_with(|m| {
            let mut m = m.borrow_mut();
            if let Some(v) = m.get_mut(&self.fd) {
                v.retain(|(k, _)| *k != self.key);
                if v.is_empty() {
                    m.remove(&self.fd);
                }
            }
        });
    }
}

/// Runs the close hooks of the raw-fd waits on `fd`; true if there were
/// any.
fn wake_fd_waits(fd: RawFd) -> bool {
    let hooks = FD_WAITS
        .try_with(|m| m.borrow_mut().remove(&fd))
        .ok()
        .flatten()
        .unwrap_or_default();
    for (_, hook) in &hooks {
        hook();
    }
    !hooks.is_empty()
}

/// An fd whose `close(2)` waits for the loop: it closes when dropped, in a
/// callback queued after the ones that wake the fd's waiters (or when the
/// hub drops its callbacks at destroy).
struct DeferredClose(RawFd);

impl Drop for DeferredClose {
    fn drop(&mut self) {
        sys::close(self.0);
    }
}

/// Closes a raw fd the way [`Socket::close`] does (the C API's
/// `gevent_close`): the raw-fd waits on it are woken with `EBADF`, and the
/// `close(2)` waits for the loop when one was.
pub(crate) fn close_fd(fd: RawFd) {
    let fd = DeferredClose(fd);
    if wake_fd_waits(fd.0)
        && let Some(hub) = crate::hub::get_hub_if_exists()
        && !hub.destroyed()
    {
        hub.loop_().run_callback_fn(Box::new(move || drop(fd)));
    }
}

impl Inner {
    /// Gives up the fd: waiters get EBADF, the watchers are stopped (with
    /// any pending event) and every later call fails with EBADF. `None`
    /// if already given up; otherwise the fd and whether a greenlet was
    /// still waiting on it (then its `close(2)` must wait for the loop).
    fn release(&self) -> Option<(RawFd, bool)> {
        let fd = self.fd.replace(-1);
        if fd < 0 {
            return None;
        }
        let mut waited = false;
        for w in &self.watchers {
            waited |= cancel_wait(&self.hub, w);
            w.stop();
        }
        waited |= wake_fd_waits(fd);
        Some((fd, waited))
    }

    /// Releases and closes the fd: at once, or, while a woken waiter has
    /// yet to run and stop its watcher, from a loop callback after it, so
    /// the fd number cannot be reused under a live watcher.
    fn close(&self) {
        let Some((fd, waited)) = self.release() else {
            return;
        };
        let fd = DeferredClose(fd);
        if waited && !self.hub.destroyed() {
            self.hub.loop_().run_callback_fn(Box::new(move || drop(fd)));
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl PartialEq for Socket {
    /// Identity: both handles name the same socket.
    fn eq(&self, other: &Socket) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<gevent socket fd={} family={} type={} timeout={:?}>",
            self.0.fd.get(),
            self.0.family,
            self.0.ty,
            self.gettimeout()
        )
    }
}

impl Socket {
    /// A new socket (gevent's `socket(family, type)`), with libc's
    /// constants: `libc::AF_INET`/`AF_INET6`/`AF_UNIX`,
    /// `libc::SOCK_STREAM`/`SOCK_DGRAM`.
    ///
    /// # Errors
    /// [`Error::Io`] from `socket(2)` (`EMFILE`, `EAFNOSUPPORT`, ...).
    pub fn new(family: i32, ty: i32) -> Result<Socket> {
        let fd = sys::socket(family, ty, 0)?;
        // The type without SOCK_NONBLOCK / SOCK_CLOEXEC, as Python reports it.
        Socket::with_fd(fd, family, ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC))
    }

    /// Takes ownership of an open socket fd (gevent's `socket(fileno=fd)`)
    /// and makes it non-blocking.
    ///
    /// # Errors
    /// [`Error::Io`] if `fd` is not an open socket (`ENOTSOCK`, `EBADF`);
    /// the fd is not closed then.
    pub fn from_fd(fd: RawFd) -> Result<Socket> {
        let ty = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)?;
        let family = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
        let proto = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL)?;
        sys::set_nonblocking(fd)?;
        let s = Socket::with_fd(fd, family, ty)?;
        s.0.proto.set(proto);
        Ok(s)
    }

    fn with_fd(fd: RawFd, family: i32, ty: i32) -> Result<Socket> {
        let hub = get_hub();
        let watchers = hub
            .loop_()
            .io(fd, ev::EV_READ)
            .and_then(|r| Ok([r, hub.loop_().io(fd, ev::EV_WRITE)?]));
        let watchers = match watchers {
            Ok(w) => w,
            Err(e) => {
                sys::close(fd);
                return Err(e);
            }
        };
        let timeout = getdefaulttimeout();
        Ok(Socket(Rc::new(Inner {
            fd: Cell::new(fd),
            family,
            ty,
            proto: Cell::new(0),
            timeouts: [Cell::new(timeout), Cell::new(timeout)],
            deadlines: [Cell::new(None), Cell::new(None)],
            watchers,
            hub,
            drained: Cell::new(false),
            io_refs: Cell::new(0),
            close_pending: Cell::new(false),
        })))
    }

    /// The fd, or `Err(Io(EBADF))` once closed.
    fn fd(&self) -> Result<RawFd> {
        match self.0.fd.get() {
            -1 => Err(ebadf()),
            fd => Ok(fd),
        }
    }

    /// The file descriptor (gevent's `fileno()`); -1 once closed.
    pub fn fileno(&self) -> RawFd {
        self.0.fd.get()
    }

    /// The address family (`libc::AF_*`).
    pub fn family(&self) -> i32 {
        self.0.family
    }

    /// The socket type (`libc::SOCK_*`).
    pub fn type_(&self) -> i32 {
        self.0.ty
    }

    /// The protocol as Python reports it: the one given at creation (0
    /// for [`Socket::new`], which lets the kernel choose), or the fd's
    /// `SO_PROTOCOL` for [`Socket::from_fd`].
    pub fn proto(&self) -> i32 {
        self.0.proto.get()
    }

    /// The timeout of each blocking call: `None` waits without limit,
    /// `Some(0.0)` never waits.
    pub fn gettimeout(&self) -> Option<f64> {
        self.0.timeouts[READ].get()
    }

    /// Sets the timeout (gevent's `settimeout`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or NaN value.
    pub fn settimeout(&self, timeout: Option<impl Seconds>) -> Result<()> {
        let t = match timeout {
            None => None,
            Some(s) => Some(checked_timeout(s)?),
        };
        self.set_timeout_of(READ, t);
        self.set_timeout_of(WRITE, t);
        Ok(())
    }

    /// `setblocking(true)` is `settimeout(None)`, `setblocking(false)` is
    /// `settimeout(Some(0.0))`.
    pub fn setblocking(&self, blocking: bool) {
        let t = if blocking { None } else { Some(0.0) };
        self.set_timeout_of(READ, t);
        self.set_timeout_of(WRITE, t);
    }

    pub(crate) fn timeout_of(&self, dir: Dir) -> Option<f64> {
        self.0.timeouts[dir].get()
    }

    pub(crate) fn set_timeout_of(&self, dir: Dir, t: Option<f64>) {
        self.0.timeouts[dir].set(t);
    }

    pub(crate) fn deadline_of(&self, dir: Dir) -> Option<Instant> {
        self.0.deadlines[dir].get()
    }

    pub(crate) fn set_deadline_of(&self, dir: Dir, d: Option<Instant>) {
        self.0.deadlines[dir].set(d);
    }

    /// Runs `op` until it does not return `EWOULDBLOCK`, waiting in `dir`
    /// between tries: at most the timeout per wait, and until `deadline`
    /// and the direction's own deadline.
    fn io<R>(
        &self,
        dir: Dir,
        deadline: Option<Instant>,
        mut op: impl FnMut(RawFd) -> io::Result<R>,
    ) -> Result<R> {
        if self.deadline_of(dir).is_some_and(|d| d <= Instant::now()) {
            return Err(timed_out(None));
        }
        // Yield before the syscall, never after it: an error from the yield
        // (a kill, a timeout) then loses no data already received or sent.
        self.yield_if_budget_spent()?;
        loop {
            let fd = self.fd()?;
            match op(fd) {
                Ok(r) => {
                    set_streak(streak() + 1);
                    return Ok(r);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(dir, deadline, e)?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits until the watcher of `dir` fires: `would_block` for a
    /// non-blocking socket, `Timeout` when the wait's time passed.
    fn wait(&self, dir: Dir, deadline: Option<Instant>, would_block: io::Error) -> Result<()> {
        let timeout = self.timeout_of(dir);
        if timeout == Some(0.0) {
            return Err(would_block.into());
        }
        let deadline = match (deadline, self.deadline_of(dir)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let secs = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now()).as_secs_f64();
                if left <= 0.0 {
                    return Err(timed_out(timeout));
                }
                Some(timeout.map_or(left, |t| t.min(left)))
            }
            None => timeout,
        };
        set_streak(0);
        if self.0.hub.wait_io(&self.0.watchers[dir], secs)? {
            Ok(())
        } else {
            Err(timed_out(timeout))
        }
    }

    /// After [`BUDGET`] operations in a row that did not wait, yield
    /// through the loop's poll (a zero timer fires only after the poll), so
    /// other ready sockets get their turn.
    fn yield_if_budget_spent(&self) -> Result<()> {
        if streak() < BUDGET || self.0.hub.ensure_can_block().is_err() {
            return Ok(());
        }
        set_streak(0);
        let t = self.0.hub.loop_().timer(0.0, 0.0)?;
        self.0.hub.wait(&t)
    }

    /// The deadline of the calls that have a total timeout in `dir`.
    fn deadline(&self, dir: Dir) -> Option<Instant> {
        self.timeout_of(dir)
            .filter(|t| *t > 0.0)
            .map(|t| Instant::now() + std::time::Duration::from_secs_f64(t))
    }

    /// Binds to `addr` (gevent's `bind`).
    ///
    /// # Errors
    /// [`Error::Io`] (`EADDRINUSE`, ...); [`Error::InvalidArgument`] for a
    /// non-numeric address.
    pub fn bind(&self, addr: impl ToAddr) -> Result<()> {
        let sa = addr.to_address(self.0.family)?.to_raw()?;
        Ok(sys::bind(self.fd()?, &sa)?)
    }

    /// Listens with `backlog` pending connections (gevent's `listen`).
    ///
    /// # Errors
    /// [`Error::Io`] from `listen(2)`.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        Ok(sys::listen(self.fd()?, backlog)?)
    }

    /// Accepts a connection, waiting for one (gevent's `accept`). The new
    /// socket has the default timeout.
    ///
    /// # Blocking
    /// Until a connection arrives, up to the timeout per wait.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`EBADF` when closed meanwhile,
    /// `EMFILE`, ...).
    pub fn accept(&self) -> Result<(Socket, SocketAddr)> {
        if !matches!(self.0.family, libc::AF_INET | libc::AF_INET6) {
            // Refused before accepting, so no connection is lost.
            return Err(Error::invalid(
                "accept() reports an IP peer; use accept_address() on an AF_UNIX socket",
            ));
        }
        let (s, peer) = self.accept_address()?;
        let peer = peer
            .as_inet()
            .ok_or_else(|| Error::invalid("accepted a non-IP peer"))?;
        Ok((s, peer))
    }

    /// [`accept`](Self::accept) for any family: the peer as an
    /// [`Address`] (`Address::Unnamed` for most `AF_UNIX` clients).
    ///
    /// # Errors
    /// As [`accept`](Self::accept).
    pub fn accept_address(&self) -> Result<(Socket, Address)> {
        let (fd, addr) = self.io(READ, None, sys::accept)?;
        let s = Socket::with_fd(fd, self.0.family, self.0.ty)?;
        Ok((s, Address::from_raw(&addr)))
    }

    /// Connects to `addr` (gevent's `connect`), within the timeout in
    /// total.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`ECONNREFUSED`, `EBADF`, ...).
    pub fn connect(&self, addr: impl ToAddr) -> Result<()> {
        let sa = addr.to_address(self.0.family)?.to_raw()?;
        let deadline = self.deadline(WRITE);
        let fd = self.fd()?;
        match sys::connect(fd, &sa) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EISCONN) => return Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINPROGRESS | libc::EALREADY | libc::EAGAIN | libc::EINTR)
                ) =>
            {
                self.wait(WRITE, deadline, e)?
            }
            Err(e) => return Err(e.into()),
        }
        match sys::getsockopt_int(self.fd()?, libc::SOL_SOCKET, libc::SO_ERROR)? {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno).into()),
        }
    }

    /// [`connect`](Self::connect) returning the error number instead
    /// (gevent's `connect_ex`): 0 on success, `EAGAIN` on timeout.
    ///
    /// # Errors
    /// Only for a non-numeric address.
    pub fn connect_ex(&self, addr: impl ToAddr) -> Result<i32> {
        let addr = addr.to_address(self.0.family)?;
        Ok(match self.connect(addr) {
            Ok(()) => 0,
            Err(Error::Io(e)) => e.raw_os_error().unwrap_or(libc::EIO),
            Err(Error::Timeout(_)) => libc::EAGAIN,
            Err(e) => return Err(e),
        })
    }

    /// Receives up to `n` bytes (gevent's `recv`); empty at end of stream.
    ///
    /// # Blocking
    /// Until data arrives, up to the timeout per wait.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`ECONNRESET`, `EBADF` when closed
    /// meanwhile, `EAGAIN` for a non-blocking socket).
    pub fn recv(&self, n: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        let got = self.recv_into(&mut buf)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Receives into `buf`; the number of bytes, 0 at end of stream.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn recv_into(&self, buf: &mut [u8]) -> Result<usize> {
        if self.0.drained.replace(false) && !buf.is_empty() && self.timeout_of(READ) != Some(0.0) {
            // The last read emptied the buffer: wait before calling.
            let would_block = io::Error::from(io::ErrorKind::WouldBlock);
            self.wait(READ, None, would_block)?;
        }
        let len = buf.len();
        let n = self.io(READ, None, |fd| sys::recv(fd, buf, 0))?;
        if n > 0 && n < len && self.0.ty == libc::SOCK_STREAM {
            self.0.drained.set(true);
        }
        Ok(n)
    }

    /// Receives a datagram of up to `n` bytes and its sender (gevent's
    /// `recvfrom`).
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn recvfrom(&self, n: usize) -> Result<(Vec<u8>, Option<SocketAddr>)> {
        let mut buf = vec![0u8; n];
        let (got, from) = self.recvfrom_into(&mut buf)?;
        buf.truncate(got);
        Ok((buf, from))
    }

    /// Receives a datagram into `buf`; its length and sender.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn recvfrom_into(&self, buf: &mut [u8]) -> Result<(usize, Option<SocketAddr>)> {
        let (n, addr) = self.io(READ, None, |fd| sys::recvfrom(fd, buf, 0))?;
        Ok((n, addr.to_std()))
    }

    /// Sends what the kernel takes of `data`, waiting (once per wait's
    /// timeout) if it takes nothing yet (gevent's `send`); the number of
    /// bytes sent.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`EPIPE`, `ECONNRESET`, `EBADF`).
    pub fn send(&self, data: &[u8]) -> Result<usize> {
        self.io(WRITE, None, |fd| sys::send(fd, data, 0))
    }

    /// Sends all of `data` (gevent's `sendall`), within the timeout in
    /// total. On an error, some of the data may have been sent.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn sendall(&self, data: &[u8]) -> Result<()> {
        let deadline = self.deadline(WRITE);
        let mut sent = 0;
        while sent < data.len() {
            sent += self.io(WRITE, deadline, |fd| sys::send(fd, &data[sent..], 0))?;
        }
        Ok(())
    }

    /// Sends a datagram to `addr` (gevent's `sendto`).
    ///
    /// # Errors
    /// As [`send`](Self::send); [`Error::InvalidArgument`] for a
    /// non-numeric address.
    pub fn sendto(&self, data: &[u8], addr: impl ToAddr) -> Result<usize> {
        let sa = addr.to_address(self.0.family)?.to_raw()?;
        self.io(WRITE, None, |fd| sys::sendto(fd, data, 0, &sa))
    }

    /// Shuts down reading (`libc::SHUT_RD`), writing (`SHUT_WR`) or both
    /// (`SHUT_RDWR`), first waking the greenlets waiting in that direction
    /// with `EBADF` (gevent's `shutdown`).
    ///
    /// # Errors
    /// [`Error::Io`] (`ENOTCONN`, `EBADF`).
    pub fn shutdown(&self, how: i32) -> Result<()> {
        let fd = self.fd()?;
        if how != libc::SHUT_WR {
            cancel_wait(&self.0.hub, &self.0.watchers[READ]);
        }
        if how != libc::SHUT_RD {
            cancel_wait(&self.0.hub, &self.0.watchers[WRITE]);
        }
        Ok(sys::shutdown(fd, how)?)
    }

    /// Closes the socket (gevent's `close`): every greenlet blocked on it
    /// gets `Err(Io(EBADF))`, the watchers are stopped (with any pending
    /// event) before the fd is closed, and every later call fails with
    /// `EBADF`. Closing twice is harmless.
    ///
    /// While a [`SocketFile`] made by [`makefile`](Self::makefile) lives,
    /// the socket stays open, as in Python: the close happens when the
    /// last file is dropped.
    pub fn close(&self) {
        if self.0.io_refs.get() > 0 {
            // Python's rule: files made from the socket keep it open.
            self.0.close_pending.set(true);
            return;
        }
        self.0.close()
    }

    /// True once closed or detached.
    pub fn closed(&self) -> bool {
        self.0.fd.get() < 0
    }

    /// Gives up the fd without closing it (gevent's `detach`); the socket
    /// is closed afterwards.
    ///
    /// # Errors
    /// `Err(Io(EBADF))` if already closed.
    pub fn into_raw_fd(self) -> Result<RawFd> {
        match self.0.release() {
            Some((fd, _)) => Ok(fd),
            None => Err(ebadf()),
        }
    }

    /// An integer socket option (gevent's `getsockopt(level, name)`).
    ///
    /// # Errors
    /// [`Error::Io`] from `getsockopt(2)`.
    pub fn getsockopt(&self, level: i32, name: i32) -> Result<i32> {
        Ok(sys::getsockopt_int(self.fd()?, level, name)?)
    }

    /// Sets an integer socket option (gevent's `setsockopt`).
    ///
    /// # Errors
    /// [`Error::Io`] from `setsockopt(2)`.
    pub fn setsockopt(&self, level: i32, name: i32, value: i32) -> Result<()> {
        Ok(sys::setsockopt_int(self.fd()?, level, name, value)?)
    }

    /// The local address; `None` for a non-IP family.
    ///
    /// # Errors
    /// [`Error::Io`] from `getsockname(2)`.
    pub fn getsockname(&self) -> Result<Option<SocketAddr>> {
        Ok(sys::getsockname(self.fd()?)?.to_std())
    }

    /// The peer's address; `None` for a non-IP family.
    ///
    /// # Errors
    /// [`Error::Io`] (`ENOTCONN`) from `getpeername(2)`.
    pub fn getpeername(&self) -> Result<Option<SocketAddr>> {
        Ok(sys::getpeername(self.fd()?)?.to_std())
    }

    /// The local address of any family (an `AF_UNIX` path, too).
    ///
    /// # Errors
    /// [`Error::Io`] from `getsockname(2)`.
    pub fn local_address(&self) -> Result<Address> {
        Ok(Address::from_raw(&sys::getsockname(self.fd()?)?))
    }

    /// The peer's address of any family.
    ///
    /// # Errors
    /// [`Error::Io`] (`ENOTCONN`) from `getpeername(2)`.
    pub fn peer_address(&self) -> Result<Address> {
        Ok(Address::from_raw(&sys::getpeername(self.fd()?)?))
    }
}

impl Socket {
    /// A buffered reader over the socket (gevent's `makefile('rb')`), for
    /// `read_line` / `read_until`; its reads block cooperatively like
    /// [`recv`](Self::recv). It is a [`SocketFile`]: it keeps the fd open
    /// after [`close`](Self::close) until it is dropped, as in Python.
    pub fn makefile(&self) -> io::BufReader<SocketFile> {
        io::BufReader::new(self.file())
    }

    /// A buffered writer over the socket (gevent's `makefile('wb')`);
    /// remember to `flush` it. A [`SocketFile`] like
    /// [`makefile`](Self::makefile)'s.
    pub fn makefile_writer(&self) -> io::BufWriter<SocketFile> {
        io::BufWriter::new(self.file())
    }

    /// An unbuffered [`SocketFile`] (gevent's `makefile('rwb',
    /// buffering=0)`).
    pub fn file(&self) -> SocketFile {
        let refs = &self.0.io_refs;
        refs.set(refs.get() + 1);
        SocketFile(self.clone())
    }

    /// Whether the socket's watchers keep the loop running while they wait
    /// (gevent's `socket.ref`); true unless changed.
    pub fn ref_(&self) -> bool {
        self.0.watchers[READ].ref_()
    }

    /// gevent's `socket.ref = value`: with `false`, a greenlet waiting on
    /// this socket does not keep [`Hub::join`] / `gevent::wait` from
    /// returning.
    pub fn set_ref(&self, value: bool) {
        for w in &self.0.watchers {
            w.set_ref(value);
        }
    }
}

/// A file over a socket ([`Socket::makefile`], Python's `SocketIO`):
/// reads and writes like the socket, and holds an I/O reference, so the
/// fd stays open after [`Socket::close`] until every file made from the
/// socket is dropped (Python's `_io_refs`).
pub struct SocketFile(Socket);

impl SocketFile {
    /// The socket underneath.
    pub fn socket(&self) -> &Socket {
        &self.0
    }
}

impl std::fmt::Debug for SocketFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SocketFile({:?})", self.0)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let inner = &self.0.0;
        let refs = inner.io_refs.get() - 1;
        inner.io_refs.set(refs);
        if refs == 0 && inner.close_pending.get() {
            inner.close();
        }
    }
}

impl io::Read for SocketFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.0).read(buf)
    }
}

impl io::Write for SocketFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for &Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_into(buf).map_err(to_io)
    }
}

impl io::Write for &Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf).map_err(to_io)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl io::Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The crate's error as an `io::Error` (for `Read`/`Write`): OS errors as
/// they are, a timeout as `TimedOut`, the rest as `Other` carrying it.
fn to_io(e: Error) -> io::Error {
    match e {
        Error::Io(io) => match io.raw_os_error() {
            Some(errno) => io::Error::from_raw_os_error(errno),
            None => std::sync::Arc::try_unwrap(io)
                .unwrap_or_else(|io| io::Error::new(io.kind(), io.to_string())),
        },
        Error::Timeout(_) => io::Error::new(io::ErrorKind::TimedOut, e),
        e => io::Error::other(e),
    }
}

/// A socket on a duplicate of `fd` (Python's `socket.fromfd`); `fd` stays
/// open and the caller's.
///
/// # Errors
/// [`Error::Io`] from `dup(2)`, or as [`Socket::from_fd`].
pub fn fromfd(fd: RawFd) -> Result<Socket> {
    // SAFETY: dup of any integer is harmless; the new fd is ours.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error().into());
    }
    Socket::from_fd(new).inspect_err(|_| sys::close(new))
}

/// A connected pair of stream sockets (gevent's `socketpair()`, `AF_UNIX`).
///
/// # Errors
/// [`Error::Io`] from `socketpair(2)`.
pub fn socketpair() -> Result<(Socket, Socket)> {
    let (a, b) = sys::socketpair(libc::AF_UNIX, libc::SOCK_STREAM)?;
    let sa = match Socket::with_fd(a, libc::AF_UNIX, libc::SOCK_STREAM) {
        Ok(s) => s,
        Err(e) => {
            sys::close(b);
            return Err(e);
        }
    };
    Ok((sa, Socket::with_fd(b, libc::AF_UNIX, libc::SOCK_STREAM)?))
}

/// Connects a new TCP socket to `addr` with `timeout` (gevent's
/// `create_connection`).
///
/// # Errors
/// As [`Socket::connect`].
pub fn create_connection(addr: impl ToAddr, timeout: Option<f64>) -> Result<Socket> {
    connect_new(addr.to_addr()?, timeout, None)
}

/// [`create_connection`] from a local `source_address` (gevent's third
/// argument): the socket is bound to it before connecting.
///
/// # Errors
/// As [`Socket::connect`]; [`Error::Io`] from `bind` (`EADDRINUSE`).
pub fn create_connection_from(
    addr: impl ToAddr,
    timeout: Option<f64>,
    source_address: impl ToAddr,
) -> Result<Socket> {
    connect_new(addr.to_addr()?, timeout, Some(source_address.to_addr()?))
}

fn connect_new(
    addr: SocketAddr,
    timeout: Option<f64>,
    source: Option<SocketAddr>,
) -> Result<Socket> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let s = Socket::new(family, libc::SOCK_STREAM)?;
    s.settimeout(timeout)?;
    if let Some(source) = source {
        s.bind(source)?;
    }
    s.connect(addr)?;
    Ok(s)
}

/// Waits until `fd` is readable (gevent's `wait_read`), at most `timeout`.
///
/// # Errors
/// [`Error::Timeout`]; [`Error::Io`] for a closed fd;
/// [`Error::BlockingSwitchOut`] inside the hub.
pub fn wait_read(fd: RawFd, timeout: Option<f64>) -> Result<()> {
    wait_fd(fd, ev::EV_READ, timeout)
}

/// Waits until `fd` is writable (gevent's `wait_write`).
///
/// # Errors
/// As [`wait_read`].
pub fn wait_write(fd: RawFd, timeout: Option<f64>) -> Result<()> {
    wait_fd(fd, ev::EV_WRITE, timeout)
}

/// Waits until `fd` is readable or writable (gevent's `wait_readwrite`).
///
/// # Errors
/// As [`wait_read`].
pub fn wait_readwrite(fd: RawFd, timeout: Option<f64>) -> Result<()> {
    wait_fd(fd, ev::EV_READ | ev::EV_WRITE, timeout)
}

fn wait_fd(fd: RawFd, events: i32, timeout: Option<f64>) -> Result<()> {
    let secs = timeout.map(checked_timeout).transpose()?;
    match wait_fd_events(&get_hub(), fd, events, secs)? {
        Some(_) => Ok(()),
        None => Err(timed_out(secs)),
    }
}

/// The one cooperative wait on a raw fd ([`wait_read`] & co., the C API's
/// `gevent_wait_fd`): an io watcher for `events`, woken with `EBADF` if a
/// [`Socket`] on `fd` is closed meanwhile. The events that fired, or
/// `None` when `secs` passed first.
pub(crate) fn wait_fd_events(
    hub: &Hub,
    fd: RawFd,
    events: i32,
    secs: Option<f64>,
) -> Result<Option<i32>> {
    let w = hub.loop_().io(fd, events)?;
    let on_close: Rc<dyn Fn()> = {
        let (hub, w) = (hub.clone(), w.clone());
        Rc::new(move || {
            cancel_wait(&hub, &w);
            w.stop();
        })
    };
    let _closing = watch_close(fd, on_close);
    if hub.wait_watcher(&w, secs)? {
        Ok(Some(w.revents() & events))
    } else {
        Ok(None)
    }
}
