//! Port of gevent's `src/gevent/tests/test__socket_timeout.py`.

mod common;

use gevent::socket::Socket;
use gevent::{Error, Greenlet, sleep, spawn};

struct Fixture {
    server: Socket,
    server_port: u16,
    acceptor: Option<Greenlet<()>>,
}

impl Fixture {
    fn set_up() -> Fixture {
        let server = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        server
            .setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
            .unwrap();
        server.bind("127.0.0.1:0").unwrap();
        server.listen(1).unwrap();
        let server_port = server.getsockname().unwrap().unwrap().port();
        let s = server.clone();
        let acceptor = spawn(move || {
            // _accept: keep the connection open until tear-down.
            if let Ok((conn, _)) = s.accept() {
                let _ = sleep(30.0);
                conn.close();
            }
            Ok(())
        });
        sleep(0.0).unwrap();
        Fixture {
            server,
            server_port,
            acceptor: Some(acceptor),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(a) = self.acceptor.take() {
            let _ = a.kill();
        }
        self.server.close();
    }
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_timeout() {
        let _d = common::deadline("Test::test_timeout", common::TEST_DEADLINE);
        let f = Fixture::set_up();
        sleep(0.0).unwrap();
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        sock.connect(("127.0.0.1", f.server_port)).unwrap();

        sock.settimeout(Some(0.1)).unwrap();
        let ex = sock.recv(1024).unwrap_err();
        assert!(matches!(ex, Error::Timeout(_)), "{ex:?}");
        assert_eq!(ex.to_string(), "timed out");
        sock.close();
    }
}
