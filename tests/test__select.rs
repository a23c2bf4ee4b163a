//! Port of gevent's `src/gevent/tests/test__select.py`: the generic wait
//! cases (timeouts), `test_errno`, `TestSelectTypes.test_int`, and the
//! `TestPossibleCrashes` cases (gevent #2100), and `TestPollRead`. Not
//! ported: `test_iterable`/`test_string` (Python types: the Rust API
//! takes fd slices); `test_poll_invalid` is skipped by gevent itself.

mod common;

use gevent::select::{POLLIN, POLLNVAL, Poll, select};
use gevent::socket::socketpair;
use gevent::{Error, sleep, spawn};

/// An fd number that was open and is closed now, chosen high (near the
/// fd limit, a different one per `slot`) so that no other test thread of
/// this binary reuses it meanwhile: the kernel hands out the lowest free
/// numbers.
fn closed_fd(slot: i32) -> i32 {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscall on a valid struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    let high = (rl.rlim_cur.min(4096) as i32) - 16 + slot;
    let (a, _b) = socketpair().unwrap();
    // SAFETY: duplicating an open fd onto a number we then own and close.
    let fd = unsafe { libc::fcntl(a.fileno(), libc::F_DUPFD_CLOEXEC, high) };
    assert!(fd >= high, "no high fd free");
    // SAFETY: closing the duplicate made just above.
    unsafe { libc::close(fd) };
    fd
}

#[allow(non_snake_case)]
mod TestSelect {
    use super::*;

    /// `TestSelect.test_timeout` (`greentest.GenericWaitTestCase`): an
    /// empty select waits for its timeout.
    #[test]
    fn test_timeout() {
        let _d = common::deadline("TestSelect::test_timeout", common::TEST_DEADLINE);
        let t0 = std::time::Instant::now();
        let (r, w, x) = select(&[], &[], &[], Some(common::SMALL_TICK)).unwrap();
        assert!(r.is_empty() && w.is_empty() && x.is_empty());
        common::assert_between(
            common::elapsed(t0),
            common::SMALL_TICK - common::SMALL_TICK_MIN_ADJ,
            common::SMALL_TICK + common::SMALL_TICK_MAX_ADJ,
        );
    }
}

#[allow(non_snake_case)]
mod TestSelectRead {
    use super::*;

    /// `TestSelectRead.test_timeout`: nothing to read, the timeout passes.
    #[test]
    fn test_timeout() {
        let _d = common::deadline("TestSelectRead::test_timeout", common::TEST_DEADLINE);
        let (a, _b) = socketpair().unwrap();
        let (r, w, _) = select(&[a.fileno()], &[], &[], Some(common::SMALL_TICK)).unwrap();
        assert!(r.is_empty() && w.is_empty());
    }

    /// `TestSelectRead.test_errno`: a closed fd is EBADF, not "ready".
    #[test]
    fn test_errno() {
        let fd = closed_fd(0);
        match select(&[fd], &[], &[], Some(0.0)) {
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EBADF)),
            other => panic!("{other:?}"),
        }
    }

    /// Own: data written by another greenlet
    /// while we wait makes the fd readable.
    #[test]
    fn test_reading() {
        let _d = common::deadline("TestSelectRead::test_reading", common::TEST_DEADLINE);
        let (a, b) = socketpair().unwrap();
        let writer = spawn(move || {
            sleep(0.01)?;
            b.sendall(b"hello")?;
            Ok(b)
        });
        let (r, _, _) = select(&[a.fileno()], &[], &[], Some(5.0)).unwrap();
        assert_eq!(r, vec![a.fileno()]);
        assert_eq!(a.recv(10).unwrap(), b"hello");
        writer.get().unwrap();
    }
}

#[allow(non_snake_case)]
mod TestSelectTypes {
    use super::*;

    /// `TestSelectTypes.test_int`: fds given as ints,
    /// several at once; a writable fd is reported at once.
    #[test]
    fn test_int() {
        let (a, b) = socketpair().unwrap();
        let (r, w, _) = select(&[a.fileno(), b.fileno()], &[a.fileno()], &[], Some(0.1)).unwrap();
        assert!(r.is_empty());
        assert_eq!(w, vec![a.fileno()]);
    }
}

#[allow(non_snake_case)]
mod TestPossibleCrashes {
    use super::*;
    use gevent::socket::Socket;

    /// `test_closing_object_while_selecting`: the socket is closed by
    /// another greenlet while select waits on it (gevent #2100): no crash,
    /// and select either times out or reports EBADF.
    #[test]
    fn test_closing_object_while_selecting() {
        let _d = common::deadline("closing_object_while_selecting", common::TEST_DEADLINE);
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        let fd = sock.fileno();
        let s2 = sock.clone();
        spawn(move || {
            s2.close();
            Ok(())
        });
        let r = select(&[fd], &[], &[], Some(common::SMALLEST_RELIABLE_DELAY));
        match r {
            Ok((r, w, _)) => assert!(w.is_empty() && (r.is_empty() || r == [fd])),
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EBADF)),
            Err(e) => panic!("{e:?}"),
        }
    }

    /// `test_closing_fd_while_selecting`: the fd itself is closed (not
    /// through the socket) while select waits.
    #[test]
    fn test_closing_fd_while_selecting() {
        let _d = common::deadline("closing_fd_while_selecting", common::TEST_DEADLINE);
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        let fd = sock.into_raw_fd().unwrap();
        spawn(move || {
            // SAFETY: closing an fd this test owns.
            unsafe { libc::close(fd) };
            Ok(())
        });
        let r = select(&[fd], &[], &[], Some(common::SMALLEST_RELIABLE_DELAY));
        match r {
            Ok(_) => {}
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EBADF)),
            Err(e) => panic!("{e:?}"),
        }
    }

    /// `test_closing_fd_before_selecting`: EBADF at once.
    #[test]
    fn test_closing_fd_before_selecting() {
        let fd = closed_fd(1);
        match select(&[fd], &[], &[], Some(common::SMALLEST_RELIABLE_DELAY)) {
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EBADF)),
            other => panic!("{other:?}"),
        }
    }

    /// `TestPossibleCrashes.test_closing_object_while_polling`.
    #[test]
    fn test_closing_object_while_polling() {
        let _d = common::deadline("closing_object_while_polling", common::TEST_DEADLINE);
        let sock = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        let orig_fileno = sock.fileno();
        let s2 = sock.clone();
        spawn(move || {
            s2.close();
            Ok(())
        });
        let poller = Poll::new();
        poller.register(orig_fileno, POLLIN);
        let fds_and_events = poller
            .poll(Some(common::SMALLEST_RELIABLE_DELAY * 1000.0))
            .unwrap();
        for (fd, event) in fds_and_events {
            assert_eq!(fd, orig_fileno);
            assert_ne!(event, 0);
        }
    }
}

/// A pipe, both ends closed on drop.
struct Pipe(i32, i32);

impl Pipe {
    fn new() -> Pipe {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        Pipe(fds[0], fds[1])
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: closing the fds this pipe owns.
        unsafe {
            libc::close(self.0);
            libc::close(self.1);
        }
    }
}

#[allow(non_snake_case)]
mod TestPollRead {
    use super::*;

    /// The generic wait case: nothing to read, the timeout (ms) passes.
    #[test]
    fn test_timeout() {
        let _d = common::deadline("TestPollRead::test_timeout", common::TEST_DEADLINE);
        let p = Pipe::new();
        let poll = Poll::new();
        poll.register(p.0, POLLIN);
        let t0 = std::time::Instant::now();
        let got = poll.poll(Some(common::SMALL_TICK * 1000.0)).unwrap();
        assert!(got.is_empty(), "{got:?}");
        common::assert_between(
            common::elapsed(t0),
            common::SMALL_TICK - common::SMALL_TICK_MIN_ADJ,
            common::SMALL_TICK + common::SMALL_TICK_MAX_ADJ,
        );
        poll.unregister(p.0).unwrap();
    }

    #[test]
    fn test_unregister_never_registered() {
        let poll = Poll::new();
        assert!(matches!(poll.unregister(5), Err(Error::InvalidArgument(_))));
    }

    /// Own: data arriving while polling, and a closed fd as POLLNVAL.
    #[test]
    fn test_reading_and_closed_fd() {
        let _d = common::deadline("TestPollRead::reading", common::TEST_DEADLINE);
        let p = Pipe::new();
        let poll = Poll::new();
        poll.register(p.0, POLLIN);
        let w = p.1;
        let writer = spawn(move || {
            sleep(0.01)?;
            // SAFETY: writing one byte to the pipe this test owns.
            assert_eq!(unsafe { libc::write(w, b"x".as_ptr().cast(), 1) }, 1);
            Ok(())
        });
        assert_eq!(poll.poll(None).unwrap(), vec![(p.0, POLLIN)]);
        writer.get().unwrap();
        let fd = closed_fd(2);
        let poll = Poll::new();
        poll.register(fd, POLLIN);
        assert_eq!(poll.poll(Some(0.0)).unwrap(), vec![(fd, POLLNVAL)]);
    }
}
