//! Port of gevent's `src/gevent/tests/test__example_udp_server.py`: the
//! `udp_server` example answers a datagram with its length, and is still
//! running afterwards.
//!
//! gevent's example listens on the fixed port 9000; the crate's is given
//! port 0 and prints the port it got.

mod common;

use common::example::Example;
use gevent::sleep;
use gevent::socket::Socket;

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        let mut server = Example::start("udp_server", &["0".into()]);
        let port = server.port();
        // before()
        assert!(server.poll().is_none(), "udp_server died");

        let sock = Socket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
        // gevent's socket blocks without limit; the deadline would catch
        // a lost reply, a timeout says so sooner.
        sock.settimeout(Some(10.0)).unwrap();
        sock.connect(("127.0.0.1", port)).unwrap();
        sock.send(b"Test udp_server").unwrap();
        let (data, _address) = sock.recvfrom(8192).unwrap();
        assert_eq!(data, b"Received 15 bytes");
        sock.close();

        // after()
        sleep(0.5).unwrap();
        assert!(server.poll().is_none(), "udp_server died");
    }
}
