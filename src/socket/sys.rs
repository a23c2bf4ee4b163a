//! The socket syscalls, each a thin safe wrapper returning `io::Result`
//! (the one place `gevent::socket` uses `unsafe`). Every fd made here is
//! non-blocking and close-on-exec from the start; sends never raise
//! `SIGPIPE` (`MSG_NOSIGNAL`).

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// A socket address in the kernel's form.
pub(crate) struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    fn empty() -> SockAddr {
        SockAddr {
            // SAFETY: sockaddr_storage is plain data; all zeroes is valid.
            storage: unsafe { MaybeUninit::zeroed().assume_init() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    pub(crate) fn from_std(addr: &SocketAddr) -> SockAddr {
        let mut s = SockAddr::empty();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*a.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // sockaddr_in.
                unsafe { std::ptr::write(&mut s.storage as *mut _ as *mut libc::sockaddr_in, sin) };
                s.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: as above, for sockaddr_in6.
                unsafe {
                    std::ptr::write(&mut s.storage as *mut _ as *mut libc::sockaddr_in6, sin6)
                };
                s.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        s
    }

    /// The address as std's, for the inet families.
    pub(crate) fn to_std(&self) -> Option<SocketAddr> {
        match self.storage.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in6) };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        &self.storage as *const _ as *const libc::sockaddr
    }

    fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        &mut self.storage as *mut _ as *mut libc::sockaddr
    }
}

impl SockAddr {
    /// A `sockaddr_un` for `path` (a filesystem path) or, with `abstract_`,
    /// a name in Linux's abstract namespace.
    ///
    /// # Errors
    /// `InvalidInput` for a name with a NUL byte or longer than
    /// `sun_path` allows (107 bytes, or 106 for an abstract one).
    pub(crate) fn unix(name: &[u8], abstract_: bool) -> io::Result<SockAddr> {
        let mut s = SockAddr::empty();
        // SAFETY: sockaddr_storage is larger than and aligned for
        // sockaddr_un; we only write inside it.
        let sun = unsafe { &mut *(&mut s.storage as *mut _ as *mut libc::sockaddr_un) };
        let start = usize::from(abstract_);
        if name.contains(&0) || name.len() + start >= sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "AF_UNIX path too long or contains a NUL byte",
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, b) in sun.sun_path[start..].iter_mut().zip(name) {
            *d = *b as libc::c_char;
        }
        let base = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        // A path is NUL-terminated; an abstract name is exactly its bytes.
        s.len = (base + start + name.len() + usize::from(!abstract_)) as libc::socklen_t;
        Ok(s)
    }

    /// The address family the kernel wrote.
    pub(crate) fn family(&self) -> i32 {
        self.storage.ss_family as i32
    }

    /// For `AF_UNIX`: the name's bytes and whether it is abstract; an
    /// empty name for an unnamed socket. `None` for other families.
    pub(crate) fn unix_name(&self) -> Option<(&[u8], bool)> {
        if self.family() != libc::AF_UNIX {
            return None;
        }
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_un) };
        let base = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        let len = (self.len as usize)
            .saturating_sub(base)
            .min(sun.sun_path.len());
        // SAFETY: c_char and u8 have one layout; `len` is inside sun_path.
        let path: &[u8] = unsafe { std::slice::from_raw_parts(sun.sun_path.as_ptr().cast(), len) };
        Some(match path.split_first() {
            None => (&[][..], false),
            Some((0, rest)) => (rest, true),
            Some(_) => {
                let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
                (&path[..end], false)
            }
        })
    }
}

/// `-1` → the thread's `errno` as an error.
fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn check_len(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

pub(crate) fn socket(domain: i32, ty: i32, proto: i32) -> io::Result<RawFd> {
    // SAFETY: plain syscall.
    check(unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) })
}

pub(crate) fn socketpair(domain: i32, ty: i32) -> io::Result<(RawFd, RawFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds.
    check(unsafe {
        libc::socketpair(
            domain,
            ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    Ok((fds[0], fds[1]))
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl calls on an fd the caller owns.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    }
    Ok(())
}

pub(crate) fn bind(fd: RawFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` points to `len` valid bytes.
    check(unsafe { libc::bind(fd, addr.as_ptr(), addr.len) }).map(|_| ())
}

pub(crate) fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: plain syscall.
    check(unsafe { libc::listen(fd, backlog) }).map(|_| ())
}

pub(crate) fn connect(fd: RawFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` points to `len` valid bytes.
    check(unsafe { libc::connect(fd, addr.as_ptr(), addr.len) }).map(|_| ())
}

pub(crate) fn accept(fd: RawFd) -> io::Result<(RawFd, SockAddr)> {
    let mut addr = SockAddr::empty();
    // SAFETY: `addr` has room for `len` bytes; the kernel writes the
    // actual length back.
    let new = check(unsafe {
        libc::accept4(
            fd,
            addr.as_mut_ptr(),
            &mut addr.len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    Ok((new, addr))
}

pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length.
    check_len(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) })
}

pub(crate) fn recvfrom(fd: RawFd, buf: &mut [u8], flags: i32) -> io::Result<(usize, SockAddr)> {
    let mut addr = SockAddr::empty();
    // SAFETY: `buf` is valid for writes of its length; `addr` has room for
    // `len` bytes.
    let n = check_len(unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            addr.as_mut_ptr(),
            &mut addr.len,
        )
    })?;
    Ok((n, addr))
}

pub(crate) fn send(fd: RawFd, buf: &[u8], flags: i32) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    check_len(unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            flags | libc::MSG_NOSIGNAL,
        )
    })
}

pub(crate) fn sendto(fd: RawFd, buf: &[u8], flags: i32, addr: &SockAddr) -> io::Result<usize> {
    // SAFETY: `buf` and `addr` are valid for reads of their lengths.
    check_len(unsafe {
        libc::sendto(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            flags | libc::MSG_NOSIGNAL,
            addr.as_ptr(),
            addr.len,
        )
    })
}

pub(crate) fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` has room for an int and `len` says so.
    check(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

pub(crate) fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is an int and the length says so.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

pub(crate) fn getsockname(fd: RawFd) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: `addr` has room for `len` bytes.
    check(unsafe { libc::getsockname(fd, addr.as_mut_ptr(), &mut addr.len) })?;
    Ok(addr)
}

pub(crate) fn getpeername(fd: RawFd) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: `addr` has room for `len` bytes.
    check(unsafe { libc::getpeername(fd, addr.as_mut_ptr(), &mut addr.len) })?;
    Ok(addr)
}

pub(crate) fn shutdown(fd: RawFd, how: i32) -> io::Result<()> {
    // SAFETY: plain syscall.
    check(unsafe { libc::shutdown(fd, how) }).map(|_| ())
}

pub(crate) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and never uses it again. An error
    // (EINTR, EIO) still releases the fd on Linux: nothing to retry.
    unsafe { libc::close(fd) };
}

/// One `getaddrinfo` answer.
pub(crate) struct RawAddrInfo {
    pub(crate) family: i32,
    pub(crate) socktype: i32,
    pub(crate) protocol: i32,
    pub(crate) canonname: Option<String>,
    pub(crate) addr: Option<SocketAddr>,
}

/// `getaddrinfo(3)`: blocking (run it on a worker thread). The error is
/// the `EAI_*` code with its message.
pub(crate) fn getaddrinfo(
    host: Option<&str>,
    service: Option<&str>,
    family: i32,
    socktype: i32,
    protocol: i32,
    flags: i32,
) -> std::result::Result<Vec<RawAddrInfo>, (i32, String)> {
    let to_c = |s: Option<&str>| {
        s.map(std::ffi::CString::new)
            .transpose()
            .map_err(|_| (libc::EAI_NONAME, "name contains a NUL byte".to_string()))
    };
    let (host, service) = (to_c(host)?, to_c(service)?);
    // SAFETY: addrinfo is plain data; zeroes are its documented defaults.
    let mut hints: libc::addrinfo = unsafe { MaybeUninit::zeroed().assume_init() };
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and outlive the call; `res`
    // receives a list we free below.
    let rc = unsafe {
        libc::getaddrinfo(
            host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()),
            service.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            &hints,
            &mut res,
        )
    };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let msg = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(rc)) }
            .to_string_lossy()
            .into_owned();
        return Err((rc, msg));
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: `p` walks the list getaddrinfo returned.
        let ai = unsafe { &*p };
        let addr = if ai.ai_addr.is_null() {
            None
        } else {
            let mut s = SockAddr::empty();
            let len = (ai.ai_addrlen as usize).min(size_of::<libc::sockaddr_storage>());
            // SAFETY: ai_addr points to ai_addrlen bytes; we copy at most
            // the storage's size.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    ai.ai_addr.cast::<u8>(),
                    (&mut s.storage as *mut libc::sockaddr_storage).cast::<u8>(),
                    len,
                )
            };
            s.len = len as libc::socklen_t;
            s.to_std()
        };
        let canonname = (!ai.ai_canonname.is_null()).then(|| {
            // SAFETY: a NUL-terminated string of the list.
            unsafe { std::ffi::CStr::from_ptr(ai.ai_canonname) }
                .to_string_lossy()
                .into_owned()
        });
        out.push(RawAddrInfo {
            family: ai.ai_family,
            socktype: ai.ai_socktype,
            protocol: ai.ai_protocol,
            canonname,
            addr,
        });
        p = ai.ai_next;
    }
    // SAFETY: `res` came from getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(out)
}

/// `getnameinfo(3)`: blocking. The `EAI_*` error with its message.
pub(crate) fn getnameinfo(
    addr: &SocketAddr,
    flags: i32,
) -> std::result::Result<(String, String), (i32, String)> {
    let sa = SockAddr::from_std(addr);
    let mut host = [0 as libc::c_char; 1025];
    let mut serv = [0 as libc::c_char; 32];
    // SAFETY: the buffers' sizes are passed; the address is valid.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr(),
            sa.len,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            serv.as_mut_ptr(),
            serv.len() as libc::socklen_t,
            flags,
        )
    };
    if rc != 0 {
        // SAFETY: as in getaddrinfo.
        let msg = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(rc)) }
            .to_string_lossy()
            .into_owned();
        return Err((rc, msg));
    }
    // SAFETY: getnameinfo NUL-terminated both buffers.
    let h = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: as above.
    let s = unsafe { std::ffi::CStr::from_ptr(serv.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok((h, s))
}
