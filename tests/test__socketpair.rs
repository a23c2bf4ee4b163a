//! Port of gevent's `src/gevent/tests/test__socketpair.py`.

mod common;

use std::io::Read;

use gevent::socket::{fromfd, socketpair};

#[allow(non_snake_case)]
mod TestSocketpair {
    use super::*;

    #[test]
    fn test_makefile() {
        let _d = common::deadline("TestSocketpair::test_makefile", common::TEST_DEADLINE);
        let msg = b"hello world";
        let (x, y) = socketpair().unwrap();
        x.sendall(msg).unwrap();
        x.close();
        let mut read = Vec::new();
        y.makefile().read_to_end(&mut read).unwrap();
        assert_eq!(msg.as_slice(), read);
        y.close();
    }

    #[test]
    fn test_fromfd() {
        let _d = common::deadline("TestSocketpair::test_fromfd", common::TEST_DEADLINE);
        let msg = b"hello world";
        let (x, y) = socketpair().unwrap();
        let xx = fromfd(x.fileno()).unwrap();
        x.close();
        let yy = fromfd(y.fileno()).unwrap();
        y.close();

        xx.sendall(msg).unwrap();
        xx.close();
        let mut read = Vec::new();
        yy.makefile().read_to_end(&mut read).unwrap();
        assert_eq!(msg.as_slice(), read);
        yy.close();
    }
}
