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

mod dns;
mod sys;

pub use dns::{
    AddrInfo, GaiError, Query, Resolver, ThreadResolver, getaddrinfo, getaddrinfo_timeout,
    gethostbyname, gethostbyname_ex, getnameinfo, resolve, set_resolver,
};

use std::cell::Cell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Something that names one socket address: [`SocketAddr`],
/// `"host:port"` strings and `(host, port)` pairs. A numeric host is used
/// as it is; a name is looked up with [`resolve`] (cooperatively, on the
/// thread pool), and its first address is taken.
pub trait ToAddr {
    /// The address.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a string without a port; a
    /// [`GaiError`] when a name does not resolve.
    fn to_addr(&self) -> Result<SocketAddr>;
}

impl ToAddr for SocketAddr {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok(*self)
    }
}

impl ToAddr for str {
    fn to_addr(&self) -> Result<SocketAddr> {
        if let Ok(a) = self.parse() {
            return Ok(a);
        }
        let (host, port) = self
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| Error::invalid(format!("{self:?} is not host:port")))?;
        resolve(host.trim_start_matches('[').trim_end_matches(']'), port)
    }
}

impl ToAddr for String {
    fn to_addr(&self) -> Result<SocketAddr> {
        self.as_str().to_addr()
    }
}

impl ToAddr for (IpAddr, u16) {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok(SocketAddr::new(self.0, self.1))
    }
}

impl ToAddr for (&str, u16) {
    fn to_addr(&self) -> Result<SocketAddr> {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Ok(SocketAddr::new(ip, self.1)),
            Err(_) => resolve(self.0, self.1),
        }
    }
}

impl<A: ToAddr + ?Sized> ToAddr for &A {
    fn to_addr(&self) -> Result<SocketAddr> {
        (**self).to_addr()
    }
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
    timeout: Cell<Option<f64>>,
    read: Io,
    write: Io,
    hub: Hub,
    /// A short read emptied the receive buffer: the next read waits first.
    drained: Cell<bool>,
}

impl Inner {
    /// Wakes the greenlet waiting on `w`, if any, with `Err(Io(EBADF))`
    /// through the loop (gevent's `cancel_wait`).
    fn cancel_wait(&self, w: &Io) {
        if let Some(token) = w.take_waiter() {
            self.hub.loop_().run_callback_fn(Box::new(move || {
                if token.is_current() {
                    hub_switch(&token.greenlet(), Msg::Throw(ebadf()));
                }
            }));
        }
    }

    /// Gives up the fd: waiters get EBADF, the watchers are stopped (with
    /// any pending event) and every later call fails with EBADF. `None`
    /// if already given up.
    fn release(&self) -> Option<RawFd> {
        let fd = self.fd.replace(-1);
        if fd < 0 {
            return None;
        }
        self.cancel_wait(&self.read);
        self.cancel_wait(&self.write);
        self.read.stop();
        self.write.stop();
        Some(fd)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(fd) = self.release() {
            sys::close(fd);
        }
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
            self.0.timeout.get()
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
        Socket::with_fd(fd, family, ty)
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
        sys::set_nonblocking(fd)?;
        Socket::with_fd(fd, family, ty)
    }

    fn with_fd(fd: RawFd, family: i32, ty: i32) -> Result<Socket> {
        let hub = get_hub();
        let watchers = hub
            .loop_()
            .io(fd, ev::EV_READ)
            .and_then(|r| Ok((r, hub.loop_().io(fd, ev::EV_WRITE)?)));
        let (read, write) = match watchers {
            Ok(w) => w,
            Err(e) => {
                sys::close(fd);
                return Err(e);
            }
        };
        Ok(Socket(Rc::new(Inner {
            fd: Cell::new(fd),
            family,
            ty,
            timeout: Cell::new(getdefaulttimeout()),
            read,
            write,
            hub,
            drained: Cell::new(false),
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

    /// The timeout of each blocking call: `None` waits without limit,
    /// `Some(0.0)` never waits.
    pub fn gettimeout(&self) -> Option<f64> {
        self.0.timeout.get()
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
        self.0.timeout.set(t);
        Ok(())
    }

    /// `setblocking(true)` is `settimeout(None)`, `setblocking(false)` is
    /// `settimeout(Some(0.0))`.
    pub fn setblocking(&self, blocking: bool) {
        self.0.timeout.set(if blocking { None } else { Some(0.0) });
    }

    /// Runs `op` until it does not return `EWOULDBLOCK`, waiting on `w`
    /// between tries: at most `self.timeout` per wait, or until `deadline`.
    fn io<R>(
        &self,
        w: &Io,
        deadline: Option<std::time::Instant>,
        mut op: impl FnMut(RawFd) -> io::Result<R>,
    ) -> Result<R> {
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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(w, deadline, e)?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits until `w` fires: `would_block` for a non-blocking socket,
    /// `Timeout` when the wait's time passed.
    fn wait(
        &self,
        w: &Io,
        deadline: Option<std::time::Instant>,
        would_block: io::Error,
    ) -> Result<()> {
        let secs = match (deadline, self.0.timeout.get()) {
            (_, Some(0.0)) => return Err(would_block.into()),
            (Some(d), t) => {
                let left = d
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs_f64();
                if left <= 0.0 {
                    return Err(timed_out(t));
                }
                Some(left)
            }
            (None, t) => t,
        };
        set_streak(0);
        if self.0.hub.wait_watcher(w, secs, true)? {
            Ok(())
        } else {
            Err(timed_out(self.0.timeout.get()))
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

    /// Timeout deadline for the calls that have a total one.
    fn deadline(&self) -> Option<std::time::Instant> {
        self.0
            .timeout
            .get()
            .filter(|t| *t > 0.0)
            .map(|t| std::time::Instant::now() + std::time::Duration::from_secs_f64(t))
    }

    /// Binds to `addr` (gevent's `bind`).
    ///
    /// # Errors
    /// [`Error::Io`] (`EADDRINUSE`, ...); [`Error::InvalidArgument`] for a
    /// non-numeric address.
    pub fn bind(&self, addr: impl ToAddr) -> Result<()> {
        let sa = sys::SockAddr::from_std(&addr.to_addr()?);
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
        let (fd, addr) = self.io(&self.0.read, None, sys::accept)?;
        let s = Socket::with_fd(fd, self.0.family, self.0.ty)?;
        let peer = addr
            .to_std()
            .ok_or_else(|| Error::invalid("accepted a connection of a non-IP family"))?;
        Ok((s, peer))
    }

    /// Connects to `addr` (gevent's `connect`), within the timeout in
    /// total.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`ECONNREFUSED`, `EBADF`, ...).
    pub fn connect(&self, addr: impl ToAddr) -> Result<()> {
        let sa = sys::SockAddr::from_std(&addr.to_addr()?);
        let deadline = self.deadline();
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
                self.wait(&self.0.write, deadline, e)?
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
        let addr = addr.to_addr()?;
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
        if self.0.drained.replace(false) && !buf.is_empty() && self.0.timeout.get() != Some(0.0) {
            // The last read emptied the buffer: wait before calling.
            let would_block = io::Error::from(io::ErrorKind::WouldBlock);
            self.wait(&self.0.read, None, would_block)?;
        }
        let len = buf.len();
        let n = self.io(&self.0.read, None, |fd| sys::recv(fd, buf, 0))?;
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
        let (n, addr) = self.io(&self.0.read, None, |fd| sys::recvfrom(fd, buf, 0))?;
        Ok((n, addr.to_std()))
    }

    /// Sends what the kernel takes of `data`, waiting (once per wait's
    /// timeout) if it takes nothing yet (gevent's `send`); the number of
    /// bytes sent.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`EPIPE`, `ECONNRESET`, `EBADF`).
    pub fn send(&self, data: &[u8]) -> Result<usize> {
        self.io(&self.0.write, None, |fd| sys::send(fd, data, 0))
    }

    /// Sends all of `data` (gevent's `sendall`), within the timeout in
    /// total. On an error, some of the data may have been sent.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn sendall(&self, data: &[u8]) -> Result<()> {
        let deadline = self.deadline();
        let mut sent = 0;
        while sent < data.len() {
            sent += self.io(&self.0.write, deadline, |fd| {
                sys::send(fd, &data[sent..], 0)
            })?;
        }
        Ok(())
    }

    /// Sends a datagram to `addr` (gevent's `sendto`).
    ///
    /// # Errors
    /// As [`send`](Self::send); [`Error::InvalidArgument`] for a
    /// non-numeric address.
    pub fn sendto(&self, data: &[u8], addr: impl ToAddr) -> Result<usize> {
        let sa = sys::SockAddr::from_std(&addr.to_addr()?);
        self.io(&self.0.write, None, |fd| sys::sendto(fd, data, 0, &sa))
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
            self.0.cancel_wait(&self.0.read);
        }
        if how != libc::SHUT_RD {
            self.0.cancel_wait(&self.0.write);
        }
        Ok(sys::shutdown(fd, how)?)
    }

    /// Closes the socket (gevent's `close`): every greenlet blocked on it
    /// gets `Err(Io(EBADF))`, the watchers are stopped (with any pending
    /// event) before the fd is closed, and every later call fails with
    /// `EBADF`. Closing twice is harmless.
    pub fn close(&self) {
        if let Some(fd) = self.0.release() {
            sys::close(fd);
        }
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
        self.0.release().ok_or_else(ebadf)
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
}

impl Socket {
    /// A buffered reader over the socket (gevent's `makefile('rb')`), for
    /// `read_line` / `read_until`; its reads block cooperatively like
    /// [`recv`](Self::recv). The socket stays usable for writing.
    pub fn makefile(&self) -> io::BufReader<Socket> {
        io::BufReader::new(self.clone())
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
        Error::Io(io) => io::Error::new(io.kind(), io),
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
    let addr = addr.to_addr()?;
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let s = Socket::new(family, libc::SOCK_STREAM)?;
    s.settimeout(timeout)?;
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
    let hub = get_hub();
    let w = hub.loop_().io(fd, events)?;
    if hub.wait_watcher(&w, secs, false)? {
        Ok(())
    } else {
        Err(timed_out(secs))
    }
}
