//! Port of gevent's `src/gevent/tests/test__socket_send_memoryview.py`
//! (gevent #466): `send` and `sendall` take any buffer, here a
//! `#[repr(C)]` struct viewed as bytes (gevent's ctypes `Structure`), on a
//! connected UDP socket, with and without a timeout.
//!
//! gevent sends to 127.0.0.1:12345, where nobody is expected to listen;
//! here the datagrams go to a receiver of the test's own on 127.0.0.1 (so
//! no foreign service gets them), which also checks that they arrived
//! intact.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use gevent::socket::Socket;

/// gevent's `AnStructure`: `_fields_ = [("x", ctypes.c_int)]`.
#[repr(C)]
#[derive(Default)]
struct AnStructure {
    x: libc::c_int,
}

/// The struct's memory as a byte slice (the buffer protocol's view).
fn as_bytes(s: &AnStructure) -> &[u8] {
    // SAFETY: AnStructure is repr(C), plain data without padding; the slice
    // covers exactly its bytes and borrows it.
    unsafe {
        std::slice::from_raw_parts(
            (s as *const AnStructure).cast::<u8>(),
            std::mem::size_of::<AnStructure>(),
        )
    }
}

#[derive(Clone, Copy, Debug)]
enum Method {
    Sendall,
    Send,
}

#[allow(non_snake_case)]
mod TestSendBuiltinSocket {
    use super::*;

    /// `_send(socket)` with the standard library's socket (std's blocking
    /// `UdpSocket`; it has no `sendall`: a datagram is sent whole or not
    /// at all, so both methods are one `send`).
    #[test]
    fn test_send() {
        let _d = common::deadline("TestSendBuiltinSocket::test_send", common::TEST_DEADLINE);
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let to = receiver.local_addr().unwrap();
        for meth in [Method::Sendall, Method::Send] {
            for timeout in [None, Some(Duration::from_secs(1))] {
                let an_structure = AnStructure::default();
                let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                sock.connect(to).unwrap();
                sock.set_write_timeout(timeout).unwrap();
                let n = sock.send(as_bytes(&an_structure)).unwrap();
                assert_eq!(n, std::mem::size_of::<AnStructure>(), "{meth:?}");
                drop(sock);
                let mut buf = [0u8; 64];
                let got = receiver.recv(&mut buf).unwrap();
                assert_eq!(&buf[..got], as_bytes(&an_structure), "{meth:?}");
            }
        }
    }
}

#[allow(non_snake_case)]
mod TestSendGeventSocket {
    use super::*;

    /// `_send(gevent.socket)`.
    #[test]
    fn test_send() {
        let _d = common::deadline("TestSendGeventSocket::test_send", common::TEST_DEADLINE);
        let receiver = Socket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
        receiver.bind("127.0.0.1:0").unwrap();
        receiver.settimeout(Some(5.0)).unwrap();
        let to: SocketAddr = receiver.getsockname().unwrap().unwrap();
        for meth in [Method::Sendall, Method::Send] {
            for timeout in [None, Some(1.0)] {
                let an_structure = AnStructure::default();
                let sock = Socket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
                sock.connect(to).unwrap();
                if let Some(t) = timeout {
                    sock.settimeout(Some(t)).unwrap();
                }
                match meth {
                    Method::Sendall => sock.sendall(as_bytes(&an_structure)).unwrap(),
                    Method::Send => {
                        let n = sock.send(as_bytes(&an_structure)).unwrap();
                        assert_eq!(n, std::mem::size_of::<AnStructure>());
                    }
                }
                sock.close();
                let (data, from) = receiver.recvfrom(64).unwrap();
                assert_eq!(data, as_bytes(&an_structure), "{meth:?} {timeout:?}");
                assert!(from.is_some());
            }
        }
        receiver.close();
    }
}
