//! Rust-shaped sockets with std's names — [`TcpListener`], [`TcpStream`],
//! [`UdpSocket`], [`UnixListener`], [`UnixStream`] — over the cooperative
//! [`Socket`], for code ported from `std::net` rather than from Python.
//!
//! ```
//! use std::io::{Read, Write};
//! use gevent::socket::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = gevent::spawn(move || -> gevent::Result<Vec<u8>> {
//!     let (mut conn, _) = listener.accept()?;
//!     let mut buf = Vec::new();
//!     conn.read_to_end(&mut buf)?;
//!     Ok(buf)
//! });
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"ping")?;
//! drop(client);
//! assert_eq!(server.get()?, b"ping");
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! Besides std's per-call timeouts (`set_read_timeout`, ...) each
//! direction takes an absolute deadline (`set_read_deadline`, ...): once
//! it has passed, every call in that direction fails with
//! [`Error::Timeout`] — even one that would not have waited — until the
//! deadline is changed. Streams [`split`](TcpStream::split) into a
//! [`ReadHalf`] and a [`WriteHalf`] that two greenlets can use at once.
//! A timeout reaches `Read`/`Write` callers as
//! `io::ErrorKind::TimedOut`.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::RawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Address, READ, Socket, ToAddr, WRITE, socketpair};
use crate::error::{Error, Result};

/// The listen backlog of the wrappers' `bind` (gevent's server default).
const BACKLOG: i32 = 1024;

fn family_of(addr: &SocketAddr) -> i32 {
    if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    }
}

fn how(h: Shutdown) -> i32 {
    match h {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    }
}

/// std's rule: `Some(Duration::ZERO)` is refused.
fn secs(t: Option<Duration>) -> Result<Option<f64>> {
    match t {
        Some(d) if d.is_zero() => Err(Error::invalid("cannot set a 0 duration timeout")),
        t => Ok(t.map(|d| d.as_secs_f64())),
    }
}

/// What every connected-or-bound wrapper (the streams, `UdpSocket`)
/// shares: the socket, its addresses, timeouts, deadlines, non-blocking
/// mode.
macro_rules! socket_common {
    ($ty:ident, $addr:ty, $conv:path) => {
        impl $ty {
            /// The socket underneath, for gevent-style calls.
            pub fn socket(&self) -> &Socket {
                &self.0
            }

            /// The local address.
            ///
            /// # Errors
            /// [`Error::Io`] once closed.
            pub fn local_addr(&self) -> Result<$addr> {
                $conv(self.0.local_address()?)
            }

            /// The peer's address.
            ///
            /// # Errors
            /// [`Error::Io`] (`ENOTCONN`).
            pub fn peer_addr(&self) -> Result<$addr> {
                $conv(self.0.peer_address()?)
            }

            /// The longest a read waits (`None`: no limit).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] for a zero duration, as std.
            pub fn set_read_timeout(&self, t: Option<Duration>) -> Result<()> {
                self.0.set_timeout_of(READ, secs(t)?);
                Ok(())
            }

            /// The longest a write waits (`None`: no limit).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] for a zero duration, as std.
            pub fn set_write_timeout(&self, t: Option<Duration>) -> Result<()> {
                self.0.set_timeout_of(WRITE, secs(t)?);
                Ok(())
            }

            /// The read timeout.
            pub fn read_timeout(&self) -> Option<Duration> {
                self.0.timeout_of(READ).map(Duration::from_secs_f64)
            }

            /// The write timeout.
            pub fn write_timeout(&self) -> Option<Duration> {
                self.0.timeout_of(WRITE).map(Duration::from_secs_f64)
            }

            /// Reads fail with [`Error::Timeout`] from `deadline` on.
            pub fn set_read_deadline(&self, deadline: Option<Instant>) {
                self.0.set_deadline_of(READ, deadline);
            }

            /// Writes fail with [`Error::Timeout`] from `deadline` on.
            pub fn set_write_deadline(&self, deadline: Option<Instant>) {
                self.0.set_deadline_of(WRITE, deadline);
            }

            /// Both deadlines at once.
            pub fn set_deadline(&self, deadline: Option<Instant>) {
                self.set_read_deadline(deadline);
                self.set_write_deadline(deadline);
            }

            /// Non-blocking mode: a call that would wait returns
            /// `Err(Io(EAGAIN))` (`io::ErrorKind::WouldBlock`).
            pub fn set_nonblocking(&self, on: bool) {
                self.0.setblocking(!on);
            }
        }
    };
}

/// What both stream types add: shutdown, clones and halves, `Read`/`Write`.
macro_rules! stream_common {
    ($ty:ident, $addr:ty, $conv:path) => {
        socket_common!($ty, $addr, $conv);

        impl $ty {
            /// Shuts down reading, writing or both, waking the greenlets
            /// waiting in that direction.
            ///
            /// # Errors
            /// [`Error::Io`] (`ENOTCONN`).
            pub fn shutdown(&self, h: Shutdown) -> Result<()> {
                self.0.shutdown(how(h))
            }

            /// Another handle to the same stream (std duplicates the fd;
            /// here both handles share one socket, so `shutdown` and the
            /// timeouts apply to both).
            pub fn try_clone(&self) -> Result<$ty> {
                Ok($ty(self.0.clone()))
            }

            /// The halves for one reading and one writing greenlet.
            pub fn split(&self) -> (ReadHalf, WriteHalf) {
                (ReadHalf(self.0.clone()), WriteHalf(self.0.clone()))
            }

            /// The fd.
            pub fn as_raw_fd(&self) -> RawFd {
                self.0.fileno()
            }
        }

        impl io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                (&self.0).read(buf)
            }
        }

        impl io::Read for &$ty {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                (&self.0).read(buf)
            }
        }

        impl io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (&self.0).write(buf)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl io::Write for &$ty {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (&self.0).write(buf)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl From<$ty> for Socket {
            fn from(s: $ty) -> Socket {
                s.0
            }
        }
    };
}

fn inet(a: Address) -> Result<SocketAddr> {
    a.to_addr()
}

fn any(a: Address) -> Result<Address> {
    Ok(a)
}

/// A TCP stream (std's `TcpStream`, cooperative).
#[derive(Debug)]
pub struct TcpStream(Socket);

stream_common!(TcpStream, SocketAddr, inet);

impl TcpStream {
    /// Connects to `addr` (resolving a name cooperatively).
    ///
    /// # Errors
    /// [`Error::Io`] (`ECONNREFUSED`, ...); a resolution error.
    pub fn connect(addr: impl ToAddr) -> Result<TcpStream> {
        let addr = addr.to_addr()?;
        let s = Socket::new(family_of(&addr), libc::SOCK_STREAM)?;
        s.settimeout(None::<f64>)?;
        s.connect(addr)?;
        Ok(TcpStream(s))
    }

    /// Connects within `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`]; as [`connect`](Self::connect).
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> Result<TcpStream> {
        let s = Socket::new(family_of(addr), libc::SOCK_STREAM)?;
        s.settimeout(secs(Some(timeout))?)?;
        s.connect(*addr)?;
        s.settimeout(None::<f64>)?;
        Ok(TcpStream(s))
    }

    /// `TCP_NODELAY`.
    ///
    /// # Errors
    /// [`Error::Io`] from `setsockopt(2)`.
    pub fn set_nodelay(&self, on: bool) -> Result<()> {
        self.0
            .setsockopt(libc::IPPROTO_TCP, libc::TCP_NODELAY, i32::from(on))
    }

    /// Whether `TCP_NODELAY` is on.
    ///
    /// # Errors
    /// [`Error::Io`] from `getsockopt(2)`.
    pub fn nodelay(&self) -> Result<bool> {
        Ok(self.0.getsockopt(libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0)
    }
}

impl TryFrom<Socket> for TcpStream {
    type Error = Error;

    /// A connected (or to be connected) TCP socket as a stream.
    fn try_from(s: Socket) -> Result<TcpStream> {
        match (s.family(), s.type_()) {
            (libc::AF_INET | libc::AF_INET6, libc::SOCK_STREAM) => Ok(TcpStream(s)),
            _ => Err(Error::invalid("not a TCP socket")),
        }
    }
}

/// A Unix-domain stream (std's `UnixStream`, cooperative).
#[derive(Debug)]
pub struct UnixStream(Socket);

stream_common!(UnixStream, Address, any);

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] (`ENOENT`, `ECONNREFUSED`); [`Error::InvalidArgument`]
    /// for a path too long for `sun_path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<UnixStream> {
        let s = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        s.settimeout(None::<f64>)?;
        s.connect(path.as_ref())?;
        Ok(UnixStream(s))
    }

    /// Connects to `addr` (a path or an abstract name).
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn connect_addr(addr: &Address) -> Result<UnixStream> {
        let s = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        s.settimeout(None::<f64>)?;
        s.connect(addr)?;
        Ok(UnixStream(s))
    }

    /// A connected pair (`socketpair`).
    ///
    /// # Errors
    /// [`Error::Io`] from `socketpair(2)`.
    pub fn pair() -> Result<(UnixStream, UnixStream)> {
        let (a, b) = socketpair()?;
        a.settimeout(None::<f64>)?;
        b.settimeout(None::<f64>)?;
        Ok((UnixStream(a), UnixStream(b)))
    }
}

/// The reading half of a stream ([`TcpStream::split`]).
#[derive(Debug)]
pub struct ReadHalf(Socket);

/// The writing half of a stream ([`TcpStream::split`]).
#[derive(Debug)]
pub struct WriteHalf(Socket);

impl ReadHalf {
    /// The socket underneath.
    pub fn socket(&self) -> &Socket {
        &self.0
    }
}

impl WriteHalf {
    /// The socket underneath.
    pub fn socket(&self) -> &Socket {
        &self.0
    }

    /// Shuts the writing direction (the peer reads end of stream).
    ///
    /// # Errors
    /// [`Error::Io`] (`ENOTCONN`).
    pub fn shutdown(&self) -> Result<()> {
        self.0.shutdown(libc::SHUT_WR)
    }
}

impl io::Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.0).read(buf)
    }
}

impl io::Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What both listener types share: `accept`, `incoming`, the address,
/// the deadline, non-blocking mode.
macro_rules! listener_common {
    ($ty:ident, $stream:ident, $addr:ty, $conv:path, $incoming:ident) => {
        impl $ty {
            /// Waits for a connection.
            ///
            /// # Errors
            /// [`Error::Timeout`] past the deadline; [`Error::Io`]
            /// (`EBADF` when closed meanwhile, `EMFILE`).
            pub fn accept(&self) -> Result<($stream, $addr)> {
                let (s, peer) = self.0.accept_address()?;
                s.settimeout(None::<f64>)?;
                Ok(($stream(s), $conv(peer)?))
            }

            /// The connections, one `accept` per item (never `None`).
            pub fn incoming(&self) -> $incoming<'_> {
                $incoming(self)
            }

            /// The bound address (the real port after binding port 0).
            ///
            /// # Errors
            /// [`Error::Io`] once closed.
            pub fn local_addr(&self) -> Result<$addr> {
                $conv(self.0.local_address()?)
            }

            /// `accept` fails with [`Error::Timeout`] from `deadline` on.
            pub fn set_deadline(&self, deadline: Option<Instant>) {
                self.0.set_deadline_of(READ, deadline);
            }

            /// Non-blocking mode: `accept` returns `Err(Io(EAGAIN))`
            /// instead of waiting.
            pub fn set_nonblocking(&self, on: bool) {
                self.0.setblocking(!on);
            }

            /// The socket underneath.
            pub fn socket(&self) -> &Socket {
                &self.0
            }
        }

        #[doc = concat!("[`", stringify!($ty), "::incoming`].")]
        #[derive(Debug)]
        pub struct $incoming<'a>(&'a $ty);

        impl Iterator for $incoming<'_> {
            type Item = Result<$stream>;

            fn next(&mut self) -> Option<Result<$stream>> {
                Some(self.0.accept().map(|(s, _)| s))
            }
        }
    };
}

/// A blocking-mode socket of `family` bound to `addr` and listening.
fn listener(family: i32, addr: &Address, reuse_addr: bool) -> Result<Socket> {
    let s = Socket::new(family, libc::SOCK_STREAM)?;
    s.settimeout(None::<f64>)?;
    if reuse_addr {
        s.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    }
    s.bind(addr)?;
    s.listen(BACKLOG)?;
    Ok(s)
}

/// A TCP listener (std's `TcpListener`, cooperative). `bind` sets
/// `SO_REUSEADDR`, as std does on Unix.
#[derive(Debug)]
pub struct TcpListener(Socket);

listener_common!(TcpListener, TcpStream, SocketAddr, inet, Incoming);

impl TcpListener {
    /// Binds and listens.
    ///
    /// # Errors
    /// [`Error::Io`] (`EADDRINUSE`, ...); a resolution error.
    pub fn bind(addr: impl ToAddr) -> Result<TcpListener> {
        let addr = addr.to_addr()?;
        let s = listener(family_of(&addr), &Address::Inet(addr), true)?;
        Ok(TcpListener(s))
    }
}

/// A Unix-domain listener (std's `UnixListener`, cooperative). The
/// socket file is not removed on drop (as std).
#[derive(Debug)]
pub struct UnixListener(Socket);

listener_common!(UnixListener, UnixStream, Address, any, UnixIncoming);

impl UnixListener {
    /// Binds to `path` and listens.
    ///
    /// # Errors
    /// [`Error::Io`] (`EADDRINUSE` if the file exists);
    /// [`Error::InvalidArgument`] for a path too long for `sun_path`.
    pub fn bind(path: impl AsRef<Path>) -> Result<UnixListener> {
        UnixListener::bind_addr(&Address::Unix(path.as_ref().to_path_buf()))
    }

    /// Binds to `addr` (a path or an abstract name) and listens.
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub fn bind_addr(addr: &Address) -> Result<UnixListener> {
        Ok(UnixListener(listener(libc::AF_UNIX, addr, false)?))
    }
}

/// A UDP socket (std's `UdpSocket`, cooperative).
#[derive(Debug)]
pub struct UdpSocket(Socket);

socket_common!(UdpSocket, SocketAddr, inet);

impl UdpSocket {
    /// Binds to `addr`.
    ///
    /// # Errors
    /// [`Error::Io`] (`EADDRINUSE`, ...); a resolution error.
    pub fn bind(addr: impl ToAddr) -> Result<UdpSocket> {
        let addr = addr.to_addr()?;
        let s = Socket::new(family_of(&addr), libc::SOCK_DGRAM)?;
        s.settimeout(None::<f64>)?;
        s.bind(addr)?;
        Ok(UdpSocket(s))
    }

    /// Sets the default peer for `send`/`recv`.
    ///
    /// # Errors
    /// [`Error::Io`]; a resolution error.
    pub fn connect(&self, addr: impl ToAddr) -> Result<()> {
        self.0.connect(addr.to_addr()?)
    }

    /// Sends a datagram to `addr`.
    ///
    /// # Errors
    /// [`Error::Io`] (`EMSGSIZE` for an oversize datagram, ...).
    pub fn send_to(&self, buf: &[u8], addr: impl ToAddr) -> Result<usize> {
        self.0.sendto(buf, addr.to_addr()?)
    }

    /// Receives a datagram and its sender; a datagram longer than `buf`
    /// is cut to it, as std.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`].
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        let (n, from) = self.0.recvfrom_into(buf)?;
        let from = from.ok_or_else(|| Error::invalid("a datagram from a non-IP sender"))?;
        Ok((n, from))
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    /// [`Error::Io`] (`EDESTADDRREQ` if not connected).
    pub fn send(&self, buf: &[u8]) -> Result<usize> {
        self.0.send(buf)
    }

    /// Receives from the connected peer.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Io`] (`ECONNREFUSED` after an ICMP
    /// refusal).
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        self.0.recv_into(buf)
    }

    /// `SO_BROADCAST`.
    ///
    /// # Errors
    /// [`Error::Io`] from `setsockopt(2)`.
    pub fn set_broadcast(&self, on: bool) -> Result<()> {
        self.0
            .setsockopt(libc::SOL_SOCKET, libc::SO_BROADCAST, i32::from(on))
    }
}
