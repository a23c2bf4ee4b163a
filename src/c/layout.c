/* Sizes and field offsets of libev's structs as the C compiler lays them out,
 * with the same configuration as libev itself (see build.rs). The Rust test
 * `libev_layout` compares them with `gevent::libev`'s #[repr(C)] structs. */
#include <stddef.h>
#include "gevent_ev_config.h"
#include "ev.h"

struct gevent_layout_entry {
    const char *name;
    size_t value;
};

#define SZ(t) { "sizeof " #t, sizeof(t) }
#define OFF(t, f) { "offsetof " #t "." #f, offsetof(t, f) }

static const struct gevent_layout_entry entries[] = {
    SZ(ev_watcher), SZ(ev_io), SZ(ev_timer), SZ(ev_periodic), SZ(ev_signal),
    SZ(ev_child), SZ(ev_stat), SZ(ev_idle), SZ(ev_prepare), SZ(ev_check),
    SZ(ev_fork), SZ(ev_cleanup), SZ(ev_async), SZ(ev_statdata),
    OFF(ev_watcher, active), OFF(ev_watcher, pending), OFF(ev_watcher, priority),
    OFF(ev_watcher, data), OFF(ev_watcher, cb),
    OFF(ev_io, next), OFF(ev_io, fd), OFF(ev_io, events),
    OFF(ev_timer, at), OFF(ev_timer, repeat),
    OFF(ev_periodic, offset), OFF(ev_periodic, interval), OFF(ev_periodic, reschedule_cb),
    OFF(ev_signal, signum),
    OFF(ev_child, flags), OFF(ev_child, pid), OFF(ev_child, rpid), OFF(ev_child, rstatus),
    OFF(ev_stat, timer), OFF(ev_stat, interval), OFF(ev_stat, path), OFF(ev_stat, prev),
    OFF(ev_stat, attr), OFF(ev_stat, wd),
    OFF(ev_async, sent),
    { "EV_MINPRI", (size_t)(EV_MINPRI + 1000) },
    { "EV_MAXPRI", (size_t)(EV_MAXPRI + 1000) },
    { "EV_VERSION_MAJOR", EV_VERSION_MAJOR },
    { "EV_VERSION_MINOR", EV_VERSION_MINOR },
    { NULL, 0 },
};

const struct gevent_layout_entry *gevent_libev_layout(void) {
    return entries;
}
