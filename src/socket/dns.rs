//! Name resolution without blocking the loop (gevent's resolver and the
//! `getaddrinfo` family of `gevent.socket`).
//!
//! Numeric addresses are answered at once, without a lookup. Anything
//! else goes to the thread's [`Resolver`]: by default [`ThreadResolver`],
//! which runs the C library's `getaddrinfo`/`getnameinfo` on the hub's
//! thread pool, so the calling greenlet waits and the loop goes on. A
//! lookup given a timeout returns `Err(Timeout)` when it passes; the late
//! answer is dropped when it arrives. [`set_resolver`] plugs in another
//! resolver.
//!
//! Failures are [`GaiError`]s (gevent's `socket.gaierror`), inside
//! [`Error::Custom`]: `err.downcast_ref::<GaiError>()`.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use super::sys;
use crate::error::{Error, Result};
use crate::hub::get_hub;

/// gevent's `socket.gaierror`: a lookup failed with the C library's
/// `EAI_*` `code` (for example `libc::EAI_NONAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaiError {
    /// The `EAI_*` code.
    pub code: i32,
    /// `gai_strerror`'s text.
    pub message: String,
}

impl std::fmt::Display for GaiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[Errno {}] {}", self.code, self.message)
    }
}

impl std::error::Error for GaiError {}

fn gai(code_msg: (i32, String)) -> Error {
    Error::custom(GaiError {
        code: code_msg.0,
        message: code_msg.1,
    })
}

/// One answer of [`getaddrinfo`] (gevent's 5-tuple).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// `libc::AF_INET` or `AF_INET6`.
    pub family: i32,
    /// `libc::SOCK_STREAM`, `SOCK_DGRAM`, ...
    pub socktype: i32,
    /// The protocol number.
    pub protocol: i32,
    /// The canonical name (with `AI_CANONNAME`), else empty.
    pub canonname: String,
    /// The address.
    pub addr: SocketAddr,
}

/// What a lookup asks for (the arguments of gevent's `getaddrinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The host: a name or a numeric address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// `libc::AF_UNSPEC` (0) for any.
    pub family: i32,
    /// 0 for any.
    pub socktype: i32,
    /// 0 for any.
    pub protocol: i32,
    /// `libc::AI_*` flags.
    pub flags: i32,
}

/// A name resolver. It is called in a greenlet and may block it
/// cooperatively; it must not block the thread.
pub trait Resolver {
    /// Answers `query`, within `timeout` if given.
    ///
    /// # Errors
    /// A [`GaiError`]; [`Error::Timeout`] when `timeout` passed.
    fn getaddrinfo(&self, query: &Query, timeout: Option<f64>) -> Result<Vec<AddrInfo>>;

    /// The host and service names of `addr` (`libc::NI_*` flags).
    ///
    /// # Errors
    /// As [`getaddrinfo`](Self::getaddrinfo).
    fn getnameinfo(
        &self,
        addr: SocketAddr,
        flags: i32,
        timeout: Option<f64>,
    ) -> Result<(String, String)>;
}

/// The default resolver: the C library's functions on the hub's thread
/// pool (gevent's `resolver_thread`).
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadResolver;

impl Resolver for ThreadResolver {
    fn getaddrinfo(&self, query: &Query, timeout: Option<f64>) -> Result<Vec<AddrInfo>> {
        let q = query.clone();
        let pool = get_hub().threadpool()?;
        let r = pool.spawn(move || {
            let port = q.port.to_string();
            sys::getaddrinfo(
                Some(&q.host),
                Some(&port),
                q.family,
                q.socktype,
                q.protocol,
                q.flags,
            )
            .map(|v| {
                v.into_iter()
                    .filter_map(|a| {
                        Some(AddrInfo {
                            family: a.family,
                            socktype: a.socktype,
                            protocol: a.protocol,
                            canonname: a.canonname.unwrap_or_default(),
                            addr: a.addr?,
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })?;
        let answer = match timeout {
            Some(t) => r.get_timeout(t)?,
            None => r.get()?,
        };
        answer.map_err(gai)
    }

    fn getnameinfo(
        &self,
        addr: SocketAddr,
        flags: i32,
        timeout: Option<f64>,
    ) -> Result<(String, String)> {
        let pool = get_hub().threadpool()?;
        let r = pool.spawn(move || sys::getnameinfo(&addr, flags))?;
        let answer = match timeout {
            Some(t) => r.get_timeout(t)?,
            None => r.get()?,
        };
        answer.map_err(gai)
    }
}

thread_local! {
    static RESOLVER: RefCell<Option<Rc<dyn Resolver>>> = const { RefCell::new(None) };
}

/// Makes `resolver` this thread's resolver.
pub fn set_resolver(resolver: impl Resolver + 'static) {
    RESOLVER.with(|r| *r.borrow_mut() = Some(Rc::new(resolver)));
}

fn resolver() -> Rc<dyn Resolver> {
    RESOLVER.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| Rc::new(ThreadResolver))
            .clone()
    })
}

/// Answers for a numeric host without a lookup; `None` for a name (or a
/// family the literal does not match, left to the resolver's rules).
fn numeric(q: &Query) -> Option<Vec<AddrInfo>> {
    let ip: IpAddr = q.host.parse().ok()?;
    let family = if ip.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    if q.family != libc::AF_UNSPEC && q.family != family {
        return None;
    }
    let kinds: &[(i32, i32)] = match q.socktype {
        0 => &[
            (libc::SOCK_STREAM, libc::IPPROTO_TCP),
            (libc::SOCK_DGRAM, libc::IPPROTO_UDP),
        ],
        libc::SOCK_STREAM => &[(libc::SOCK_STREAM, libc::IPPROTO_TCP)],
        libc::SOCK_DGRAM => &[(libc::SOCK_DGRAM, libc::IPPROTO_UDP)],
        _ => return None,
    };
    Some(
        kinds
            .iter()
            .map(|&(socktype, protocol)| AddrInfo {
                family,
                socktype,
                protocol: if q.protocol != 0 {
                    q.protocol
                } else {
                    protocol
                },
                canonname: String::new(),
                addr: SocketAddr::new(ip, q.port),
            })
            .collect(),
    )
}

/// gevent's `getaddrinfo(host, port, family, type, proto, flags)`.
///
/// # Blocking
/// The calling greenlet, while the lookup runs on the thread pool.
///
/// # Errors
/// A [`GaiError`]; [`Error::BlockingSwitchOut`] inside the hub.
pub fn getaddrinfo(
    host: &str,
    port: u16,
    family: i32,
    socktype: i32,
    protocol: i32,
    flags: i32,
) -> Result<Vec<AddrInfo>> {
    getaddrinfo_timeout(host, port, family, socktype, protocol, flags, None)
}

/// [`getaddrinfo`] giving up after `timeout` with [`Error::Timeout`] (the
/// late answer is dropped).
///
/// # Errors
/// As [`getaddrinfo`], and the timeout.
#[allow(clippy::too_many_arguments)]
pub fn getaddrinfo_timeout(
    host: &str,
    port: u16,
    family: i32,
    socktype: i32,
    protocol: i32,
    flags: i32,
    timeout: Option<f64>,
) -> Result<Vec<AddrInfo>> {
    let q = Query {
        host: host.to_string(),
        port,
        family,
        socktype,
        protocol,
        flags,
    };
    if let Some(v) = numeric(&q) {
        return Ok(v);
    }
    resolver().getaddrinfo(&q, timeout)
}

/// The first stream-socket address of `host` in `family`.
fn first_addr(host: &str, port: u16, family: i32) -> Result<SocketAddr> {
    getaddrinfo(host, port, family, libc::SOCK_STREAM, 0, 0)?
        .into_iter()
        .next()
        .map(|a| a.addr)
        .ok_or_else(|| gai((libc::EAI_NONAME, "no address".into())))
}

/// The first address of `host` for stream sockets (what `connect` to a
/// name uses).
///
/// # Errors
/// As [`getaddrinfo`]; a [`GaiError`] `EAI_NONAME` when nothing came back.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    first_addr(host, port, libc::AF_UNSPEC)
}

/// gevent's `gethostbyname`: the first IPv4 address of `host`, as text.
///
/// # Errors
/// As [`getaddrinfo`].
pub fn gethostbyname(host: &str) -> Result<String> {
    first_addr(host, 0, libc::AF_INET).map(|a| a.ip().to_string())
}

/// gevent's `gethostbyname_ex`: `(canonical name, aliases, IPv4
/// addresses)`.
///
/// # Errors
/// As [`getaddrinfo`].
pub fn gethostbyname_ex(host: &str) -> Result<(String, Vec<String>, Vec<String>)> {
    let v = getaddrinfo(
        host,
        0,
        libc::AF_INET,
        libc::SOCK_STREAM,
        0,
        libc::AI_CANONNAME,
    )?;
    let canon = v
        .iter()
        .find(|a| !a.canonname.is_empty())
        .map_or_else(|| host.to_string(), |a| a.canonname.clone());
    let mut ips: Vec<String> = Vec::new();
    for a in &v {
        let ip = a.addr.ip().to_string();
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok((canon, Vec::new(), ips))
}

/// gevent's `getnameinfo((host, port), flags)`: `(host, service)`.
///
/// # Errors
/// As [`getaddrinfo`].
pub fn getnameinfo(addr: SocketAddr, flags: i32) -> Result<(String, String)> {
    resolver().getnameinfo(addr, flags, None)
}

/// gevent's `gethostbyaddr(ip_address)`: `(host name, aliases,
/// addresses)` for an address (a name is looked up first), through the
/// resolver's `getnameinfo` with `NI_NAMEREQD`.
///
/// ```
/// let (name, _aliases, ips) = gevent::socket::gethostbyaddr("127.0.0.1")?;
/// assert!(!name.is_empty());
/// assert_eq!(ips, ["127.0.0.1"]);
/// # Ok::<(), gevent::Error>(())
/// ```
///
/// # Errors
/// A [`GaiError`] when the address has no name (Python's `herror`), or as
/// [`getaddrinfo`] for a name that does not resolve.
pub fn gethostbyaddr(ip_address: &str) -> Result<(String, Vec<String>, Vec<String>)> {
    let addr = match ip_address.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, 0),
        Err(_) => resolve(ip_address, 0)?,
    };
    let (host, _) = getnameinfo(addr, libc::NI_NAMEREQD)?;
    Ok((host, Vec::new(), vec![addr.ip().to_string()]))
}
