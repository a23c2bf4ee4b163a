//! Name resolution, the offline subset of gevent's `test__socket_dns`:
//! localhost and numeric hosts, error cases, the pluggable resolver and
//! its timeout. No query leaves the machine: numeric hosts are answered
//! without a lookup, `localhost` comes from /etc/hosts, and the failing
//! names fail before any query.

mod common;

use std::net::{IpAddr, SocketAddr};

use gevent::Error;
use gevent::socket::{
    AddrInfo, GaiError, Query, Resolver, create_connection, getaddrinfo, getaddrinfo_timeout,
    gethostbyname, gethostbyname_ex, getnameinfo, set_resolver,
};

#[test]
fn numeric_hosts_need_no_lookup() {
    // A resolver that fails everything: numeric hosts never reach it.
    struct Refuse;
    impl Resolver for Refuse {
        fn getaddrinfo(&self, _: &Query, _: Option<f64>) -> gevent::Result<Vec<AddrInfo>> {
            Err(Error::msg("the resolver was asked"))
        }
        fn getnameinfo(
            &self,
            _: SocketAddr,
            _: i32,
            _: Option<f64>,
        ) -> gevent::Result<(String, String)> {
            Err(Error::msg("the resolver was asked"))
        }
    }
    set_resolver(Refuse);
    let v = getaddrinfo("127.0.0.1", 80, 0, 0, 0, 0).unwrap();
    assert_eq!(v.len(), 2, "a stream and a datagram answer: {v:?}");
    assert!(v.iter().all(|a| a.addr == "127.0.0.1:80".parse().unwrap()));
    let v6 = getaddrinfo("::1", 8080, libc::AF_INET6, libc::SOCK_STREAM, 0, 0).unwrap();
    assert_eq!(v6.len(), 1);
    assert_eq!(v6[0].family, libc::AF_INET6);
    assert_eq!(v6[0].protocol, libc::IPPROTO_TCP);
    assert!(
        getaddrinfo("localhost", 1, 0, 0, 0, 0).is_err(),
        "a name is asked"
    );
}

#[test]
fn localhost_resolves_to_loopback() {
    let _d = common::deadline("localhost", common::TEST_DEADLINE);
    let v = getaddrinfo("localhost", 8080, libc::AF_UNSPEC, libc::SOCK_STREAM, 0, 0).unwrap();
    assert!(!v.is_empty());
    assert!(
        v.iter()
            .all(|a| a.addr.ip().is_loopback() && a.addr.port() == 8080),
        "{v:?}"
    );
    assert_eq!(gethostbyname("localhost").unwrap(), "127.0.0.1");
    let (_canon, aliases, ips) = gethostbyname_ex("localhost").unwrap();
    assert!(aliases.is_empty());
    assert!(ips.contains(&"127.0.0.1".to_string()), "{ips:?}");
}

#[test]
fn connecting_to_a_name_resolves_it() {
    let _d = common::deadline("connect_name", common::TEST_DEADLINE);
    let server = gevent::server::StreamServer::new("127.0.0.1:0", |s, _| s.sendall(b"hi"));
    server.start().unwrap();
    let port = server.server_port().unwrap();
    let c = create_connection(format!("localhost:{port}"), Some(5.0)).unwrap();
    assert_eq!(c.recv(10).unwrap(), b"hi");
    server.stop(None).unwrap();
}

#[test]
fn getnameinfo_numeric() {
    let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let (host, serv) = getnameinfo(addr, libc::NI_NUMERICHOST | libc::NI_NUMERICSERV).unwrap();
    assert_eq!(host, "127.0.0.1");
    assert_eq!(serv, "80");
}

#[test]
fn a_name_that_cannot_be_looked_up_is_a_gaierror() {
    let e = getaddrinfo("bad\0host", 80, 0, 0, 0, 0).unwrap_err();
    let g = e.downcast_ref::<GaiError>().expect("a gaierror");
    assert_eq!(g.code, libc::EAI_NONAME);
    // An empty host with AI_NUMERICHOST: refused locally too.
    let e = getaddrinfo("not numeric", 1, 0, 0, 0, libc::AI_NUMERICHOST).unwrap_err();
    assert!(e.is::<GaiError>(), "{e:?}");
}

#[test]
fn a_slow_resolver_times_out_and_its_late_answer_is_dropped() {
    let _d = common::deadline("resolver_timeout", common::TEST_DEADLINE);
    struct Slow;
    impl Resolver for Slow {
        fn getaddrinfo(&self, q: &Query, timeout: Option<f64>) -> gevent::Result<Vec<AddrInfo>> {
            let answer = gevent::spawn({
                let port = q.port;
                move || {
                    gevent::sleep(0.2)?;
                    Ok(vec![AddrInfo {
                        family: libc::AF_INET,
                        socktype: libc::SOCK_STREAM,
                        protocol: 0,
                        canonname: String::new(),
                        addr: SocketAddr::new(IpAddr::from([10, 0, 0, 1]), port),
                    }])
                }
            });
            match timeout {
                Some(t) => answer.get_timeout(t),
                None => answer.get(),
            }
        }
        fn getnameinfo(
            &self,
            _: SocketAddr,
            _: i32,
            _: Option<f64>,
        ) -> gevent::Result<(String, String)> {
            Err(Error::msg("unused"))
        }
    }
    set_resolver(Slow);
    let t0 = std::time::Instant::now();
    let e = getaddrinfo_timeout("slow.example", 1, 0, 0, 0, 0, Some(0.02)).unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(t0.elapsed().as_secs_f64() < 0.2 + 0.5);
    let v = getaddrinfo("slow.example", 7, 0, 0, 0, 0).unwrap();
    assert_eq!(v[0].addr.port(), 7);
}
