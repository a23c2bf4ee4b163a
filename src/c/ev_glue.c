/* libev, compiled as one translation unit with a few accessors for loop
 * fields libev keeps private (gevent reads the same fields from its Cython
 * binding). libev/ev.c itself is included unmodified; the EV_* settings
 * come from build.rs. */
#include "ev.c"

/* The backend's file descriptor (epoll fd), or -1 for select/poll. */
int gevent_ev_backend_fd(struct ev_loop *loop) {
    return loop->backend_fd;
}

/* Number of active, referenced watchers (what keeps ev_run going). */
int gevent_ev_activecnt(struct ev_loop *loop) {
    return loop->activecnt;
}
