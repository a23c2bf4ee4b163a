//! `gevent::server::StreamServer`, the core: a handler greenlet per
//! connection, the socket closed when it returns, a pool bounding the
//! handlers (accepting pauses while it is full), stop joining then
//! killing, a graceful stop_accepting, and failures that do not stop the
//! server. Loopback only, bounded in count and time.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use gevent::pool::Pool;
use gevent::server::StreamServer;
use gevent::socket::create_connection;
use gevent::{Error, sleep, spawn};

fn echo_once(sock: gevent::socket::Socket, _peer: std::net::SocketAddr) -> gevent::Result<()> {
    let data = sock.recv(1024)?;
    sock.sendall(&data)
}

#[test]
fn serves_many_clients_and_closes_each_socket_after_its_handler() {
    let _d = common::deadline("serves_many", common::TEST_DEADLINE);
    let server = StreamServer::new("127.0.0.1:0", echo_once);
    server.start().unwrap();
    assert!(server.started());
    let addr = server.address().unwrap();
    assert_eq!(server.server_port().unwrap(), addr.port());
    let clients: Vec<_> = (0..20)
        .map(|i| {
            spawn(move || {
                let c = create_connection(addr, Some(5.0))?;
                let msg = format!("client {i}");
                c.sendall(msg.as_bytes())?;
                let got = c.recv(1024)?;
                // The server closed its side once the handler returned.
                let eof = c.recv(1024)?;
                Ok(got == msg.as_bytes() && eof.is_empty())
            })
        })
        .collect();
    for c in &clients {
        assert!(c.get().unwrap());
    }
    server.stop(Some(1.0)).unwrap();
    assert!(!server.started());
    assert!(
        create_connection(addr, Some(1.0)).is_err(),
        "still listening"
    );
}

#[test]
fn a_full_pool_pauses_accepting_until_a_slot_frees() {
    let _d = common::deadline("pool_pauses", common::TEST_DEADLINE);
    let running = Rc::new(Cell::new(0usize));
    let most = Rc::new(Cell::new(0usize));
    let (r, m) = (running.clone(), most.clone());
    let server = StreamServer::new("127.0.0.1:0", move |sock, _| {
        r.set(r.get() + 1);
        m.set(m.get().max(r.get()));
        sleep(0.02)?;
        r.set(r.get() - 1);
        sock.sendall(b"done")
    });
    server.set_pool(Pool::new(2).unwrap());
    server.start().unwrap();
    let addr = server.address().unwrap();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            spawn(move || {
                let c = create_connection(addr, Some(5.0))?;
                c.recv(10)
            })
        })
        .collect();
    for c in &clients {
        assert_eq!(c.get().unwrap(), b"done");
    }
    assert_eq!(most.get(), 2, "the pool bounds the handlers");
    server.stop(Some(1.0)).unwrap();
}

#[test]
fn stop_with_a_pool_kills_handlers_left_after_the_timeout() {
    let _d = common::deadline("stop_kills", common::TEST_DEADLINE);
    let killed = Rc::new(Cell::new(false));
    let k = killed.clone();
    let server = StreamServer::new("127.0.0.1:0", move |_sock, _| {
        let r = sleep(30.0);
        k.set(matches!(r, Err(Error::GreenletExit)));
        r
    });
    server.set_pool(Pool::new(4).unwrap());
    server.start().unwrap();
    let addr = server.address().unwrap();
    let _c = create_connection(addr, Some(5.0)).unwrap();
    sleep(0.02).unwrap();
    server.stop(Some(0.05)).unwrap();
    assert!(killed.get(), "the stuck handler was killed");
}

#[test]
fn stop_accepting_keeps_connections_waiting_until_accepting_resumes() {
    let _d = common::deadline("stop_accepting", common::TEST_DEADLINE);
    let server = StreamServer::new("127.0.0.1:0", echo_once);
    server.start().unwrap();
    let addr = server.address().unwrap();
    server.stop_accepting().unwrap();
    // The kernel completes the handshake (backlog); nobody answers yet.
    let c = create_connection(addr, Some(5.0)).unwrap();
    c.sendall(b"later").unwrap();
    c.settimeout(Some(0.05)).unwrap();
    assert!(matches!(c.recv(10), Err(Error::Timeout(_))));
    server.start_accepting();
    c.settimeout(Some(5.0)).unwrap();
    assert_eq!(c.recv(10).unwrap(), b"later");
    server.stop(None).unwrap();
}

#[test]
fn a_failing_handler_is_reported_and_the_server_goes_on() {
    let _d = common::deadline("handler_fails", common::TEST_DEADLINE);
    let log = common::ErrorLog::install();
    let n = Rc::new(Cell::new(0u32));
    let n2 = n.clone();
    let server = StreamServer::new("127.0.0.1:0", move |sock, _| {
        n2.set(n2.get() + 1);
        if n2.get() == 1 {
            return Err(Error::msg("first handler fails"));
        }
        sock.sendall(b"ok")
    });
    server.start().unwrap();
    let addr = server.address().unwrap();
    let first = create_connection(addr, Some(5.0)).unwrap();
    assert!(
        first.recv(10).unwrap().is_empty(),
        "closed after the failure"
    );
    let second = create_connection(addr, Some(5.0)).unwrap();
    assert_eq!(second.recv(10).unwrap(), b"ok");
    server.stop(None).unwrap();
    assert_eq!(log.len(), 1, "{:?}", log.errors());
}

#[test]
fn serve_forever_returns_once_stopped() {
    let _d = common::deadline("serve_forever", common::TEST_DEADLINE);
    let server = StreamServer::new("127.0.0.1:0", echo_once);
    let s2 = server.clone();
    let stopper = spawn(move || {
        sleep(0.02)?;
        s2.stop(None)
    });
    server.serve_forever().unwrap();
    stopper.get().unwrap();
    assert!(!server.started());
}

#[test]
fn bad_address_and_address_in_use_are_errors() {
    let s = StreamServer::new("no port", echo_once);
    assert!(matches!(s.start(), Err(Error::InvalidArgument(_))));
    let a = StreamServer::new("127.0.0.1:0", echo_once);
    a.start().unwrap();
    let b = StreamServer::new(a.address().unwrap(), echo_once);
    match b.start() {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE)),
        other => panic!("{other:?}"),
    }
    a.stop(None).unwrap();
}

#[test]
fn datagram_server_answers_every_datagram() {
    use gevent::server::DatagramServer;
    use gevent::socket::Socket;
    let _d = common::deadline("datagram_server", common::TEST_DEADLINE);
    let server = DatagramServer::new("127.0.0.1:0", |srv, data, peer| {
        let mut reply = b"re:".to_vec();
        reply.extend(data);
        srv.sendto(&reply, peer).map(|_| ())
    });
    server.start().unwrap();
    let addr = server.address().unwrap();
    let client = Socket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    client.settimeout(Some(5.0)).unwrap();
    let mut got = Vec::new();
    for i in 0..20 {
        client.sendto(format!("{i}").as_bytes(), addr).unwrap();
        let (data, from) = client.recvfrom(100).unwrap();
        assert_eq!(from, Some(addr));
        got.push(String::from_utf8(data).unwrap());
    }
    assert_eq!(got[19], "re:19");
    // An oversize datagram is a clear error, not a silent loss.
    let huge = vec![0u8; 70_000];
    match client.sendto(&huge, addr) {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE)),
        other => panic!("{other:?}"),
    }
    server.stop().unwrap();
    assert!(!server.started());
    assert!(server.sendto(b"x", addr).is_err());
}
