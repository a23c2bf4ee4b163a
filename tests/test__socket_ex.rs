//! Port of gevent's `src/gevent/tests/test__socket_ex.py`: `send` on a
//! closed socket fails with EBADF, without switching; a socket's `ref`.

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

#[allow(non_snake_case)]
mod TestRef {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestRef::test", common::TEST_DEADLINE);
        // switch_expected = False.
        let switched = Rc::new(Cell::new(false));
        let s = switched.clone();
        let _probe = spawn(move || {
            s.set(true);
            Ok(())
        });
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        assert!(sock.ref_());
        sock.set_ref(false);
        assert!(!sock.ref_());
        // gevent also checks `sock._read_event.ref` and
        // `sock._write_event.ref`; the watchers are private here, and
        // `set_ref` sets both, so `ref_()` stands for them.
        sock.close();
        assert!(!switched.get(), "the socket's ref switched");
    }
}

// Not ported:
// - TestRef.test's `sock._read_event.ref` / `sock._write_event.ref`
//   checks: the socket's watchers are not public (`ref_()` reads the read
//   watcher; `set_ref` sets both).
