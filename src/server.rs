//! TCP servers (gevent's `gevent.server`): [`StreamServer`] accepts
//! connections and runs a handler for each in a greenlet of its own.
//!
//! ```
//! use gevent::server::StreamServer;
//! use gevent::socket::create_connection;
//!
//! let server = StreamServer::new("127.0.0.1:0", |sock, _addr| {
//!     let data = sock.recv(100)?;
//!     sock.sendall(&data) // the socket is closed when the handler returns
//! });
//! server.start()?;
//! let client = create_connection(server.address()?, Some(5.0))?;
//! client.sendall(b"echo")?;
//! assert_eq!(client.recv(100)?, b"echo");
//! server.stop(Some(1.0))?;
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! gevent's rules hold: the listener has `SO_REUSEADDR` and a backlog of
//! [`DEFAULT_BACKLOG`]; up to `max_accept` connections are accepted per
//! wake-up; `ECONNABORTED`, `EPROTO` and `EPERM` from `accept` are
//! ignored; other accept errors are reported and accepting resumes after a
//! delay that doubles from 10 ms to 1 s. On `EMFILE`/`ENFILE` the server
//! also closes a spare fd it keeps, accepts and closes the pending
//! connections (so their clients see a refusal instead of hanging) and
//! reopens the spare (libuv's trick). With a [`Pool`], accepting pauses
//! while the pool is full. [`stop`](StreamServer::stop) closes the
//! listener, then joins the handlers (with a pool) and kills those left.
//!
//! # One server per core
//! gevent uses several cores by forking processes; here a hub is
//! per-thread, so run one thread per core, each with its own hub and its
//! own server on the same port with [`StreamServer::set_reuse_port`]: the
//! kernel spreads the connections over the listeners (`SO_REUSEPORT`).
//!
//! ```
//! use gevent::server::StreamServer;
//!
//! // Claim a free port first (reuse_port lets the servers share it).
//! let probe = gevent::socket::Socket::new(libc::AF_INET, libc::SOCK_STREAM)?;
//! probe.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
//! probe.bind("127.0.0.1:0")?;
//! let port = probe.getsockname()?.unwrap().port();
//! let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
//! let workers: Vec<_> = (0..cores)
//!     .map(|_| {
//!         std::thread::spawn(move || -> gevent::Result<()> {
//!             let server = StreamServer::new(("127.0.0.1", port), |sock, _| sock.sendall(b"hi"));
//!             server.set_reuse_port(true);
//!             server.start()?;
//!             gevent::sleep(0.2)?; // serve_forever() in a real program
//!             server.stop(None)
//!         })
//!     })
//!     .collect();
//! # for w in workers { w.join().unwrap()?; }
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! # Differences from gevent
//! There is no SSL.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::greenlet::Greenlet;
use crate::hub::get_hub;
use crate::pool::Pool;
use crate::socket::{Address, Socket, ToAddr};

/// The listen backlog servers use unless told otherwise.
pub const DEFAULT_BACKLOG: i32 = 1024;
/// Connections accepted per wake-up unless told otherwise (gevent's
/// `max_accept`).
pub const DEFAULT_MAX_ACCEPT: usize = 100;
/// How long `stop(None)` waits for the handlers (gevent's
/// `stop_timeout`).
pub const STOP_TIMEOUT: f64 = 1.0;
const MIN_DELAY: f64 = 0.01;
const MAX_DELAY: f64 = 1.0;

type Handler = Rc<dyn Fn(Socket, Address) -> Result<()>>;

/// What both servers keep: the address asked for, the bound socket, the
/// greenlet accepting or receiving on it, the pool, and the event
/// `serve_forever` waits on.
struct Base {
    addr: Result<SocketAddr>,
    /// A socket given to serve on, bound already (gevent's
    /// `StreamServer(listener, ...)`), until `start` takes it.
    given: RefCell<Option<Socket>>,
    /// The address last bound (kept after `stop`, as gevent does).
    bound: Cell<Option<SocketAddr>>,
    pool: RefCell<Option<Pool>>,
    socket: RefCell<Option<Socket>>,
    worker: RefCell<Option<Greenlet<()>>>,
    stopped: RefCell<Option<Event>>,
}

impl Base {
    fn new(addr: Result<SocketAddr>) -> Base {
        Base {
            addr,
            given: RefCell::new(None),
            bound: Cell::new(None),
            pool: RefCell::new(None),
            socket: RefCell::new(None),
            worker: RefCell::new(None),
            stopped: RefCell::new(None),
        }
    }

    fn started(&self) -> bool {
        self.socket.borrow().is_some()
    }

    fn address(&self) -> Result<SocketAddr> {
        if let Some(s) = &*self.socket.borrow()
            && let Some(a) = s.getsockname()?
        {
            return Ok(a);
        }
        match self.bound.get() {
            Some(a) => Ok(a),
            None => self.addr.clone(),
        }
    }

    /// A socket of `ty` bound to the address, with `SO_REUSEADDR` (and
    /// `SO_REUSEPORT` when asked).
    fn bind(&self, ty: i32, reuse_port: bool) -> Result<Socket> {
        if let Some(s) = self.given.borrow_mut().take() {
            return Ok(s);
        }
        let addr = self.addr.clone()?;
        let family = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        let s = Socket::new(family, ty)?;
        s.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        if reuse_port {
            s.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
        }
        s.bind(addr)?;
        s.settimeout(None::<f64>)?;
        Ok(s)
    }

    /// Records the bound socket and the greenlet serving it.
    fn run(&self, s: Socket, worker: Greenlet<()>) {
        if let Ok(Some(a)) = s.getsockname() {
            self.bound.set(Some(a));
        }
        *self.socket.borrow_mut() = Some(s);
        *self.stopped.borrow_mut() = Some(Event::new());
        *self.worker.borrow_mut() = Some(worker);
    }

    /// Stops the worker, closes the socket, wakes `serve_forever`.
    fn close(&self) {
        if let Some(g) = self.worker.borrow_mut().take() {
            g.kill_nowait();
        }
        if let Some(s) = self.socket.borrow_mut().take() {
            s.close();
        }
        if let Some(ev) = &*self.stopped.borrow() {
            ev.set();
        }
    }

    /// Waits until `close`.
    fn wait_stopped(&self) -> Result<()> {
        let ev = self.stopped.borrow().clone();
        if let Some(ev) = ev {
            ev.wait()?;
        }
        Ok(())
    }
}

/// A TCP server (gevent's `StreamServer`). Cloning gives another handle to
/// the same server.
#[derive(Clone)]
pub struct StreamServer(Rc<Inner>);

struct Inner {
    base: Base,
    handler: Handler,
    backlog: Cell<i32>,
    reuse_port: Cell<bool>,
    max_accept: Cell<usize>,
    stop_timeout: Cell<f64>,
}

impl StreamServer {
    /// A server for `addr` running `handler(socket, peer)` for every
    /// connection, in a new greenlet; the socket is closed when the
    /// handler returns, and an `Err` it returns is reported by the hub.
    /// Nothing is bound until [`start`](Self::start).
    pub fn new<F>(addr: impl ToAddr, handler: F) -> StreamServer
    where
        F: Fn(Socket, SocketAddr) -> Result<()> + 'static,
    {
        let handler = move |sock, peer: Address| match peer {
            Address::Inet(peer) => handler(sock, peer),
            other => Err(Error::invalid(format!("an IP server got a {other} peer"))),
        };
        StreamServer::with_base(Base::new(addr.to_addr()), Rc::new(handler))
    }

    fn with_base(base: Base, handler: Handler) -> StreamServer {
        StreamServer(Rc::new(Inner {
            base,
            handler,
            backlog: Cell::new(DEFAULT_BACKLOG),
            reuse_port: Cell::new(false),
            max_accept: Cell::new(DEFAULT_MAX_ACCEPT),
            stop_timeout: Cell::new(STOP_TIMEOUT),
        }))
    }

    /// Runs handlers in `pool` (gevent's `spawn=Pool(n)`): accepting pauses
    /// while it is full.
    pub fn set_pool(&self, pool: Pool) -> &Self {
        *self.0.base.pool.borrow_mut() = Some(pool);
        self
    }

    /// A server on a socket the caller made and bound (gevent's
    /// `StreamServer(listener, handle)`): any family, `AF_UNIX` too, so the
    /// peer is an [`Address`]. `start` listens on it unless it already
    /// listens.
    ///
    /// ```
    /// use gevent::server::StreamServer;
    /// use gevent::socket::{Socket, UnixStream};
    /// use std::io::{Read, Write};
    ///
    /// let path = std::env::temp_dir().join(format!("gevent-doc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
    /// listener.bind(path.as_path())?;
    /// let server = StreamServer::from_listener(listener, |sock, _peer| sock.sendall(b"hi"));
    /// server.start()?;
    /// let mut reply = String::new();
    /// UnixStream::connect(&path)?.read_to_string(&mut reply)?;
    /// assert_eq!(reply, "hi");
    /// server.stop(None)?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn from_listener<F>(listener: Socket, handler: F) -> StreamServer
    where
        F: Fn(Socket, Address) -> Result<()> + 'static,
    {
        let addr = match listener.local_address() {
            Ok(Address::Inet(a)) => Ok(a),
            Ok(other) => Err(Error::invalid(format!(
                "{other} is not an IP address; see local_address()"
            ))),
            Err(e) => Err(e),
        };
        let base = Base::new(addr);
        *base.given.borrow_mut() = Some(listener);
        StreamServer::with_base(base, Rc::new(handler))
    }

    /// The listener's address of any family (an `AF_UNIX` path, too).
    ///
    /// # Errors
    /// As [`address`](Self::address).
    pub fn local_address(&self) -> Result<Address> {
        let s = self.0.base.socket.borrow().clone();
        let given = self.0.base.given.borrow().clone();
        match s.or(given) {
            Some(s) => s.local_address(),
            None => self.address().map(Address::Inet),
        }
    }

    /// The listen backlog (before `start`).
    pub fn set_backlog(&self, backlog: i32) -> &Self {
        self.0.backlog.set(backlog);
        self
    }

    /// `SO_REUSEPORT` on the listener (before `start`): several servers,
    /// one per thread, can then share the port.
    pub fn set_reuse_port(&self, on: bool) -> &Self {
        self.0.reuse_port.set(on);
        self
    }

    /// Connections accepted per wake-up (gevent's `max_accept`).
    pub fn set_max_accept(&self, n: usize) -> &Self {
        self.0.max_accept.set(n.max(1));
        self
    }

    /// True between `start` and `stop`/`close`.
    pub fn started(&self) -> bool {
        self.0.base.started()
    }

    /// The bound address (the real port after binding port 0); before
    /// `start`, the address asked for.
    ///
    /// # Errors
    /// The address's own error (it did not parse or resolve); an
    /// [`Error::Io`] from `getsockname`.
    pub fn address(&self) -> Result<SocketAddr> {
        self.0.base.address()
    }

    /// The bound port (gevent's `server_port`).
    ///
    /// # Errors
    /// As [`address`](Self::address).
    pub fn server_port(&self) -> Result<u16> {
        Ok(self.address()?.port())
    }

    /// Binds, listens and starts accepting in the background (gevent's
    /// `start`). Starting a started server does nothing.
    ///
    /// # Errors
    /// [`Error::Io`] from `socket`/`bind`/`listen` (`EADDRINUSE`, ...);
    /// [`Error::InvalidArgument`] for a bad address.
    pub fn start(&self) -> Result<()> {
        if self.started() {
            return Ok(());
        }
        let l = self
            .0
            .base
            .bind(libc::SOCK_STREAM, self.0.reuse_port.get())?;
        if l.getsockopt(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? == 0 {
            l.listen(self.0.backlog.get())?;
        }
        l.settimeout(None::<f64>)?;
        let acceptor = self.spawn_acceptor(l.clone());
        self.0.base.run(l, acceptor);
        Ok(())
    }

    fn spawn_acceptor(&self, l: Socket) -> Greenlet<()> {
        let me = Rc::downgrade(&self.0);
        let g = Greenlet::spawn(move || accept_loop(&l, &me));
        g.set_name("StreamServer accept");
        g
    }

    /// Resumes accepting after [`stop_accepting`](Self::stop_accepting).
    pub fn start_accepting(&self) {
        let base = &self.0.base;
        let Some(l) = base.socket.borrow().clone() else {
            return;
        };
        if base.worker.borrow().as_ref().is_some_and(|g| !g.ready()) {
            return;
        }
        let g = self.spawn_acceptor(l);
        *base.worker.borrow_mut() = Some(g);
    }

    /// Stops accepting, keeping the listener open: connections wait in the
    /// backlog until [`start_accepting`](Self::start_accepting). With
    /// `stop_accepting`, joining the pool and `close`, a server drains
    /// gracefully.
    ///
    /// # Errors
    /// As [`Greenlet::kill`] (from inside the hub: `BlockingSwitchOut`).
    pub fn stop_accepting(&self) -> Result<()> {
        let g = self.0.base.worker.borrow_mut().take();
        match g {
            Some(g) => g.kill(),
            None => Ok(()),
        }
    }

    /// Closes the listener (pending connections are refused by the
    /// kernel); running handlers go on.
    pub fn close(&self) {
        self.0.base.close();
    }

    /// Stops the server (gevent's `stop`): closes the listener, then with a
    /// pool waits up to `timeout` for the handlers (`None`: the
    /// [`stop_timeout`](Self::set_stop_timeout), 1 s unless changed) and
    /// kills those left.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative timeout; whatever is
    /// thrown into the caller while it waits.
    pub fn stop(&self, timeout: Option<f64>) -> Result<()> {
        let t = crate::hub::checked_timeout(timeout.unwrap_or(self.0.stop_timeout.get()))?;
        self.close();
        let pool = self.0.base.pool.borrow().clone();
        if let Some(pool) = pool {
            pool.join_timeout(t)?;
            pool.kill_timeout(1.0)?;
        }
        Ok(())
    }

    /// How long [`stop`](Self::stop)`(None)` waits for the handlers
    /// (gevent's `stop_timeout`, [`STOP_TIMEOUT`] by default).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or NaN value.
    pub fn set_stop_timeout(&self, secs: f64) -> Result<&Self> {
        self.0.stop_timeout.set(crate::hub::checked_timeout(secs)?);
        Ok(self)
    }

    /// Starts the server and waits until it is stopped (gevent's
    /// `serve_forever`).
    ///
    /// # Errors
    /// As [`start`](Self::start); whatever is thrown into the caller.
    pub fn serve_forever(&self) -> Result<()> {
        self.start()?;
        self.0.base.wait_stopped()
    }
}

/// Runs the handler for one connection and closes the socket afterwards
/// (gevent's `_handle_and_close_when_done`).
fn handle(handler: &Handler, sock: Socket, peer: Address) -> Result<()> {
    let r = handler(sock.clone(), peer);
    sock.close();
    r
}

/// The accept loop, in a greenlet of its own; ends when the listener is
/// closed or the server dropped.
fn accept_loop(l: &Socket, server: &std::rc::Weak<Inner>) -> Result<()> {
    let mut delay = MIN_DELAY;
    let mut spare = Spare::open();
    loop {
        let Some(inner) = server.upgrade() else {
            return Ok(());
        };
        let (max_accept, handler, pool) = (
            inner.max_accept.get(),
            inner.handler.clone(),
            inner.base.pool.borrow().clone(),
        );
        drop(inner);
        // The first accept may wait; the rest of the batch does not.
        l.settimeout(None::<f64>)?;
        let mut accepted = 0;
        let mut failure = None;
        while accepted < max_accept {
            match l.accept_address() {
                Ok((sock, peer)) => {
                    accepted += 1;
                    delay = MIN_DELAY;
                    let h = handler.clone();
                    match &pool {
                        // Blocks while the pool is full: accepting pauses.
                        Some(p) => {
                            p.spawn(move || handle(&h, sock, peer))?;
                        }
                        None => {
                            Greenlet::spawn(move || handle(&h, sock, peer));
                        }
                    }
                    l.setblocking(false);
                }
                Err(Error::Io(e)) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(Error::Io(e))
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ECONNABORTED | libc::EPROTO | libc::EPERM | libc::EINTR)
                    ) => {}
                Err(Error::Io(e))
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK)
                    ) =>
                {
                    // Closed (stop) or unusable: the loop is over.
                    if l.closed() {
                        return Ok(());
                    }
                    return Err(Error::Io(e));
                }
                Err(Error::Io(e)) => {
                    failure = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = failure {
            let errno = e.raw_os_error();
            if matches!(errno, Some(libc::EMFILE | libc::ENFILE)) {
                spare.refuse_pending(l);
            }
            get_hub().handle_error(
                &format!("StreamServer accept (retrying in {delay}s)"),
                Error::Io(e),
            );
            crate::sleep(delay)?;
            delay = (delay * 2.0).min(MAX_DELAY);
        }
    }
}

/// A spare fd kept open so that, out of fds, the server can still accept
/// and close the pending connections (libuv's `uv__emfile_trick`).
struct Spare(Option<std::fs::File>);

impl Spare {
    fn open() -> Spare {
        Spare(std::fs::File::open("/dev/null").ok())
    }

    /// Frees the spare, accepts and closes what is pending, and takes the
    /// spare again.
    fn refuse_pending(&mut self, l: &Socket) {
        if self.0.take().is_none() {
            return;
        }
        l.setblocking(false);
        while let Ok((sock, _)) = l.accept_address() {
            sock.close();
        }
        *self = Spare::open();
    }
}

type DatagramHandler = Rc<dyn Fn(&DatagramServer, Vec<u8>, SocketAddr) -> Result<()>>;

/// The largest datagram [`DatagramServer`] receives (gevent's 8192); a
/// longer one is cut to this length.
pub const DATAGRAM_SIZE: usize = 8192;

/// A UDP server (gevent's `DatagramServer`): `handler(server, data, peer)`
/// runs in a new greenlet for every datagram (or in the pool, if set) and
/// replies with [`sendto`](Self::sendto). Cloning gives another handle.
///
/// ```
/// use gevent::server::DatagramServer;
/// use gevent::socket::Socket;
///
/// let server = DatagramServer::new("127.0.0.1:0", |srv, data, peer| {
///     srv.sendto(&data, peer).map(|_| ())
/// });
/// server.start()?;
/// let client = Socket::new(libc::AF_INET, libc::SOCK_DGRAM)?;
/// client.settimeout(Some(5.0))?;
/// client.sendto(b"ping", server.address()?)?;
/// assert_eq!(client.recvfrom(100)?.0, b"ping");
/// server.stop()?;
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct DatagramServer(Rc<DInner>);

struct DInner {
    base: Base,
    handler: DatagramHandler,
}

impl DatagramServer {
    /// A server for `addr`; nothing is bound until
    /// [`start`](Self::start).
    pub fn new<F>(addr: impl ToAddr, handler: F) -> DatagramServer
    where
        F: Fn(&DatagramServer, Vec<u8>, SocketAddr) -> Result<()> + 'static,
    {
        DatagramServer(Rc::new(DInner {
            base: Base::new(addr.to_addr()),
            handler: Rc::new(handler),
        }))
    }

    /// Runs handlers in `pool`: receiving pauses while it is full.
    pub fn set_pool(&self, pool: Pool) -> &Self {
        *self.0.base.pool.borrow_mut() = Some(pool);
        self
    }

    /// The server's socket, once started (gevent's `self.socket`).
    pub fn socket(&self) -> Option<Socket> {
        self.0.base.socket.borrow().clone()
    }

    /// True between `start` and `stop`.
    pub fn started(&self) -> bool {
        self.0.base.started()
    }

    /// The bound address.
    ///
    /// # Errors
    /// As [`StreamServer::address`].
    pub fn address(&self) -> Result<SocketAddr> {
        self.0.base.address()
    }

    /// Sends `data` to `addr` from the server's socket.
    ///
    /// # Errors
    /// `Err(Io(EBADF))` when not started; as [`Socket::sendto`].
    pub fn sendto(&self, data: &[u8], addr: impl ToAddr) -> Result<usize> {
        let s = self
            .socket()
            .ok_or_else(|| Error::Io(std::io::Error::from_raw_os_error(libc::EBADF).into()))?;
        s.sendto(data, addr)
    }

    /// Binds and starts receiving in the background.
    ///
    /// # Errors
    /// As [`StreamServer::start`].
    pub fn start(&self) -> Result<()> {
        if self.started() {
            return Ok(());
        }
        let s = self.0.base.bind(libc::SOCK_DGRAM, false)?;
        let me = Rc::downgrade(&self.0);
        let s2 = s.clone();
        let g = Greenlet::spawn(move || receive_loop(&s2, &me));
        g.set_name("DatagramServer receive");
        self.0.base.run(s, g);
        Ok(())
    }

    /// Stops receiving and closes the socket.
    ///
    /// # Errors
    /// None today; `Result` for symmetry with [`StreamServer::stop`].
    pub fn stop(&self) -> Result<()> {
        self.0.base.close();
        Ok(())
    }

    /// Starts and waits until stopped.
    ///
    /// # Errors
    /// As [`start`](Self::start); whatever is thrown into the caller.
    pub fn serve_forever(&self) -> Result<()> {
        self.start()?;
        self.0.base.wait_stopped()
    }
}

fn receive_loop(s: &Socket, server: &std::rc::Weak<DInner>) -> Result<()> {
    let mut buf = vec![0u8; DATAGRAM_SIZE];
    loop {
        let (n, peer) = match s.recvfrom_into(&mut buf) {
            Ok(r) => r,
            Err(Error::Io(e)) if s.closed() || e.raw_os_error() == Some(libc::EBADF) => {
                return Ok(());
            }
            // A datagram's error (an ICMP refusal of an earlier reply):
            // report it and go on receiving.
            Err(Error::Io(e)) => {
                get_hub().handle_error("DatagramServer receive", Error::Io(e));
                crate::sleep(MIN_DELAY)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(inner) = server.upgrade() else {
            return Ok(());
        };
        let Some(peer) = peer else { continue };
        let (handler, pool) = (inner.handler.clone(), inner.base.pool.borrow().clone());
        let srv = DatagramServer(inner);
        let data = buf[..n].to_vec();
        match pool {
            Some(p) => {
                p.spawn(move || handler(&srv, data, peer))?;
            }
            None => {
                Greenlet::spawn(move || handler(&srv, data, peer));
            }
        }
    }
}
