//! Socket addresses: [`ToAddr`] for what the calls take, [`Address`] for
//! what they report when the family may be `AF_UNIX`.

use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::resolve;
use super::sys::SockAddr;
use crate::error::{Error, Result};

/// A socket address of any family this module speaks: what
/// [`Socket::local_address`](super::Socket::local_address),
/// [`peer_address`](super::Socket::peer_address) and
/// [`accept_address`](super::Socket::accept_address) report.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address.
    Inet(SocketAddr),
    /// An `AF_UNIX` socket bound to a filesystem path.
    Unix(PathBuf),
    /// An `AF_UNIX` socket in Linux's abstract namespace (the name without
    /// its leading NUL byte).
    Abstract(Vec<u8>),
    /// An `AF_UNIX` socket with no name (a client that did not bind, one
    /// end of a `socketpair`). Python reports it as `''`.
    Unnamed,
}

impl Address {
    /// The IP address, if it is one.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            Address::Inet(a) => Some(*a),
            _ => None,
        }
    }

    /// The filesystem path of an `AF_UNIX` address, if it has one.
    pub fn as_pathname(&self) -> Option<&Path> {
        match self {
            Address::Unix(p) => Some(p),
            _ => None,
        }
    }

    /// The address family (`libc::AF_INET`, `AF_INET6` or `AF_UNIX`).
    pub fn family(&self) -> i32 {
        match self {
            Address::Inet(SocketAddr::V4(_)) => libc::AF_INET,
            Address::Inet(SocketAddr::V6(_)) => libc::AF_INET6,
            _ => libc::AF_UNIX,
        }
    }

    pub(crate) fn to_raw(&self) -> Result<SockAddr> {
        Ok(match self {
            Address::Inet(a) => SockAddr::from_std(a),
            Address::Unix(p) => SockAddr::unix(p.as_os_str().as_bytes(), false)
                .map_err(|e| Error::invalid(format!("{}: {e}", p.display())))?,
            Address::Abstract(name) => {
                SockAddr::unix(name, true).map_err(|e| Error::invalid(e.to_string()))?
            }
            Address::Unnamed => {
                return Err(Error::invalid("an unnamed AF_UNIX address cannot be used"));
            }
        })
    }

    pub(crate) fn from_raw(raw: &SockAddr) -> Address {
        if let Some(a) = raw.to_std() {
            return Address::Inet(a);
        }
        match raw.unix_name() {
            Some((name, true)) => Address::Abstract(name.to_vec()),
            Some((name, false)) if !name.is_empty() => {
                Address::Unix(PathBuf::from(OsStr::from_bytes(name)))
            }
            _ => Address::Unnamed,
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Inet(a) => a.fmt(f),
            Address::Unix(p) => p.display().fmt(f),
            Address::Abstract(n) => write!(f, "@{}", String::from_utf8_lossy(n)),
            Address::Unnamed => f.write_str("(unnamed)"),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Address {
        Address::Inet(a)
    }
}

/// Something that names one socket address: [`SocketAddr`] (and its V4/V6
/// forms), `"host:port"` strings, `(host, port)` pairs, and for `AF_UNIX`
/// sockets a [`Path`] or an [`Address`]. A numeric host is used as it is;
/// a name is looked up with [`resolve`] (cooperatively, on the thread
/// pool), and its first address is taken. On an `AF_UNIX` socket a string
/// is a path, as in Python.
pub trait ToAddr {
    /// The address as an IP address.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a string without a port or a path; a
    /// [`GaiError`](super::GaiError) when a name does not resolve.
    fn to_addr(&self) -> Result<SocketAddr>;

    /// The address for a socket of `family`.
    ///
    /// # Errors
    /// As [`to_addr`](Self::to_addr).
    fn to_address(&self, family: i32) -> Result<Address> {
        let _ = family;
        Ok(Address::Inet(self.to_addr()?))
    }
}

impl ToAddr for SocketAddr {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok(*self)
    }
}

impl ToAddr for SocketAddrV4 {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok((*self).into())
    }
}

impl ToAddr for SocketAddrV6 {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok((*self).into())
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
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match special_host(host) {
            Some(ip) => Ok(SocketAddr::new(ip, port)),
            None => resolve(host, port),
        }
    }

    fn to_address(&self, family: i32) -> Result<Address> {
        if family == libc::AF_UNIX {
            Path::new(self).to_address(family)
        } else {
            Ok(Address::Inet(self.to_addr()?))
        }
    }
}

impl ToAddr for String {
    fn to_addr(&self) -> Result<SocketAddr> {
        self.as_str().to_addr()
    }

    fn to_address(&self, family: i32) -> Result<Address> {
        self.as_str().to_address(family)
    }
}

impl ToAddr for (IpAddr, u16) {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok(SocketAddr::new(self.0, self.1))
    }
}

impl ToAddr for (Ipv4Addr, u16) {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok(SocketAddr::new(self.0.into(), self.1))
    }
}

impl ToAddr for (Ipv6Addr, u16) {
    fn to_addr(&self) -> Result<SocketAddr> {
        Ok(SocketAddr::new(self.0.into(), self.1))
    }
}

/// Python's special host strings: `''` is `INADDR_ANY`, `'<broadcast>'`
/// is `INADDR_BROADCAST`.
fn special_host(host: &str) -> Option<IpAddr> {
    match host {
        "" => Some(Ipv4Addr::UNSPECIFIED.into()),
        "<broadcast>" => Some(Ipv4Addr::BROADCAST.into()),
        _ => host.parse().ok(),
    }
}

impl ToAddr for (&str, u16) {
    /// A numeric host (or Python's `""` for any address, `"<broadcast>"`)
    /// is used as it is; a name is resolved.
    fn to_addr(&self) -> Result<SocketAddr> {
        match special_host(self.0) {
            Some(ip) => Ok(SocketAddr::new(ip, self.1)),
            None => resolve(self.0, self.1),
        }
    }
}

impl ToAddr for (String, u16) {
    fn to_addr(&self) -> Result<SocketAddr> {
        (self.0.as_str(), self.1).to_addr()
    }
}

impl ToAddr for Path {
    fn to_addr(&self) -> Result<SocketAddr> {
        Err(Error::invalid(format!(
            "{} is a path, not an IP address",
            self.display()
        )))
    }

    fn to_address(&self, family: i32) -> Result<Address> {
        if family != libc::AF_UNIX {
            return self.to_addr().map(Address::Inet);
        }
        Ok(Address::Unix(self.to_path_buf()))
    }
}

impl ToAddr for PathBuf {
    fn to_addr(&self) -> Result<SocketAddr> {
        self.as_path().to_addr()
    }

    fn to_address(&self, family: i32) -> Result<Address> {
        self.as_path().to_address(family)
    }
}

impl ToAddr for Address {
    fn to_addr(&self) -> Result<SocketAddr> {
        self.as_inet()
            .ok_or_else(|| Error::invalid(format!("{self} is not an IP address")))
    }

    fn to_address(&self, _family: i32) -> Result<Address> {
        Ok(self.clone())
    }
}

impl<A: ToAddr + ?Sized> ToAddr for &A {
    fn to_addr(&self) -> Result<SocketAddr> {
        (**self).to_addr()
    }

    fn to_address(&self, family: i32) -> Result<Address> {
        (**self).to_address(family)
    }
}
