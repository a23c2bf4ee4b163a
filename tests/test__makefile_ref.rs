//! Port of gevent's `src/gevent/tests/test__makefile_ref.py`, the socket
//! part (`TestSocket`): when the fd of a socket (listening or accepted)
//! is really closed, with and without a `makefile()` around.
//!
//! gevent asks psutil whether an fd is open. Here an fd is open while
//! `/proc/self/fd/N` still names the socket it named when the test took
//! it (`socket:[inode]`): the tests of this binary run in parallel
//! threads and one may reuse a closed fd number meanwhile, which the
//! inode tells apart. `makefile()` is a `BufReader` over a `SocketFile`
//! of the socket, which keeps the fd open after `close()` until it is
//! dropped (Python's io refs); closing the file is dropping it.

mod common;

use std::os::fd::RawFd;

use gevent::socket::Socket;
use gevent::{Error, Greenlet, spawn};

/// What `/proc/self/fd/N` points to, if N is open.
fn fd_target(fd: RawFd) -> Option<String> {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// An fd and the socket it was taken from.
#[derive(Clone, Debug)]
struct Fileno {
    fd: RawFd,
    target: String,
}

fn fileno_of(s: &Socket) -> Fileno {
    let fd = s.fileno();
    assert!(fd >= 0, "{s:?}");
    let target = fd_target(fd).unwrap_or_else(|| panic!("{fd} is not open"));
    assert!(target.starts_with("socket:"), "{fd} -> {target}");
    Fileno { fd, target }
}

#[track_caller]
fn assert_raises_ebadf<T: std::fmt::Debug>(what: &str, r: gevent::Result<T>) {
    match r {
        Err(Error::Io(e)) if e.raw_os_error() == Some(libc::EBADF) => {}
        other => panic!("NOT RAISED EBADF: {what}() returned {other:?}"),
    }
}

#[track_caller]
fn assert_fd_open(f: &Fileno) {
    let now = fd_target(f.fd);
    assert_eq!(now.as_deref(), Some(f.target.as_str()), "{f:?} is not open");
}

#[track_caller]
fn assert_fd_closed(f: &Fileno) {
    assert!(f.fd > 0, "{f:?}");
    let now = fd_target(f.fd);
    assert_ne!(
        now.as_deref(),
        Some(f.target.as_str()),
        "{f:?} is not closed"
    );
}

/// `assert_open(sock)`: its fileno is valid, `getsockname` answers, the
/// fd is open (and still `fileno`'s socket).
#[track_caller]
fn assert_sock_open(s: &Socket, f: &Fileno) {
    assert_eq!(s.fileno(), f.fd, "{s:?}");
    let sockname = s.getsockname();
    assert!(matches!(sockname, Ok(Some(_))), "{sockname:?}");
    assert_fd_open(f);
}

/// `assert_closed(sock)`: `fileno() == -1`; `getsockname` and `accept`
/// raise EBADF.
#[track_caller]
fn assert_sock_closed(s: &Socket) {
    assert_eq!(s.fileno(), -1);
    assert_raises_ebadf("getsockname", s.getsockname());
    assert_raises_ebadf("accept", s.accept());
}

/// `Test.make_open_socket()`: bound to 127.0.0.1 and listening.
fn make_open_socket() -> Socket {
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    s.bind("127.0.0.1:0").unwrap();
    s.listen(1).unwrap();
    let f = fileno_of(&s);
    assert_sock_open(&s, &f);
    s
}

/// `gevent.testing.sockets.tcp_listener(backlog=...)`.
fn tcp_listener(backlog: i32) -> Socket {
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    s.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .unwrap();
    s.bind("127.0.0.1:0").unwrap();
    s.listen(backlog).unwrap();
    s
}

/// gevent's `Closing`: the sockets to close at the end, after joining
/// the running task.
#[derive(Default)]
struct Closing {
    objects: Vec<Socket>,
    task: Option<Greenlet<()>>,
}

impl Closing {
    fn closing(&mut self, s: Socket) -> Socket {
        self.objects.push(s.clone());
        s
    }

    fn accept(&mut self, listener: &Socket) -> Socket {
        let (client_socket, _addr) = listener.accept().unwrap();
        self.closing(client_socket)
    }

    fn running_task(&mut self, task: Greenlet<()>) {
        assert!(self.task.is_none());
        self.task = Some(task);
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            let joined = t.join_timeout(10.0);
            if !std::thread::panicking() {
                assert!(joined.unwrap(), "the task did not finish");
                t.get().unwrap();
            }
        }
        for o in self.objects.iter().rev() {
            o.close();
        }
    }
}

/// `connector.connect((DEFAULT_CONNECT, port))` in a task (gevent's
/// `threading.Thread`, a greenlet when patched).
fn connect_task(connector: &Socket, port: u16) -> Greenlet<()> {
    let c = connector.clone();
    spawn(move || c.connect(("127.0.0.1", port)))
}

#[allow(non_snake_case)]
mod TestSocket {
    use super::*;

    #[test]
    fn test_simple_close() {
        let _d = common::deadline("TestSocket::test_simple_close", common::TEST_DEADLINE);
        let s;
        let fileno;
        {
            let mut closer = Closing::default();
            s = closer.closing(make_open_socket());
            fileno = fileno_of(&s);
            s.close();
        }
        assert_sock_closed(&s);
        assert_fd_closed(&fileno);
    }

    #[test]
    fn test_makefile1() {
        let _d = common::deadline("TestSocket::test_makefile1", common::TEST_DEADLINE);
        let mut closer = Closing::default();
        let s = closer.closing(make_open_socket());
        let fileno = fileno_of(&s);
        let f = s.makefile();

        assert_sock_open(&s, &fileno);
        // Under python 3 (and here), the file keeps the socket open after
        // close(): fileno() and getsockname() still work.
        s.close();
        assert_sock_open(&s, &fileno);

        drop(f);
        assert_sock_closed(&s);
        assert_fd_closed(&fileno);
    }

    #[test]
    fn test_makefile2() {
        let _d = common::deadline("TestSocket::test_makefile2", common::TEST_DEADLINE);
        let mut closer = Closing::default();
        let s = closer.closing(make_open_socket());
        let fileno = fileno_of(&s);
        assert_sock_open(&s, &fileno);
        let f = s.makefile();
        assert_sock_open(&s, &fileno);
        drop(f);
        // closing the file object does not close the socket
        assert_sock_open(&s, &fileno);
        s.close();
        assert_sock_closed(&s);
        assert_fd_closed(&fileno);
    }

    #[test]
    fn test_server_simple() {
        let _d = common::deadline("TestSocket::test_server_simple", common::TEST_DEADLINE);
        let mut closer = Closing::default();
        let listener = closer.closing(tcp_listener(1));
        let port = listener.getsockname().unwrap().unwrap().port();

        let connector = closer.closing(Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap());
        closer.running_task(connect_task(&connector, port));

        let client_socket = closer.accept(&listener);
        let fileno = fileno_of(&client_socket);
        assert_sock_open(&client_socket, &fileno);
        client_socket.close();
        assert_sock_closed(&client_socket);
        assert_fd_closed(&fileno);
    }

    #[test]
    fn test_server_makefile1() {
        let _d = common::deadline("TestSocket::test_server_makefile1", common::TEST_DEADLINE);
        let mut closer = Closing::default();
        let listener = closer.closing(tcp_listener(1));
        let port = listener.getsockname().unwrap().unwrap().port();

        let connector = closer.closing(Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap());
        closer.running_task(connect_task(&connector, port));

        let client_socket = closer.accept(&listener);
        let fileno = fileno_of(&client_socket);
        let f = client_socket.makefile();
        assert_sock_open(&client_socket, &fileno);
        client_socket.close();
        // Under python 3 (and here), the file keeps the socket open.
        assert_sock_open(&client_socket, &fileno);

        drop(f);
        assert_sock_closed(&client_socket);
        assert_fd_closed(&fileno);
    }

    #[test]
    fn test_server_makefile2() {
        let _d = common::deadline("TestSocket::test_server_makefile2", common::TEST_DEADLINE);
        let mut closer = Closing::default();
        let listener = closer.closing(tcp_listener(1));
        let port = listener.getsockname().unwrap().unwrap().port();

        let connector = closer.closing(Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap());
        closer.running_task(connect_task(&connector, port));
        let client_socket = closer.accept(&listener);

        let fileno = fileno_of(&client_socket);
        let f = client_socket.makefile();
        assert_sock_open(&client_socket, &fileno);
        // closing the file object does not close the socket
        drop(f);
        assert_sock_open(&client_socket, &fileno);
        client_socket.close();
        assert_sock_closed(&client_socket);
        assert_fd_closed(&fileno);
    }
}

// Not ported:
// - TestSSL (8 methods): the crate has no ssl module.
