//! Port of gevent's `src/gevent/tests/test__socket_errors.py`: `connect`
//! to a port nobody listens on fails with "connection refused".

mod common;

use gevent::Error;
use gevent::socket::Socket;

/// `support.find_unused_port()`: a port that was free a moment ago.
fn find_unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[allow(non_snake_case)]
mod TestSocketErrors {
    use super::*;

    #[test]
    fn test_connection_refused() {
        // __timeout__ = 5
        let _d = common::deadline("TestSocketErrors::test_connection_refused", 5.0);
        let port = find_unused_port();
        let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        let ex = match s.connect(("127.0.0.1", port)) {
            // gevent tolerates a LoopExit here.
            Err(Error::LoopExit(_)) => return,
            Err(e) => e,
            Ok(()) => panic!("connected to an unused port"),
        };
        s.close();
        assert!(matches!(ex, Error::Io(_)), "{ex:?}");
        // sysinfo.CONN_REFUSED_ERRORS on POSIX: ECONNREFUSED.
        assert_eq!(ex.raw_os_error(), Some(libc::ECONNREFUSED), "{ex:?}");
        assert!(ex.to_string().to_lowercase().contains("refused"), "{ex}");
    }
}
