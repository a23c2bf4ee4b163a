//! Port of gevent's `src/gevent/tests/test__socket_close.py`: a socket
//! closed while another greenlet is blocked in `recv`, and a second
//! reader on one socket.

mod common;

use gevent::server::StreamServer;
use gevent::socket::Socket;
use gevent::{Error, sleep, spawn};

/// The server's handler: read until the client goes away.
fn readall(sock: Socket, _: std::net::SocketAddr) -> gevent::Result<()> {
    while !sock.recv(1024)?.is_empty() {}
    sock.close();
    Ok(())
}

struct Fixture {
    server: StreamServer,
}

impl Fixture {
    fn set_up() -> Fixture {
        let server = StreamServer::new("127.0.0.1:0", readall);
        server.start().unwrap();
        Fixture { server }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.server.stop(None);
    }
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_recv_closed() {
        let _d = common::deadline("Test::test_recv_closed", common::TEST_DEADLINE);
        let f = Fixture::set_up();
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        sock.connect(("127.0.0.1", f.server.server_port().unwrap()))
            .unwrap();
        let s2 = sock.clone();
        let receiver = spawn(move || s2.recv(25));
        sleep(0.001).unwrap();
        sock.close();
        receiver.join_timeout(0.1).unwrap();
        assert!(receiver.ready(), "{receiver:?}");
        assert_eq!(receiver.value(), None);
        match receiver.exception() {
            Some(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EBADF)),
            other => panic!("{other:?}"),
        }
        receiver.kill().unwrap();
    }

    #[test]
    fn test_recv_twice() {
        let _d = common::deadline("Test::test_recv_twice", common::TEST_DEADLINE);
        let f = Fixture::set_up();
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        sock.connect(("127.0.0.1", f.server.server_port().unwrap()))
            .unwrap();
        let s2 = sock.clone();
        let receiver = spawn(move || s2.recv(25));
        sleep(0.001).unwrap();
        // gevent's AssertionError is ConcurrentObjectUseError.
        assert!(matches!(sock.recv(25), Err(Error::ConcurrentObjectUse(_))));
        assert!(matches!(sock.recv(25), Err(Error::ConcurrentObjectUse(_))));
        receiver.kill().unwrap();
        sock.close();
    }
}
