//! Port of gevent's `src/gevent/tests/test__socket_ex.py`: `send` on a
//! closed socket fails with EBADF, without switching.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use gevent::Error;
use gevent::socket::Socket;
use gevent::spawn;

#[allow(non_snake_case)]
mod TestClosedSocket {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestClosedSocket::test", common::TEST_DEADLINE);
        // switch_expected = False: a greenlet spawned before would run if
        // send switched.
        let switched = Rc::new(Cell::new(false));
        let s = switched.clone();
        let _probe = spawn(move || {
            s.set(true);
            Ok(())
        });
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        sock.close();
        // `send(b'a', timeout=1)`: `send` has no timeout argument; the
        // socket's timeout is set to 1 instead.
        sock.settimeout(Some(1.0)).unwrap();
        match sock.send(b"a") {
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EBADF), "{e:?}"),
            other => panic!("Should raise socket error, got {other:?}"),
        }
        assert!(!switched.get(), "send on a closed socket switched");
    }
}

// Not ported:
// - TestRef.test: `Socket` has no `ref` property (gevent's `sock.ref`,
//   which sets `ref` on the socket's read and write watchers); reported.
