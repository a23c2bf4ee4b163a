/* libev as the gevent crate compiled it: include this instead of <ev.h>
 * (compile with -I<crate>/include -I<crate>/libev). The layout checks
 * below fail at compile time if another ev.h or another configuration
 * got in the way; gevent_attach() checks GEVENT_EV_ABI at run time. */
#ifndef GEVENT_EV_H
#define GEVENT_EV_H

#include "gevent_ev_config.h"
#include "ev.h"

#if EV_VERSION_MAJOR != 4 || EV_VERSION_MINOR != 33
# error "the gevent crate embeds libev 4.33: this is another ev.h"
#endif

#if defined(__LP64__) && defined(__linux__)
_Static_assert(sizeof(ev_watcher) == 32, "ev_watcher layout differs from libgevent.a's");
_Static_assert(sizeof(ev_io) == 48, "ev_io layout differs from libgevent.a's");
_Static_assert(sizeof(ev_timer) == 48, "ev_timer layout differs from libgevent.a's");
_Static_assert(sizeof(ev_async) == 40, "ev_async layout differs from libgevent.a's");
#endif

/* What gevent_attach() compares with the library's own value. */
#define GEVENT_EV_ABI \
    ((unsigned)((EV_VERSION_MAJOR << 24) | (EV_VERSION_MINOR << 16) | \
                (sizeof(ev_io) << 8) | sizeof(ev_timer)))

#endif /* GEVENT_EV_H */
