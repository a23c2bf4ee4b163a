#!/usr/bin/env python
"""gevent's side of the crate's Rust benches: the same cases, the same names, the same output.

Usage (any Python with gevent installed; nothing else is needed, no pyperf):

    python benches/py/gevent_micro.py                   # every case, 5 timed reps each
    python benches/py/gevent_micro.py --reps 9          # more repetitions
    python benches/py/gevent_micro.py --only bench_hub  # cases whose name contains the text
    python benches/py/gevent_micro.py --list            # names and units, nothing run

Output: one line per case, ``name value unit  # min .. max n=R``: value is the median of
R timed reps, after one untimed warm-up rep, in one process (gc on, gc.collect() before
every rep). The first three whitespace-separated fields are the machine-readable part, as
in the Rust benches, so a comparison script can pair lines by name.

What is covered, each mirroring one Rust file case by case (same N, same inner loops,
same loops per rep, same units; each function's docstring says what it measures):

- ``benches/bench_hub.rs``, ``bench_sleep0.rs``, ``bench_spawn.rs``, ``bench_local.rs``,
  ``bench_threadpool.rs``, ``bench_pool.rs``, ``bench_sendall.rs``, ``bench_socket.rs``,
  ``bench_get_memory.rs``, ``bench_micro.rs``: ports of gevent's ``benchmarks/`` (names
  ``<file>.<pyperf name as an identifier>``). gevent's own code is followed wherever it is
  runnable without pyperf; pyperf's calibrated loop counts are fixed numbers here.
- ``benches/gevent_bench.rs``: the same metric names (``greenlet_raw_switch`` ..
  ``mem_blocked_100k``), measured as ``shared/anchors/gevent_bench.py`` does.
- ``benches/bench_queue.rs``: gevent's ``bench_queue.py`` names (``bench_*_queue_*``,
  ``bench_channel*``).

Intentional differences in the set of names:

- Printed here only (gevent cases with no Rust counterpart):
  ``bench_local.{getattr,setattr}_{gevent,native}_sub`` (subclasses of the local classes;
  Rust has no subclassing) and ``bench_get_memory.{gevent14_py,inst_py,is_py}_*``
  (pure-Python variants of ``get_memory``; Rust ports only ``inst_cy``, the one
  ``gevent.socket`` calls).
- Printed by Rust only: ``benches/wake_many.rs`` (a crate scaling test, not a gevent
  benchmark, with its own output format).
- Not ported on either side: eventlet cases, ``bench_tracer.py`` (greenlet tracers),
  ``bench_subprocess.py``, ``bench_dns_resolver.py`` (needs a DNS server),
  ``micro.sh``'s ``obj.x``, ``mem_raw_greenlet_100k`` of the anchors (gevent_bench.rs has
  no such metric).

Differences from gevent's files, the same on the Rust side (see the Rust module docs):
``bench_spawn``'s ``*_spawn`` cases and the ``micro`` cases run what they scheduled after
each batch, untimed, so memory stays bounded; ``bench_socket``'s UDP cases send to a
socket of our own (not the fixed port 55678) and reset the ``sent`` counter every inner
loop (gevent's never does, so only its first inner loop sends); ``bench_spawn``'s
``geventpool_join`` reports the sleep, as gevent's ``join_time`` does (it sums
``sleep_duration``); the link callbacks of ``micro_greenlet_link`` all take ``*args``
(the first one-liner's ``lambda: 5`` would fail once the links run).
"""
from __future__ import print_function

import argparse
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
from time import perf_counter

import gevent
import greenlet as greenlet_mod
from gevent import getcurrent, joinall, sleep, spawn, spawn_raw
from gevent import socket as gsocket
from gevent.event import AsyncResult, Event
from gevent.hub import Waiter, get_hub
from gevent.local import local as glocal
from gevent.lock import Semaphore
from gevent.pool import Pool
from gevent.queue import Channel, PriorityQueue, Queue, UnboundQueue
from gevent.server import StreamServer
from gevent.threadpool import ThreadPool

CASES = []  # (name, unit, fn, kind)


def case(name, unit, kind=None):
    def register(fn):
        CASES.append((name, unit, fn, kind))
        return fn
    return register


def add(name, unit, fn, kind=None):
    CASES.append((name, unit, fn, kind))


# =========================================================================== bench_hub

HUB_N = 1000
HUB_LOOPS = 100


class _ToWatch(object):
    def rawlink(self, cb):
        cb(self)


@case('bench_hub.multiple_wait_ready', 'ns')
def hub_multiple_wait_ready():
    """gevent.wait() over N objects whose rawlink fires at once; only wait() timed. ns/object."""
    from gevent.hub import wait
    total = 0.0
    for _ in range(HUB_LOOPS):
        objs = [_ToWatch() for _ in range(HUB_N)]
        t0 = perf_counter()
        wait(objs)
        total += perf_counter() - t0
    return total / (HUB_LOOPS * HUB_N) * 1e9


class _ReadyWatcher(object):
    def start(self, cb, obj):
        cb(obj)

    def stop(self):
        pass


@case('bench_hub.wait_ready', 'ns')
def hub_wait_ready():
    """hub.wait(watcher) with a watcher whose start() calls back at once. ns/wait."""
    watcher = _ReadyWatcher()
    hub = get_hub()
    t0 = perf_counter()
    for _ in range(HUB_LOOPS):
        for _ in range(HUB_N):
            hub.wait(watcher)
    return (perf_counter() - t0) / (HUB_LOOPS * HUB_N) * 1e9


class _CancelWatcher(object):
    active = True
    callback = object()

    def close(self):
        pass


@case('bench_hub.cancel_wait', 'ns')
def hub_cancel_wait():
    """N x hub.cancel_wait(watcher, None, True), then one sleep(0) runs the N scheduled
    callbacks, then hub.destroy(True); the next get_hub() makes a new hub. ns/cancel.

    gevent's file runs the callbacks by hand from loop._callbacks instead; that leaves the
    default loop referenced once per callback (activecnt 1000 after the destroy), so a later
    gevent.wait() in this process would never return. The loop runs them here, as on the
    Rust side."""
    watcher = _CancelWatcher()
    t0 = perf_counter()
    for _ in range(HUB_LOOPS):
        hub = get_hub()
        for _ in range(HUB_N):
            hub.cancel_wait(watcher, None, True)
        sleep(0)
        hub.destroy(True)
    return (perf_counter() - t0) / (HUB_LOOPS * HUB_N) * 1e9


@case('bench_hub.switch', 'ns')
def hub_switch():
    """main -> child -> stand-in hub (a Hub subclass switching to its parent) -> main. ns/round trip."""
    class Parent(type(get_hub())):
        def run(self):
            parent = self.parent
            for _ in range(HUB_N):
                parent.switch()

    def child():
        parent = getcurrent().parent
        for _ in range(HUB_N):
            parent.switch()

    total = 0.0
    for _ in range(HUB_LOOPS):
        hub = Parent(None, None)
        child_greenlet = greenlet_mod.greenlet(child, hub)
        sw = child_greenlet.switch
        t0 = perf_counter()
        for _ in range(HUB_N):
            sw()
        total += perf_counter() - t0
        sw()  # ends the child, then the stand-in hub (as the Rust side does)
        assert child_greenlet.dead and hub.dead
    return total / (HUB_LOOPS * HUB_N) * 1e9


# =========================================================================== bench_sleep0

def _sleep0(loops, arg, scale):
    """loops x 100 x gevent.sleep(arg) in the main greenlet alone, per sleep (setswitchinterval
    as gevent's file sets it, restored afterwards)."""
    old = sys.getswitchinterval()
    gevent.setswitchinterval(1000)
    try:
        t0 = perf_counter()
        for _ in range(loops):
            for _ in range(100):
                sleep(arg)
        return (perf_counter() - t0) / (loops * 100) * scale
    finally:
        sys.setswitchinterval(old)


for _name, _arg, _loops, _unit, _scale in (
        ('bench_sleep0.gevent_sleep_0', 0, 1000, 'ns', 1e9),
        ('bench_sleep0.gevent_sleep_minus1', -1, 1000, 'ns', 1e9),
        ('bench_sleep0.gevent_sleep_1e_05', 0.00001, 20, 'us', 1e6),
        ('bench_sleep0.gevent_sleep_0_001', 0.001, 1, 'us', 1e6)):
    add(_name, _unit, (lambda l=_loops, a=_arg, s=_scale: _sleep0(l, a, s)))


# =========================================================================== bench_spawn

SPAWN_N = 10000
SPAWN_LOOPS = 10
_counter = [0]


def _incr(**_kwargs):
    _counter[0] += 1


def _spawn_batches(spawn_fn, kwargs, do_sleep, join=None, scheduled=True):
    """gevent's bench_spawn `test`: SPAWN_LOOPS x (N spawns timed; with do_sleep the sleep(0)
    that runs them timed; then join() if given). Without do_sleep the batch runs untimed.
    Returns (spawn seconds, sleep seconds)."""
    t_spawn = t_sleep = 0.0
    for _ in range(SPAWN_LOOPS):
        _counter[0] = 0
        t0 = perf_counter()
        for _ in range(SPAWN_N):
            spawn_fn(_incr, **kwargs)
        t_spawn += perf_counter() - t0
        if do_sleep:
            assert _counter[0] == 0, _counter[0]
            t1 = perf_counter()
            sleep(0)
            t_sleep += perf_counter() - t1
            assert _counter[0] == SPAWN_N, _counter[0]
        elif scheduled:
            sleep(0)
            assert _counter[0] == SPAWN_N, _counter[0]
        if join is not None:
            join()
    return t_spawn, t_sleep


def _per_greenlet(s):
    return s / (SPAWN_LOOPS * SPAWN_N) * 1e9


def _none_spawn(f, **kwargs):
    return f(**kwargs)


_KW = dict(foo=1, bar='hello')


def _spawn_case(kind, what, kwargs):
    """One bench_spawn case: `kind` in none/gevent/geventraw/geventpool, `what` in
    spawn/sleep/join. ns/greenlet."""
    def run():
        join = None
        if kind == 'none':
            fn, scheduled = _none_spawn, False
        elif kind == 'gevent':
            fn, scheduled = spawn, True
        elif kind == 'geventraw':
            fn, scheduled = spawn_raw, True
        else:
            p = Pool()
            fn, scheduled = p.spawn, True
            if what == 'join':
                join = p.join
        ts, tl = _spawn_batches(fn, kwargs, what in ('sleep', 'join'), join, scheduled)
        return _per_greenlet(ts if what == 'spawn' else tl)
    return run


for _kind in ('gevent', 'geventpool', 'geventraw', 'none'):
    add('bench_spawn.%s_spawn' % _kind, 'ns', _spawn_case(_kind, 'spawn', {}))
    if _kind != 'none':
        add('bench_spawn.%s_sleep' % _kind, 'ns', _spawn_case(_kind, 'sleep', {}))
add('bench_spawn.geventpool_join', 'ns', _spawn_case('geventpool', 'join', {}))
for _kind in ('gevent', 'geventpool', 'geventraw', 'none'):
    add('bench_spawn.%s_spawn_kwarg' % _kind, 'ns', _spawn_case(_kind, 'spawn', _KW))


# =========================================================================== bench_local

LOCAL_LOOPS = 100000


class _GLocalSub(glocal):
    pass


class _NativeSub(threading.local):
    pass


def _populate(l):
    for i in range(10):
        setattr(l, 'attr' + str(i), i)


def _getattr(local):
    """gevent's bench_getattr: LOCAL_LOOPS x (local.attr0 .. local.attr9). ns/access."""
    t0 = perf_counter()
    for _ in range(LOCAL_LOOPS):
        # pylint:disable=pointless-statement
        local.attr0
        local.attr1
        local.attr2
        local.attr3
        local.attr4
        local.attr5
        local.attr6
        local.attr7
        local.attr8
        local.attr9
    return (perf_counter() - t0) / (LOCAL_LOOPS * 10) * 1e9


def _setattr(local):
    """gevent's bench_setattr: LOCAL_LOOPS x (local.attr0 = 0 .. local.attr9 = 9). ns/access."""
    t0 = perf_counter()
    for _ in range(LOCAL_LOOPS):
        local.attr0 = 0
        local.attr1 = 1
        local.attr2 = 2
        local.attr3 = 3
        local.attr4 = 4
        local.attr5 = 5
        local.attr6 = 6
        local.attr7 = 7
        local.attr8 = 8
        local.attr9 = 9
    return (perf_counter() - t0) / (LOCAL_LOOPS * 10) * 1e9


for _name, _obj in (('gevent', glocal()), ('gevent_sub', _GLocalSub()),
                    ('native', threading.local()), ('native_sub', _NativeSub())):
    _populate(_obj)
    add('bench_local.getattr_' + _name, 'ns', (lambda o=_obj: _getattr(o)))
    add('bench_local.setattr_' + _name, 'ns', (lambda o=_obj: _setattr(o)))


# =========================================================================== bench_threadpool / bench_pool

MAP_N = 20
PAR_COUNT = 5


def _noop():
    "Does nothing"


def _identity(i):
    return i


def _pool_case(make, loops, what, par):
    """bench_threadpool.py's cases on `make` (ThreadPool or gevent.pool.Pool): `loops` x one
    loop of MAP_N tasks, then join() and kill(), timed; the pool is made untimed
    (_ppool: PAR_COUNT with size = PAR_COUNT). us per loop of 20 tasks."""
    def run():
        if par:
            pool = make(PAR_COUNT)
            pool.size = PAR_COUNT
        else:
            pool = make(1)
        data = [1] * MAP_N
        t0 = perf_counter()
        if what == 'apply':
            for _ in range(loops):
                for _ in range(MAP_N):
                    pool.apply(_noop)
        elif what == 'spawn':
            for _ in range(loops):
                for _ in range(MAP_N):
                    pool.spawn(_noop).get()
        else:
            func = getattr(pool, what)
            for _ in range(loops):
                out = list(func(_identity, data))
                assert len(out) == MAP_N
        pool.join()
        pool.kill()
        return (perf_counter() - t0) / loops * 1e6
    return run


for _prefix, _make, _loops in (('bench_threadpool', ThreadPool, 50), ('bench_pool', Pool, 500)):
    for _name, _what, _par in (('imap_unordered_seq', 'imap_unordered', False),
                               ('imap_unordered_par', 'imap_unordered', True),
                               ('imap_seq', 'imap', False),
                               ('imap_par', 'imap', True),
                               ('map_seq', 'map', False),
                               ('map_par', 'map', True),
                               ('apply', 'apply', False),
                               ('spawn', 'spawn', False)):
        add('%s.%s' % (_prefix, _name), 'us/20tasks', _pool_case(_make, _loops, _what, _par))


# =========================================================================== bench_sendall / bench_socket

SOCK_N = 10
LENGTH = 50 * 1024 * 1024
SMALL = 1000
_BIG = []  # made on first use


def _big():
    if not _BIG:
        _BIG.append(b'x' * LENGTH)
    return _BIG[0]


def _recvall(sock, _=None):
    while sock.recv(4096):
        pass


_SENDALL = {}


def _sendall_setup():
    if not _SENDALL:
        server = StreamServer(('127.0.0.1', 0), _recvall)
        server.start()
        conn = gsocket.create_connection((server.server_host, server.server_port))
        _SENDALL.update(server=server, conn=conn)
    return _SENDALL['conn']


def _sendall_teardown():
    if _SENDALL:
        _SENDALL['conn'].close()
        _SENDALL['server'].stop()
        _SENDALL.clear()


@case('bench_sendall.sendall', 'ms/50MiB', kind='sendall')
def sendall_case():
    """N x conn.sendall(50 MiB) to a StreamServer on 127.0.0.1 reading recv(4096). ms/sendall."""
    conn = _sendall_setup()
    data = _big()
    t0 = perf_counter()
    for _ in range(SOCK_N):
        conn.sendall(data)
    return (perf_counter() - t0) / SOCK_N * 1e3


def _sendall_n(conn, data):
    """gevent's _sendall: N x sendall, then close (untimed). ms/sendall."""
    t0 = perf_counter()
    for _ in range(SOCK_N):
        conn.sendall(data)
    taken = perf_counter() - t0
    conn.close()
    return taken / SOCK_N * 1e3


def _reap(pid):
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def _do_sendall_fork(send, recv):
    """gevent's _do_sendall: a forked child (os.fork) reads; the parent sends."""
    sys.stdout.flush()
    pid = os.fork()
    if not pid:
        code = 0
        try:
            send.close()
            _recvall(recv)
            recv.close()
        except BaseException:  # pylint:disable=broad-except
            code = 1
        os._exit(code)
    try:
        return _sendall_n(send, _big())
    finally:
        send.close()
        recv.close()
        _reap(pid)


@case('bench_socket.gevent_socketpair_sendall_greenlet', 'ms/50MiB')
def socket_gevent_greenlet():
    """gevent socketpair, reader greenlet. ms per 50 MiB sendall."""
    send, recv = gsocket.socketpair()
    g = spawn(_recvall, recv)
    v = _sendall_n(send, _big())
    g.get()
    recv.close()
    return v


@case('bench_socket.native_socketpair_sendall_thread', 'ms/50MiB')
def socket_native_thread():
    """Python socketpair, reader thread. ms per 50 MiB sendall."""
    send, recv = socket.socketpair()
    t = threading.Thread(target=_recvall, args=(recv, None))
    t.daemon = True
    t.start()
    v = _sendall_n(send, _big())
    t.join()
    recv.close()
    return v


@case('bench_socket.gevent_socketpair_sendall_fork', 'ms/50MiB')
def socket_gevent_fork():
    """gevent socketpair, reader in a forked child. ms per 50 MiB sendall."""
    send, recv = gsocket.socketpair()
    return _do_sendall_fork(send, recv)


@case('bench_socket.native_socketpair_sendall_fork', 'ms/50MiB')
def socket_native_fork():
    """Python socketpair, reader in a forked child. ms per 50 MiB sendall."""
    send, recv = socket.socketpair()
    return _do_sendall_fork(send, recv)


def _sendto(conn):
    """N x (1000-byte sendto until 50 MiB are sent) to a socket of our own on 127.0.0.1,
    never read. ms per 50 MiB."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(('127.0.0.1', 0))
    addr = sink.getsockname()
    data = b'x' * SMALL
    spent = 0.0
    try:
        for _ in range(SOCK_N):
            sent = 0
            t0 = perf_counter()
            while sent < LENGTH:
                sent += conn.sendto(data, 0, addr)
            spent += perf_counter() - t0
    finally:
        conn.close()
        sink.close()
    return spent / SOCK_N * 1e3


@case('bench_socket.native_udp_sendto', 'ms/50MiB')
def socket_native_udp():
    """Python UDP socket."""
    return _sendto(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))


@case('bench_socket.gevent_udp_sendto', 'ms/50MiB')
def socket_gevent_udp():
    """gevent UDP socket."""
    return _sendto(gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM))


# =========================================================================== bench_get_memory

GM_N = 100
GM_LOOPS = 10000

try:
    buffer  # pylint:disable=used-before-assignment
except NameError:
    buffer = memoryview  # pylint:disable=redefined-builtin


def get_memory_gevent14(data):
    try:
        mv = memoryview(data)
        if mv.shape:
            return mv
        return mv.tobytes()
    except TypeError:
        return buffer(data)


def get_memory_is(data):
    try:
        mv = memoryview(data) if type(data) is not memoryview else data  # pylint:disable=unidiomatic-typecheck
        if mv.shape:
            return mv
        return mv.tobytes()
    except TypeError:
        return buffer(data)


def get_memory_inst(data):
    try:
        mv = memoryview(data) if not isinstance(data, memoryview) else data
        if mv.shape:
            return mv
        return mv.tobytes()
    except TypeError:
        return buffer(data)


def _get_memory(func, arg):
    """gevent's bench_get_memory test: GM_LOOPS x N calls of func(arg). ns/call."""
    t0 = perf_counter()
    for _ in range(GM_LOOPS):
        for _ in range(GM_N):
            func(arg)
    return (perf_counter() - t0) / (GM_LOOPS * GM_N) * 1e9


def _register_get_memory():
    from gevent._greenlet_primitives import get_memory as cy_get_memory
    data = (('bytestring', b'abc123'),
            ('bytearray', bytearray(b'abc123')),
            ('memoryview', memoryview(b'abc123')))
    for func, name in ((get_memory_gevent14, 'gevent14_py'), (cy_get_memory, 'inst_cy'),
                       (get_memory_inst, 'inst_py'), (get_memory_is, 'is_py')):
        for arg_name, arg in data:
            add('bench_get_memory.%s_%s' % (name, arg_name), 'ns',
                (lambda f=func, a=arg: _get_memory(f, a)))


_register_get_memory()


# =========================================================================== bench_micro

def _f():
    return 5


def _l(*_args):
    return 5


def _run_loop():
    gevent.wait()


@case('bench_micro.get_hub', 'ns/call')
def micro_get_hub():
    """get_hub(). ns/call."""
    n = 1000000
    t0 = perf_counter()
    for _ in range(n):
        get_hub()
    return (perf_counter() - t0) / n * 1e9


@case('bench_micro.getcurrent', 'ns/call')
def micro_getcurrent():
    """getcurrent(). ns/call."""
    n = 1000000
    t0 = perf_counter()
    for _ in range(n):
        getcurrent()
    return (perf_counter() - t0) / n * 1e9


def _batched_spawn(fn):
    """10 batches of 10000 x fn(_f), each batch run (wait()) untimed. ns/greenlet."""
    total = 0.0
    for _ in range(10):
        t0 = perf_counter()
        for _ in range(10000):
            fn(_f)
        total += perf_counter() - t0
        _run_loop()
    return total / 100000 * 1e9


@case('bench_micro.spawn', 'ns/greenlet')
def micro_spawn():
    """spawn(f), batched."""
    return _batched_spawn(spawn)


@case('bench_micro.spawn_join', 'ns/greenlet')
def micro_spawn_join():
    """spawn(f).join(). ns per spawn + join."""
    n = 50000
    t0 = perf_counter()
    for _ in range(n):
        spawn(_f).join()
    return (perf_counter() - t0) / n * 1e9


@case('bench_micro.spawn_10000_wait', 'ns/greenlet')
def micro_spawn_10000_wait():
    """10 x (10000 x spawn(f); wait()). ns/greenlet."""
    wait = gevent.wait
    t0 = perf_counter()
    for _ in range(10):
        for _ in range(10000):
            spawn(_f)
        wait()
    return (perf_counter() - t0) / 100000 * 1e9


@case('bench_micro.spawn_raw', 'ns/greenlet')
def micro_spawn_raw():
    """spawn_raw(f), batched."""
    return _batched_spawn(spawn_raw)


CALLBACKS = 50000


def _run_callback(k, then_wait):
    """CALLBACKS/k x (k x get_hub().loop.run_callback(f) [; wait()]); what piled up runs
    untimed at the end. ns/callback."""
    run_cb = get_hub().loop.run_callback
    wait = gevent.wait
    stmts = CALLBACKS // k
    t0 = perf_counter()
    if then_wait:
        for _ in range(stmts):
            for _ in range(k):
                run_cb(_f)
            wait()
    else:
        for _ in range(stmts):
            for _ in range(k):
                run_cb(_f)
    dt = perf_counter() - t0
    _run_loop()
    return dt / (stmts * k) * 1e9


for _k in (1, 100, 10000):
    add('bench_micro.run_callback_%d' % _k, 'ns/callback', (lambda k=_k: _run_callback(k, False)))
    add('bench_micro.run_callback_%d_wait' % _k, 'ns/callback',
        (lambda k=_k: _run_callback(k, True)))

LINKS = 50000


@case('bench_micro.greenlet_link_1000', 'ns/link')
def micro_link_1000():
    """LINKS/1000 x (1000 x g.link(l)) on a greenlet that never runs while timed; it and the
    links run at the end. ns/link."""
    g = spawn(_f)
    link = g.link
    stmts = LINKS // 1000
    t0 = perf_counter()
    for _ in range(stmts):
        for _ in range(1000):
            link(_l)
    dt = perf_counter() - t0
    _run_loop()
    assert g.dead
    return dt / (stmts * 1000) * 1e9


def _link_join(k):
    """k x g.link(l); g.join(): the first statement (untimed) runs g, the timed ones link to a
    dead g (join returns at once); the links run after. ns/link."""
    g = spawn(_f)
    link, join = g.link, g.join
    for _ in range(k):
        link(_l)
    join()
    _run_loop()
    stmts = max(1, LINKS // k)
    t0 = perf_counter()
    for _ in range(stmts):
        for _ in range(k):
            link(_l)
        join()
    dt = perf_counter() - t0
    _run_loop()
    return dt / (stmts * k) * 1e9


for _k in (10, 100, 1000, 10000, 100000):
    add('bench_micro.greenlet_link_%d_join' % _k, 'ns/link', (lambda k=_k: _link_join(k)))


@case('bench_micro.semaphore_release', 'ns/release')
def micro_semaphore_release():
    """s.release() on s = Semaphore(). ns/release."""
    s = Semaphore()
    rel = s.release
    n = 1000000
    t0 = perf_counter()
    for _ in range(n):
        rel()
    return (perf_counter() - t0) / n * 1e9


@case('bench_micro.semaphore_spawn_raw_release_acquire', 'ns/pair')
def micro_semaphore_pair():
    """spawn_raw(s.release); s.acquire() on Semaphore(0). ns/pair."""
    s = Semaphore(0)
    rel, acq = s.release, s.acquire
    n = 100000
    t0 = perf_counter()
    for _ in range(n):
        spawn_raw(rel)
        acq()
    return (perf_counter() - t0) / n * 1e9


@case('bench_micro.semaphore_spawn_raw_release_acquire_x4', 'ns/pair')
def micro_semaphore_pair_x4():
    """4 x spawn_raw(s.release); 4 x s.acquire(). ns/pair."""
    s = Semaphore(0)
    rel, acq = s.release, s.acquire
    n = 25000
    t0 = perf_counter()
    for _ in range(n):
        spawn_raw(rel)
        spawn_raw(rel)
        spawn_raw(rel)
        spawn_raw(rel)
        acq()
        acq()
        acq()
        acq()
    return (perf_counter() - t0) / (n * 4) * 1e9


def _micro_sleep(secs, n, scale):
    """n x sleep(secs), per sleep."""
    t0 = perf_counter()
    for _ in range(n):
        sleep(secs)
    return (perf_counter() - t0) / n * scale


add('bench_micro.sleep_0', 'ns/sleep', lambda: _micro_sleep(0, 100000, 1e9))
add('bench_micro.sleep_1e_05', 'us/sleep', lambda: _micro_sleep(0.00001, 2000, 1e6))
add('bench_micro.sleep_0_0001', 'us/sleep', lambda: _micro_sleep(0.0001, 1000, 1e6))
add('bench_micro.sleep_0_001', 'us/sleep', lambda: _micro_sleep(0.001, 100, 1e6))


# =========================================================================== gevent_bench.rs

@case('greenlet_raw_switch', 'ns/switch')
def gb_greenlet_raw_switch(n=200000):
    """Bare greenlet.switch() ping-pong, no hub. ns/switch."""
    main = getcurrent()
    half = n // 2

    def other():
        sw = main.switch
        for _ in range(half):
            sw()

    g = greenlet_mod.greenlet(other)
    sw = g.switch
    t0 = perf_counter()
    for _ in range(half):
        sw()
    dt = perf_counter() - t0
    sw()
    return dt / n * 1e9


@case('switch_sleep0', 'ns/switch')
def gb_switch_sleep0(n=200000):
    """Two greenlets alternating with sleep(0). ns per sleep(0) handoff."""
    half = n // 2

    def worker():
        for _ in range(half):
            sleep(0)

    t0 = perf_counter()
    joinall([spawn(worker), spawn(worker)])
    return (perf_counter() - t0) / n * 1e9


@case('handoff_waiter', 'ns/handoff')
def gb_handoff_waiter(n=100000):
    """Targeted handoff with Waiter + loop.run_callback. ns/handoff."""
    run_callback = get_hub().loop.run_callback
    half = n // 2
    box = {}

    def ponger():
        for _ in range(half):
            w = Waiter()
            box['pong'] = w
            w.get()
            run_callback(box.pop('ping').switch, None)

    def pinger():
        for _ in range(half):
            w = Waiter()
            box['ping'] = w
            run_callback(box.pop('pong').switch, None)
            w.get()

    t0 = perf_counter()
    joinall([spawn(ponger), spawn(pinger)])
    return (perf_counter() - t0) / n * 1e9


@case('handoff_event', 'ns/handoff')
def gb_handoff_event(n=100000):
    """Ping-pong through two Events (set / wait / clear). ns/handoff."""
    ea, eb = Event(), Event()
    half = n // 2

    def ponger():
        for _ in range(half):
            eb.wait()
            eb.clear()
            ea.set()

    def pinger():
        for _ in range(half):
            eb.set()
            ea.wait()
            ea.clear()

    t0 = perf_counter()
    joinall([spawn(ponger), spawn(pinger)])
    return (perf_counter() - t0) / n * 1e9


@case('handoff_asyncresult', 'ns/handoff')
def gb_handoff_asyncresult(n=100000):
    """Ping-pong with a fresh AsyncResult per message. ns/handoff."""
    half = n // 2
    req = [AsyncResult()]

    def ponger():
        for _ in range(half):
            reply = req[0].get()
            req[0] = AsyncResult()
            reply.set(None)

    def pinger():
        for _ in range(half):
            reply = AsyncResult()
            req[0].set(reply)
            reply.get()

    t0 = perf_counter()
    joinall([spawn(ponger), spawn(pinger)])
    return (perf_counter() - t0) / n * 1e9


def _noop_ret():
    return None


@case('spawn_joinall_100k', 'us/greenlet')
def gb_spawn_joinall(n=100000):
    """spawn(noop) n times, then joinall. us/greenlet."""
    t0 = perf_counter()
    gs = [spawn(_noop_ret) for _ in range(n)]
    joinall(gs)
    dt = perf_counter() - t0
    assert all(g.successful() for g in gs)
    return dt / n * 1e6


@case('spawn_join_serial_50k', 'us/greenlet')
def gb_spawn_join_serial(n=50000):
    """Greenlet.spawn(noop).join() one at a time. us per spawn + join."""
    gspawn = gevent.Greenlet.spawn
    t0 = perf_counter()
    for _ in range(n):
        gspawn(_noop_ret).join()
    return (perf_counter() - t0) / n * 1e6


_TIMER_N = 100000
_TIMER_MAX = 0.010


@case('timers_100k_wall', 's', kind='timers')
def gb_timers(n=_TIMER_N):
    """100k greenlets each sleeping uniform(0, 10 ms) (fixed seed), joinall. wall seconds."""
    rnd = random.Random(12345)
    delays = [rnd.uniform(0.0, _TIMER_MAX) for _ in range(n)]
    t0 = perf_counter()
    joinall([spawn(sleep, d) for d in delays])
    return perf_counter() - t0


def _queue_run(n, maxsize):
    q = Queue(maxsize) if maxsize else Queue()
    put, get = q.put, q.get

    def producer():
        for i in range(n):
            put(i)

    def consumer():
        s = 0
        for _ in range(n):
            s += get()
        return s

    t0 = perf_counter()
    c = spawn(consumer)
    p = spawn(producer)
    joinall([p, c])
    dt = perf_counter() - t0
    assert c.value == n * (n - 1) // 2
    return dt / n * 1e9


@case('queue_unbounded', 'ns/item')
def gb_queue_unbounded():
    """Producer -> Queue() -> consumer. ns/item."""
    return _queue_run(200000, None)


@case('queue_bounded1', 'ns/item')
def gb_queue_bounded1():
    """Producer -> Queue(1) -> consumer. ns/item."""
    return _queue_run(200000, 1)


@case('lock_uncontended', 'ns/pair')
def gb_lock_uncontended(n=100000):
    """Semaphore(1) acquire+release by one greenlet. ns/pair."""
    lock = Semaphore(1)
    acq, rel = lock.acquire, lock.release
    t0 = perf_counter()
    for _ in range(n):
        acq()
        rel()
    return (perf_counter() - t0) / n * 1e9


@case('lock_contended', 'ns/pair', kind='pair')
def gb_lock_contended(n=100000):
    """Two greenlets: acquire; sleep(0); release; sleep(0). (ns/pair, minus 2 x sleep(0))."""
    lock = Semaphore(1)
    half = n // 2

    def worker():
        acq, rel = lock.acquire, lock.release
        for _ in range(half):
            acq()
            sleep(0)
            rel()
            sleep(0)

    def baseline():
        for _ in range(half):
            sleep(0)
            sleep(0)

    t0 = perf_counter()
    joinall([spawn(worker), spawn(worker)])
    t1 = perf_counter()
    joinall([spawn(baseline), spawn(baseline)])
    t2 = perf_counter()
    raw = (t1 - t0) / n * 1e9
    return raw, raw - (t2 - t1) / n * 1e9


@case('sem_pingpong', 'ns/handoff')
def gb_sem_pingpong(n=100000):
    """Two Semaphore(0) as binary signals. ns/handoff."""
    sa, sb = Semaphore(0), Semaphore(0)
    half = n // 2

    def ponger():
        for _ in range(half):
            sb.acquire()
            sa.release()

    def pinger():
        for _ in range(half):
            sb.release()
            sa.acquire()

    t0 = perf_counter()
    joinall([spawn(ponger), spawn(pinger)])
    return (perf_counter() - t0) / n * 1e9


def _vmrss_kib():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS')


def mem_child(n):
    """In a fresh interpreter: RSS growth per greenlet for n greenlets parked on one Event."""
    ev = Event()
    get_hub()

    def blocked():
        ev.wait()

    warm = [spawn(blocked) for _ in range(10)]
    sleep(0)
    ev.set()
    joinall(warm)
    ev.clear()
    del warm
    gc.collect()
    rss0 = _vmrss_kib()
    gs = [spawn(blocked) for _ in range(n)]
    sleep(0)
    assert sum(1 for g in gs if g and not g.dead) == n, 'not all greenlets blocked'
    gc.collect()
    rss1 = _vmrss_kib()
    ev.set()
    joinall(gs)
    print('%.4f' % ((rss1 - rss0) / n))


def _mem(n):
    out = subprocess.check_output([sys.executable, os.path.abspath(__file__),
                                   '--mem-child', str(n)])
    return float(out.decode().strip().splitlines()[-1])


add('mem_blocked_10k', 'KiB/greenlet', lambda: _mem(10000))
add('mem_blocked_100k', 'KiB/greenlet', lambda: _mem(100000))


# =========================================================================== bench_queue.rs

Q_N = 1000
Q_LOOPS = 200


def _q_no_block(q):
    for i in range(Q_N):
        q.put(i)
    for i in range(Q_N):
        j = q.get()
        assert i == j, (i, j)


def _q_block(q, hub=False):
    def get():
        for i in range(Q_N):
            j = q.get()
            assert i == j
        return 'Finished'

    g = spawn(get)
    if not hub:
        for i in range(Q_N):
            q.put(i)
    else:
        def put():
            assert getcurrent() is get_hub()
            for i in range(Q_N):
                q.put(i)
        h = get_hub()
        h.loop.run_callback(put)
        h.join()
    g.join()
    assert g.value == 'Finished'


def _queue_case(body):
    """gevent's bench_queue.py case: Q_LOOPS calls of body() of Q_N items each. ns/item."""
    def run():
        t0 = perf_counter()
        for _ in range(Q_LOOPS):
            body()
        return (perf_counter() - t0) / (Q_LOOPS * Q_N) * 1e9
    return run


for _name, _body in (
        ('bench_unbounded_queue_noblock', lambda: _q_no_block(UnboundQueue())),
        ('bench_bounded_queue_noblock', lambda: _q_no_block(Queue(Q_N + 1))),
        ('bench_bounded_queue_block', lambda: _q_block(Queue(1))),
        ('bench_channel', lambda: _q_block(Channel())),
        ('bench_bounded_queue_block_hub', lambda: _q_block(Queue(1), True)),
        ('bench_channel_hub', lambda: _q_block(Channel(), True)),
        ('bench_unbounded_priority_queue_noblock', lambda: _q_no_block(PriorityQueue())),
        ('bench_bounded_priority_queue_noblock', lambda: _q_no_block(PriorityQueue(Q_N + 1)))):
    add(_name, 'ns/item', _queue_case(_body))


# =========================================================================== driver

def fmt(x):
    """The Rust benches' number format."""
    if x >= 100:
        return '%.0f' % x
    if x >= 10:
        return '%.1f' % x
    return '%.3f' % x


def emit(name, vals, unit):
    vals = sorted(vals)
    print('%-44s %s %s  # min %s max %s n=%d' % (
        name, fmt(vals[len(vals) // 2]), unit, fmt(vals[0]), fmt(vals[-1]), len(vals)))
    sys.stdout.flush()


def emit_derived(name, value, unit, note):
    print('%-44s %s %s  # %s' % (name, fmt(value), unit, note))
    sys.stdout.flush()


def run_case(name, fn, unit, kind, reps):
    if kind == 'sendall':
        # The server keeps the loop busy: stop it before the next case (a later wait() would
        # never return).
        try:
            return run_case(name, fn, unit, None, reps)
        finally:
            _sendall_teardown()
    gc.collect()
    fn()  # warm-up, not recorded
    vals = []
    for _ in range(reps):
        gc.collect()
        vals.append(fn())
    if kind == 'pair':
        emit(name, [v[0] for v in vals], unit)
        nets = sorted(v[1] for v in vals)
        emit_derived(name + '_net', nets[len(nets) // 2], unit, 'median of the same reps')
    elif kind == 'timers':
        emit(name, vals, unit)
        med = sorted(vals)[len(vals) // 2]
        emit_derived('timers_100k_overhead', (med - _TIMER_MAX) * 1e3, 'ms',
                     'from the median wall')
        emit_derived('timers_100k_overhead_per', (med - _TIMER_MAX) / _TIMER_N * 1e6,
                     'us/greenlet', 'from the median wall')
    else:
        emit(name, vals, unit)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--only', default=None, help='substring filter on case names')
    ap.add_argument('--list', action='store_true', help='print the names and units only')
    ap.add_argument('--mem-child', type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mem_child is not None:
        mem_child(args.mem_child)
        return
    if args.reps < 1:
        ap.error('--reps must be at least 1')
    selected = [c for c in CASES if not args.only or args.only in c[0]]
    if args.list:
        for name, unit, _, kind in selected:
            print(name, unit)
            if kind == 'pair':
                print(name + '_net', unit)
            elif kind == 'timers':
                print('timers_100k_overhead ms')
                print('timers_100k_overhead_per us/greenlet')
        return
    print('# gevent %s greenlet %s python %s loop %s backend %s' % (
        gevent.__version__, greenlet_mod.__version__, sys.version.split()[0],
        type(get_hub().loop).__module__, get_hub().loop.backend))
    for name, unit, fn, kind in selected:
        run_case(name, fn, unit, kind, args.reps)


if __name__ == '__main__':
    main()
