//! Port of gevent's `src/gevent/tests/test__greenio.py`: a socket and its
//! `makefile()` are independent; the peer sees EOF once both are closed.
//!
//! Both methods wait for the crate: they close the socket while a
//! `makefile()` of it is still in use, and expect the file to keep working
//! (see the list below).

// Not ported:
// - TestGreenIo.test_close_with_makefile: fails: `Socket::close()` closes
//   the fd under the socket's files too (`makefile()`'s `BufReader`, a
//   `BufWriter` over a handle), so the server's write through the file
//   made before `conn.close()` and the client's `readline()` after
//   `client.close()` get EBADF; gevent keeps the fd open until the files
//   are closed as well. Reported.
// - TestGreenIo.test_del_closes_socket: fails for the same reason on the
//   client side (`fd = client.makefile(); client.close(); fd.read()` gets
//   EBADF instead of `hello\n`). Reported.
