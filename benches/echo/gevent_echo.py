"""gevent's StreamServer as an echo server: the Python original that the
crate is measured against.

    target/bench-venv/bin/python benches/echo/gevent_echo.py PORT

Binds 127.0.0.1:PORT (0 picks a free port), backlog 1024, and prints
"listening PORT" on stdout once it accepts. StreamServer spawns one
greenlet per connection; each sets TCP_NODELAY, then loops on recv(65536)
and sendall() until the peer closes.
"""
import resource
import socket
import sys

from gevent.server import StreamServer


def echo(sock, _address):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv, sendall = sock.recv, sock.sendall
    try:
        while True:
            data = recv(65536)
            if not data:
                return
            sendall(data)
    except OSError:
        pass  # reset by the peer: the connection is over either way


def raise_nofile():
    """10k connections need 10k descriptors: soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit('usage: gevent_echo.py PORT')
    raise_nofile()
    server = StreamServer(('127.0.0.1', int(sys.argv[1])), echo, backlog=1024)
    server.start()
    print('listening %d' % server.server_port, flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
