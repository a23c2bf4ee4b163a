/* libev, compiled as one translation unit with a few accessors for loop
 * fields libev keeps private (gevent reads the same fields from its Cython
 * binding). libev/ev.c itself is included unmodified; the EV_* settings
 * come from build.rs. */
#include "gevent_ev_config.h"
#include "ev.c"

/* The backend's file descriptor (epoll fd), or -1 for select/poll. */
int gevent_ev_backend_fd(struct ev_loop *loop) {
    return loop->backend_fd;
}

/* Number of active, referenced watchers (what keeps ev_run going). */
int gevent_ev_activecnt(struct ev_loop *loop) {
    return loop->activecnt;
}

/* libev's SIGCHLD watcher of the default loop, which ev_default_loop
 * starts at once. gevent's rule is to install SIGCHLD handling only when
 * child watching is used (so a program keeps its own SIGCHLD handler
 * until then): the crate stops it when it makes the default loop and
 * starts it with the first child watcher. Balanced with ev_ref/ev_unref
 * as libev does, since the watcher must not keep the loop alive. */
void gevent_ev_sigchld(struct ev_loop *loop, int on) {
#if EV_CHILD_ENABLE
    if (loop != ev_default_loop_ptr)
        return;
    if (on && !ev_is_active(&childev)) {
        ev_signal_start(loop, &childev);
        ev_unref(loop);
    } else if (!on && ev_is_active(&childev)) {
        ev_ref(loop);
        ev_signal_stop(loop, &childev);
    }
#endif
}

int gevent_ev_sigchld_active(void) {
#if EV_CHILD_ENABLE
    return ev_is_active(&childev);
#else
    return 0;
#endif
}

/* ev_loop_fork, with its work done at once instead of at the next loop
 * iteration: the backend and the signal/async pipe are remade now and the
 * fork watchers are queued now. libev would queue them only at the start
 * of an iteration, and a fork made from a greenlet resumed by a prepare
 * watcher (where the hub runs its callbacks) comes after that point, so
 * libev's own loop_fork would clear the flag first and the fork watchers
 * would never run. Called from the hub's greenlets, never while polling. */
void gevent_ev_loop_fork_now(struct ev_loop *loop) {
    ev_loop_fork(loop);
    loop_fork(loop);
#if EV_FORK_ENABLE
    if (loop->forkcnt)
        queue_events(loop, (W *)loop->forks, loop->forkcnt, EV_FORK);
#endif
}

/* The process's libev syserr callback (for tests that check the crate
 * leaves a host's own callback in place). */
void *gevent_ev_syserr_cb(void) {
    return (void *)syserr_cb;
}
