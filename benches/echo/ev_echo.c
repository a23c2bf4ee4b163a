/* ev_echo: a TCP echo server on raw libev, the "ceiling" of the echo
 * benchmark: what the crate's own libev can do with no greenlets on top.
 *
 *   ev_echo PORT [--threads N] [--reuseport]
 *
 * Binds 127.0.0.1:PORT (0 picks a free port), backlog 1024, and prints
 * "listening PORT" on stdout once it accepts.
 *
 * One loop per thread, one thread by default. Each connection has one
 * ev_io, normally watching EV_READ: a read takes up to 64 KiB and sends it
 * straight back. Only when the send comes up short does the watcher switch
 * to EV_WRITE (keeping the unsent tail), and back to EV_READ once it has
 * all gone. The steady state is therefore recv + send per request and no
 * epoll_ctl (IO_NOTES section 2.6).
 *
 * --threads N runs N independent loops, each with its own SO_REUSEPORT
 * listener on the same port, so the kernel spreads the connections (the
 * same shape as the crate's --hubs N). Threads rather than processes, so
 * that one PID covers all of them for the CPU accounting. --reuseport alone
 * sets SO_REUSEPORT on a single loop, for running several processes by
 * hand.
 *
 * Built against the crate's libev with the crate's configuration header;
 * see README.md beside this file, or benches/compare.sh:
 *   cc -O2 -Iinclude -Ilibev -include gevent_ev_config.h -c libev/ev.c
 *   cc -O2 -Iinclude -Ilibev -c benches/echo/ev_echo.c
 *   cc -pthread ev_echo.o ev.o -lm -o ev_echo
 */
#define _GNU_SOURCE
#include "gevent_ev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_ACCEPT 64 /* accepts per listener wakeup */
#define MAX_THREADS 64

/* One loop: its listener and the read buffer that all its connections
 * share (a connection needs its own bytes only while a send is short). */
struct server {
    struct ev_loop *loop;
    ev_io listener;
    pthread_t thread;
    char buf[BUF_SIZE];
};

struct conn {
    ev_io io;           /* first member: the callback casts back */
    struct server *srv;
    char *pending;      /* unsent tail after a short send, or NULL */
    size_t off, len;
};

static void conn_free(struct conn *c) {
    ev_io_stop(c->srv->loop, &c->io);
    close(c->io.fd);
    free(c->pending);
    free(c);
}

/* Switch the single watcher between EV_READ and EV_WRITE. */
static void conn_watch(struct conn *c, int events) {
    struct ev_loop *loop = c->srv->loop;
    ev_io_stop(loop, &c->io);
    ev_io_set(&c->io, c->io.fd, events);
    ev_io_start(loop, &c->io);
}

/* Sends data[0..len); returns how much went out, or -1 on a real error. */
static ssize_t send_some(int fd, const char *data, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
        if (n >= 0) {
            done += (size_t)n;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            return -1;
        }
    }
    return (ssize_t)done;
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents) {
    struct conn *c = (struct conn *)w;
    (void)loop;
    if (revents & EV_WRITE) {
        ssize_t n = send_some(w->fd, c->pending + c->off, c->len - c->off);
        if (n < 0) {
            conn_free(c);
            return;
        }
        c->off += (size_t)n;
        if (c->off == c->len) {
            free(c->pending);
            c->pending = NULL;
            conn_watch(c, EV_READ);
        }
        return;
    }
    char *buf = c->srv->buf;
    ssize_t n = recv(w->fd, buf, BUF_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_free(c);
        return;
    }
    ssize_t sent = send_some(w->fd, buf, (size_t)n);
    if (sent < 0) {
        conn_free(c);
        return;
    }
    if (sent < n) {
        c->len = (size_t)(n - sent);
        c->off = 0;
        c->pending = malloc(c->len);
        if (!c->pending) {
            conn_free(c);
            return;
        }
        memcpy(c->pending, buf + sent, c->len);
        conn_watch(c, EV_WRITE);
    }
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents) {
    struct server *srv = (struct server *)((char *)w - offsetof(struct server, listener));
    static int emfile_said;
    (void)revents;
    for (int i = 0; i < MAX_ACCEPT; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && !emfile_said) {
                emfile_said = 1;
                perror("ev_echo: accept");
            }
            return; /* EAGAIN: drained; anything else: try again later */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        ev_io_init(&c->io, on_conn, fd, EV_READ);
        ev_io_start(loop, &c->io);
    }
}

static int listen_on(int port, int reuseport) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
        perror("ev_echo: socket");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        perror("ev_echo: SO_REUSEPORT");
        exit(1);
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0) {
        perror("ev_echo: bind/listen");
        exit(1);
    }
    return fd;
}

static int bound_port(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("ev_echo: getsockname");
        exit(1);
    }
    return ntohs(a.sin_port);
}

static void *run_loop(void *arg) {
    struct server *srv = arg;
    ev_run(srv->loop, 0);
    return NULL;
}

static void usage(const char *why) {
    fprintf(stderr, "ev_echo: %s\nusage: ev_echo PORT [--threads N] [--reuseport]\n", why);
    exit(2);
}

int main(int argc, char **argv) {
    int port = -1, threads = 1, reuseport = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--reuseport")) {
            reuseport = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage("help");
        } else if (port < 0 && argv[i][0] != '-') {
            port = atoi(argv[i]);
        } else {
            usage("bad argument");
        }
    }
    if (port < 0 || port > 65535)
        usage("PORT is required");
    if (threads < 1 || threads > MAX_THREADS)
        usage("--threads must be 1..64");
    if (threads > 1)
        reuseport = 1;
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    static struct server *servers[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        struct server *srv = calloc(1, sizeof *srv);
        if (!srv) {
            perror("ev_echo: calloc");
            return 1;
        }
        int fd = listen_on(port, reuseport);
        if (port == 0)
            port = bound_port(fd); /* the other loops share the first's port */
        srv->loop = ev_loop_new(EVFLAG_AUTO);
        if (!srv->loop) {
            fprintf(stderr, "ev_echo: ev_loop_new failed\n");
            return 1;
        }
        ev_io_init(&srv->listener, on_accept, fd, EV_READ);
        ev_io_start(srv->loop, &srv->listener);
        servers[t] = srv;
    }
    fprintf(stderr, "ev_echo: libev %d.%d backend %u, %d loop(s)%s\n", ev_version_major(),
            ev_version_minor(), ev_backend(servers[0]->loop), threads,
            reuseport ? ", SO_REUSEPORT" : "");
    printf("listening %d\n", port);
    fflush(stdout);

    for (int t = 1; t < threads; t++) {
        if (pthread_create(&servers[t]->thread, NULL, run_loop, servers[t]) != 0) {
            fprintf(stderr, "ev_echo: pthread_create failed\n");
            return 1;
        }
    }
    run_loop(servers[0]);
    return 0;
}
