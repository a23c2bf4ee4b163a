/* gevent for C: greenlets on a libev loop that your program runs.
 *
 * Link libgevent.a (built by `cargo build`; target/<profile>/libgevent.a)
 * and include this header; it includes <gevent_ev.h>, libev as the crate
 * compiled it, so you use the crate's libev (its ev_* symbols are in
 * libgevent.a):
 *
 *   cc app.c -I<crate>/include -I<crate>/libev \
 *      <crate>/target/release/libgevent.a -lpthread -ldl -lm -o app
 *
 * The model (Coro::EV's): your program owns the loop and calls ev_run;
 * gevent_attach() puts a hub on it. Greenlets start and resume from the
 * loop's callbacks (a prepare watcher and the watchers they wait on); a
 * greenlet that blocks switches back into the callback that resumed it,
 * which returns to your ev_run. The hub never runs nor destroys the loop.
 * Greenlets' timers and fds keep ev_run going, as any watcher does
 * (unless gevent_keep_loop_alive(0)); the hub's own watchers do not. The hub adds to the loop a prepare watcher
 * of the lowest priority (it runs the ready greenlets, after your own
 * prepare watchers), an ev_async watcher (results from the thread pool)
 * and, while greenlets are ready, a zero timer (so the poll does not
 * block then). It keeps its bookkeeping outside ev_userdata and installs
 * nothing process-wide: no allocator, no syserr callback, no signal
 * handler (libev's SIGCHLD handler only if Rust code asks for child
 * watching).
 *
 * Conventions: a function returns 0 (or a value >= 0, or a pointer) on
 * success and -1 (or NULL) with errno set on failure. "Blocking" calls
 * switch to other greenlets while they wait; made outside a greenlet (in
 * main() or in your own watcher callbacks) they fail with EDEADLK at once.
 * Timeouts are seconds as double; a negative timeout waits without limit.
 * Errors common to all calls: ENXIO (no hub attached on this thread),
 * ECANCELED (the greenlet was killed while it waited), ESHUTDOWN (the hub
 * was detached), ENOTRECOVERABLE (the library panicked: a bug; the call
 * failed but the program goes on). gevent_strerror() describes each.
 * Everything is per thread: use a hub only on the thread that attached it.
 */
#ifndef GEVENT_H
#define GEVENT_H

#include <stddef.h>

#include "gevent_ev.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CGreenlet gevent_greenlet_t;
typedef struct CEvent gevent_event_t;

/* What gevent_wait_fd() waits for and returns (libev's EV_READ/EV_WRITE). */
#define GEVENT_READ EV_READ
#define GEVENT_WRITE EV_WRITE

/* Attaches a hub to `loop` on this thread (not blocking). Errors: EPROTO
 * (this header does not match the library), EEXIST (the thread already
 * has a hub), EINVAL (null loop). The loop must outlive the hub. */
int gevent_attach_abi(struct ev_loop *loop, unsigned abi);
#define gevent_attach(loop) gevent_attach_abi((loop), GEVENT_EV_ABI)

/* Detaches the hub (not blocking): greenlets still running are killed
 * (their blocked calls return ECANCELED/ESHUTDOWN); the loop is left as it
 * is, with none of the hub's watchers on it. */
int gevent_detach(void);

/* Whether the greenlets' timers, fds and waits keep ev_run going (not
 * blocking): on (1) by default, as any watcher; with 0, watchers made from
 * now on do not, and ev_run returns once your own watchers are done (the
 * greenlets still waiting go on when you run the loop again). */
int gevent_keep_loop_alive(int on);

/* Spawns fn(arg) as a greenlet (not blocking; it starts from the loop).
 * Returns a handle to free with gevent_greenlet_free(), or NULL. */
gevent_greenlet_t *gevent_spawn(void (*fn)(void *), void *arg);

/* Waits until g has returned (blocking): 0, or -1 with ETIMEDOUT. */
int gevent_join(gevent_greenlet_t *g, double timeout);

/* Kills g: its blocked call returns -1/ECANCELED, and fn should return.
 * With block != 0, waits until it has (blocking); with 0, does not. */
int gevent_kill(gevent_greenlet_t *g, int block);

/* 1 once g has returned, 0 before (not blocking). */
int gevent_dead(gevent_greenlet_t *g);

/* Frees the handle (not blocking); the greenlet itself runs on. */
void gevent_greenlet_free(gevent_greenlet_t *g);

/* The running greenlet's identity, NULL outside greenlets. */
const void *gevent_current(void);

/* Sleeps (blocking); 0 yields to the other ready greenlets once. */
int gevent_sleep(double seconds);

/* Waits until fd is readable and/or writable (events: GEVENT_READ |
 * GEVENT_WRITE; blocking). Returns the events that are ready, or -1 with
 * ETIMEDOUT, EBADF (not open, or closed with gevent_close() meanwhile),
 * EBUSY (another greenlet already waits on this fd in that direction),
 * EINVAL (no events). */
int gevent_wait_fd(int fd, int events, double timeout);

/* Closes fd, first waking the greenlets waiting on it with EBADF (not
 * blocking). Their close(2) happens once they have let go of the fd. */
int gevent_close(int fd);

/* An event (gevent's Event): set wakes every waiter; not blocking except
 * gevent_event_wait (0 once set, -1 with ETIMEDOUT). */
gevent_event_t *gevent_event_new(void);
int gevent_event_set(gevent_event_t *e);
int gevent_event_clear(gevent_event_t *e);
int gevent_event_is_set(gevent_event_t *e);
int gevent_event_wait(gevent_event_t *e, double timeout);
void gevent_event_free(gevent_event_t *e);

/* A queue of pointers (gevent's Queue; maxsize 0: unbounded). put waits
 * while the queue is full, get while it is empty (blocking, unless the
 * timeout is 0): 0, or -1 with ETIMEDOUT (EAGAIN for a zero timeout).
 * Freeing a queue does not free the items still in it. */
typedef struct CQueue gevent_queue_t;
gevent_queue_t *gevent_queue_new(size_t maxsize);
int gevent_queue_put(gevent_queue_t *q, void *item, double timeout);
int gevent_queue_get(gevent_queue_t *q, void **item, double timeout);
int gevent_queue_size(gevent_queue_t *q);
void gevent_queue_free(gevent_queue_t *q);

/* Runs fn(arg) on the hub's thread pool (a real thread: fn may block) and
 * waits for it (blocking); its return value goes to *result (result may be
 * NULL). -1 with ETIMEDOUT if it did not finish in time (it runs on;
 * its value is lost). fn runs on another thread: arg must allow that. */
int gevent_run_in_thread(void *(*fn)(void *), void *arg, void **result,
                         double timeout);

/* getaddrinfo(3) on the thread pool (blocking): the same arguments and
 * return values (0, or an EAI_* code); EAI_SYSTEM with errno ETIMEDOUT
 * when it took longer than timeout (a late answer is freed for you), or
 * EDEADLK outside a greenlet. Free *res with freeaddrinfo(). */
struct addrinfo;
int gevent_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res,
                       double timeout);

/* A static description of an errno this API sets (others: strerror). */
const char *gevent_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* GEVENT_H */
