/* A C program with its own libev loop and watchers that runs greenlets
 * beside them through gevent's C API (include/gevent.h). Built and run by
 * tests/embed_c.rs; by hand (after `cargo build`):
 *
 *   cc examples/embed_c/main.c -Iinclude -Ilibev target/debug/libgevent.a \
 *      -lpthread -ldl -lm -o embed_c && ./embed_c
 *
 * With -DWITH_ECHO_SERVICE and linked with the Rust service library
 * instead (`cargo build --example embed_echo_service`, then
 * target/debug/examples/libembed_echo_service.a, which contains the
 * gevent crate too), it also serves examples/embed_c/echo_service.rs's
 * echo service on its loop until a client sends "shutdown".
 *
 * It prints what happened, one fact per line, and exits 0 once its own
 * ev_run has returned by itself. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gevent.h"

#ifdef WITH_ECHO_SERVICE
int echo_service_start(unsigned short port);
#endif

static int ticks;                 /* the host's own timer */
static int host_sleep_errno;      /* gevent_sleep() inside a host callback */
static int ticks_at_wake;         /* host ticks while the sleeper slept */
static ev_tstamp first_tick, last_tick;
static gevent_event_t *event;
static int sv[2];                 /* socketpair: greenlet -> greenlet */
static int quiet[2];              /* a pipe nobody writes to */
static gevent_greenlet_t *victim;
static int hostpipe[2];           /* a greenlet -> the host's io watcher */

static void host_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    char c;
    if (read(w->fd, &c, 1) == 1)
        printf("host io watcher: got %c from a greenlet\n", c);
    ev_io_stop(loop, w);
}

static void notifier(void *arg) {
    (void)arg;
    gevent_sleep(0.06);
    write(hostpipe[1], "!", 1);
}

static void host_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
    (void)revents;
    ticks++;
    if (ticks == 1)
        first_tick = ev_time();
    last_tick = ev_time();
    if (ticks == 1 && gevent_sleep(0.01) == -1)
        host_sleep_errno = errno;
    if (ticks == 3)
        gevent_kill(victim, 0);   /* not blocking: fine in a host callback */
    if (ticks == 20)
        ev_timer_stop(loop, w);
}

static void sleeper(void *arg) {
    (void)arg;
    printf("sleeper: start\n");
    gevent_sleep(0.2);
    ticks_at_wake = ticks;
    printf("sleeper: woke, sets the event\n");
    gevent_event_set(event);
}

static void waiter(void *arg) {
    (void)arg;
    printf("waiter: start\n");
    if (gevent_event_wait(event, 5.0) == 0) {
        printf("waiter: got the event\n");
        write(sv[1], "ping", 4);
    }
}

static void reader(void *arg) {
    (void)arg;
    char buf[8] = {0};
    printf("reader: start\n");
    int ev = gevent_wait_fd(sv[0], GEVENT_READ, 5.0);
    if (ev == GEVENT_READ && read(sv[0], buf, 4) == 4)
        printf("reader: read %s\n", buf);
    else
        printf("reader: failed: %s\n", gevent_strerror(errno));
}

static void second_reader(void *arg) {
    (void)arg;
    /* The reader waits on sv[0] already. */
    if (gevent_wait_fd(sv[0], GEVENT_READ, 5.0) == -1)
        printf("second reader: %s\n", errno == EBUSY ? "EBUSY" : strerror(errno));
}

static void closed_waiter(void *arg) {
    (void)arg;
    if (gevent_wait_fd(quiet[0], GEVENT_READ, -1) == -1)
        printf("closed waiter: %s\n", errno == EBADF ? "EBADF" : strerror(errno));
}

static void closer(void *arg) {
    (void)arg;
    gevent_sleep(0.02);
    gevent_close(quiet[0]);
}

static void killed(void *arg) {
    (void)arg;
    if (gevent_sleep(10.0) == -1)
        printf("killed: %s\n", errno == ECANCELED ? "ECANCELED" : strerror(errno));
}

static void timed_out(void *arg) {
    (void)arg;
    if (gevent_wait_fd(quiet[1], GEVENT_READ, 0.01) == -1)
        printf("timed out: %s\n", errno == ETIMEDOUT ? "ETIMEDOUT" : strerror(errno));
}

static gevent_queue_t *queue;

static void producer(void *arg) {
    (void)arg;
    static int items[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++)
        gevent_queue_put(queue, &items[i], 5.0);   /* waits while full (1) */
    gevent_queue_put(queue, NULL, 5.0);            /* the end */
}

static void consumer(void *arg) {
    (void)arg;
    int sum = 0;
    void *item;
    while (gevent_queue_get(queue, &item, 5.0) == 0 && item)
        sum += *(int *)item;
    printf("consumer: sum %d\n", sum);
}

static void *blocking_work(void *arg) {
    usleep(100000);                /* blocks a pool thread, not the loop */
    return (char *)arg + 1;
}

static void pooled(void *arg) {
    (void)arg;
    static char text[] = "xthread";
    void *result = NULL;
    if (gevent_run_in_thread(blocking_work, text, &result, 5.0) == 0)
        printf("pooled: %s\n", (char *)result);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = gevent_getaddrinfo("localhost", "80", &hints, &res, 5.0);
    printf("getaddrinfo localhost: %s\n", rc == 0 && res ? "ok" : gai_strerror(rc));
    if (res)
        freeaddrinfo(res);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer timer;
    ev_timer_init(&timer, host_timer_cb, 0.01, 0.01);
    ev_timer_start(loop, &timer);
    pipe(hostpipe);
    ev_io host_io;
    ev_io_init(&host_io, host_io_cb, hostpipe[0], EV_READ);
    ev_io_start(loop, &host_io);

    if (gevent_attach(loop) != 0) {
        printf("attach failed: %s\n", gevent_strerror(errno));
        return 1;
    }
    if (gevent_attach(loop) == -1 && errno == EEXIST)
        printf("second attach: EEXIST\n");
    if (gevent_sleep(0.01) == -1 && errno == EDEADLK)
        printf("sleep in main: EDEADLK\n");

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(quiet);
    event = gevent_event_new();
    queue = gevent_queue_new(1);
    gevent_greenlet_t *g[12];
    g[0] = gevent_spawn(sleeper, NULL);
    g[1] = gevent_spawn(waiter, NULL);
    g[2] = gevent_spawn(reader, NULL);
    g[3] = gevent_spawn(second_reader, NULL);
    g[4] = gevent_spawn(closed_waiter, NULL);
    g[5] = gevent_spawn(closer, NULL);
    g[6] = victim = gevent_spawn(killed, NULL);
    g[7] = gevent_spawn(timed_out, NULL);
    g[8] = gevent_spawn(producer, NULL);
    g[9] = gevent_spawn(consumer, NULL);
    g[10] = gevent_spawn(pooled, NULL);
    g[11] = gevent_spawn(notifier, NULL);

#ifdef WITH_ECHO_SERVICE
    int port = echo_service_start(0);
    if (port < 0) {
        printf("echo service failed: %s\n", gevent_strerror(errno));
        return 1;
    }
    printf("echo service on port %d\n", port);
#endif

    ev_run(loop, 0);
    printf("ev_run returned\n");
    int dead = 0;
    for (int i = 0; i < 12; i++) {
        dead += gevent_dead(g[i]);
        gevent_greenlet_free(g[i]);
    }
    printf("dead greenlets: %d\n", dead);
    printf("host ticks: %d\n", ticks);
    /* Facts that depend on timing, for the test to judge (not compared
     * line by line). */
    printf("timing: ticks while the sleeper slept %d, 20 ticks in %.0f ms\n",
           ticks_at_wake, (last_tick - first_tick) * 1000);
    printf("sleep in a host callback: %s\n", host_sleep_errno == EDEADLK ? "EDEADLK" : "?");
    gevent_event_free(event);
    gevent_queue_free(queue);
    if (gevent_detach() == 0)
        printf("detached\n");
    close(sv[0]);
    close(sv[1]);
    close(quiet[1]);
    close(hostpipe[0]);
    close(hostpipe[1]);
    ev_loop_destroy(loop);
    return 0;
}
