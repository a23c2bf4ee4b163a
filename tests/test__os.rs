//! Port of gevent's `src/gevent/tests/test__os.py`: a million bytes
//! through a pipe with the cooperative reads and writes (`tp_*` on the
//! thread pool, `nb_*` on non-blocking fds), and `fork_and_watch` +
//! `waitpid(-1)`.

mod common;

use std::cell::Cell;
use std::os::fd::RawFd;
use std::rc::Rc;

use gevent::Greenlet;
use gevent::os;

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

fn close(fd: RawFd) {
    // SAFETY: the test's own fd, closed once.
    unsafe { libc::close(fd) };
}

type ReadFn = fn(RawFd, usize) -> gevent::Result<Vec<u8>>;
type WriteFn = fn(RawFd, &[u8]) -> gevent::Result<usize>;

/// `_test_if_pipe_blocks`: a producer writes 1,000,000 bytes in 4 KiB
/// blocks while a consumer, started a second later, reads them all.
fn test_if_pipe_blocks(r: RawFd, w: RawFd, read: ReadFn, write: WriteFn) {
    const NBYTES: usize = 1_000_000;
    let block = vec![b'x'; 4096];
    let bytesread = Rc::new(Cell::new(0usize));
    let byteswritten = Rc::new(Cell::new(0usize));
    let bw = byteswritten.clone();
    let producer = Greenlet::spawn(move || -> gevent::Result<()> {
        while bw.get() != NBYTES {
            let bytesleft = NBYTES - bw.get();
            bw.set(bw.get() + write(w, &block[..bytesleft.min(4096)])?);
        }
        Ok(())
    });
    let br = bytesread.clone();
    let consumer = Greenlet::new(move || -> gevent::Result<()> {
        while br.get() != NBYTES {
            let bytesleft = NBYTES - br.get();
            br.set(br.get() + read(r, bytesleft.min(4096))?.len());
        }
        Ok(())
    });
    consumer.start_later(1.0).unwrap();
    gevent::joinall(&[producer.clone(), consumer.clone()]).unwrap();
    producer.get().unwrap();
    consumer.get().unwrap();
    assert_eq!(bytesread.get(), NBYTES);
    assert_eq!(bytesread.get(), byteswritten.get());
    close(r);
    close(w);
}

#[allow(non_snake_case)]
mod TestOS_tp {
    use super::*;

    #[test]
    fn test_if_pipe_blocks_memoryview() {
        let _d = common::deadline("TestOS_tp::test_if_pipe_blocks_memoryview", 60.0);
        let (r, w) = pipe();
        test_if_pipe_blocks(r, w, os::tp_read, os::tp_write);
    }
}

#[allow(non_snake_case)]
mod TestOS_nb {
    use super::*;

    #[test]
    fn test_if_pipe_blocks_memoryview() {
        let _d = common::deadline("TestOS_nb::test_if_pipe_blocks_memoryview", 60.0);
        let (r, w) = pipe();
        assert!(os::make_nonblocking(r).unwrap());
        assert!(os::make_nonblocking(w).unwrap());
        // Already non-blocking: nothing to change.
        assert!(!os::make_nonblocking(w).unwrap());
        test_if_pipe_blocks(r, w, os::nb_read, os::nb_write);
    }
}

const CHILD: &str = "GEVENT_TEST_OS_FORK_AND_WATCH";

#[allow(non_snake_case)]
mod TestForkAndWatch {
    use super::*;

    /// In a child process of its own: it forks.
    #[test]
    fn test_waitpid_all() {
        let (ok, out, err) =
            common::run_child("TestForkAndWatch::waitpid_all_child", &[(CHILD, "1")]);
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("waitpid_all: ok"), "{out}\n{err}");
    }

    #[test]
    #[ignore = "child process of test_waitpid_all"]
    fn waitpid_all_child() {
        if std::env::var(CHILD).is_err() {
            return;
        }
        // The hub on the default loop, as the main thread's would be.
        gevent::Hub::with_loop(gevent::core::Loop::default_loop().unwrap()).unwrap();
        let _d = common::deadline("TestForkAndWatch::test_waitpid_all", 60.0);
        let pid = os::fork_and_watch(None).unwrap();
        if pid != 0 {
            let (got, _status) = os::waitpid(-1, 0).unwrap();
            assert_eq!(got, pid);
            println!("waitpid_all: ok");
        } else {
            // SAFETY: alarm(2) on this process: a stuck child dies.
            unsafe { libc::alarm(20) };
            // gevent sleeps 2 s in the child; 0.2 s proves the same.
            gevent::sleep(0.2).unwrap();
            // SAFETY: leave the forked child at once.
            unsafe { libc::_exit(0) };
        }
    }
}

// Not ported:
// - TestOS_nb::test_event_closed_on_write / _write_error / _read /
//   _read_error: they mock `gevent.os._write`/`_read` and `get_hub` to
//   check that the io watcher is closed; Rust has no such mocking, and
//   the watcher here is dropped by scope (`wait_read`/`wait_write`).
