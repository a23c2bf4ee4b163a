/* The one libev configuration of the gevent crate: build.rs compiles libev
 * with it, and a C program that uses the crate's libev (libgevent.a
 * exports libev's ev_* symbols) includes it through <gevent_ev.h>, so both
 * see the same struct layouts and features. Defining one of these macros
 * differently before including it is a compile-time error. */
#ifndef GEVENT_EV_CONFIG_H
#define GEVENT_EV_CONFIG_H

#if defined(EV_STANDALONE) && EV_STANDALONE != 1
# error "EV_STANDALONE must be 1: libgevent.a was built with it"
#endif
#undef EV_STANDALONE
#define EV_STANDALONE 1
#if defined(EV_MULTIPLICITY) && EV_MULTIPLICITY != 1
# error "EV_MULTIPLICITY must be 1: libgevent.a was built with it"
#endif
#undef EV_MULTIPLICITY
#define EV_MULTIPLICITY 1
#if defined(EV_USE_EPOLL) && EV_USE_EPOLL != 1
# error "EV_USE_EPOLL must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_EPOLL
#define EV_USE_EPOLL 1
#if defined(EV_USE_POLL) && EV_USE_POLL != 1
# error "EV_USE_POLL must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_POLL
#define EV_USE_POLL 1
#if defined(EV_USE_SELECT) && EV_USE_SELECT != 1
# error "EV_USE_SELECT must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_SELECT
#define EV_USE_SELECT 1
#if defined(EV_USE_KQUEUE) && EV_USE_KQUEUE != 0
# error "EV_USE_KQUEUE must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_KQUEUE
#define EV_USE_KQUEUE 0
#if defined(EV_USE_PORT) && EV_USE_PORT != 0
# error "EV_USE_PORT must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_PORT
#define EV_USE_PORT 0
#if defined(EV_USE_LINUXAIO) && EV_USE_LINUXAIO != 0
# error "EV_USE_LINUXAIO must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_LINUXAIO
#define EV_USE_LINUXAIO 0
#if defined(EV_USE_IOURING) && EV_USE_IOURING != 0
# error "EV_USE_IOURING must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_IOURING
#define EV_USE_IOURING 0
#if defined(EV_USE_EVENTFD) && EV_USE_EVENTFD != 1
# error "EV_USE_EVENTFD must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_EVENTFD
#define EV_USE_EVENTFD 1
#if defined(EV_USE_SIGNALFD) && EV_USE_SIGNALFD != 0
# error "EV_USE_SIGNALFD must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_SIGNALFD
#define EV_USE_SIGNALFD 0
#if defined(EV_USE_TIMERFD) && EV_USE_TIMERFD != 1
# error "EV_USE_TIMERFD must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_TIMERFD
#define EV_USE_TIMERFD 1
#if defined(EV_USE_INOTIFY) && EV_USE_INOTIFY != 1
# error "EV_USE_INOTIFY must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_INOTIFY
#define EV_USE_INOTIFY 1
#if defined(EV_USE_MONOTONIC) && EV_USE_MONOTONIC != 1
# error "EV_USE_MONOTONIC must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_MONOTONIC
#define EV_USE_MONOTONIC 1
#if defined(EV_USE_REALTIME) && EV_USE_REALTIME != 0
# error "EV_USE_REALTIME must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_REALTIME
#define EV_USE_REALTIME 0
#if defined(EV_USE_CLOCK_SYSCALL) && EV_USE_CLOCK_SYSCALL != 0
# error "EV_USE_CLOCK_SYSCALL must be 0: libgevent.a was built with it"
#endif
#undef EV_USE_CLOCK_SYSCALL
#define EV_USE_CLOCK_SYSCALL 0
#if defined(EV_USE_NANOSLEEP) && EV_USE_NANOSLEEP != 1
# error "EV_USE_NANOSLEEP must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_NANOSLEEP
#define EV_USE_NANOSLEEP 1
#if defined(EV_USE_FLOOR) && EV_USE_FLOOR != 1
# error "EV_USE_FLOOR must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_FLOOR
#define EV_USE_FLOOR 1
#if defined(EV_USE_4HEAP) && EV_USE_4HEAP != 1
# error "EV_USE_4HEAP must be 1: libgevent.a was built with it"
#endif
#undef EV_USE_4HEAP
#define EV_USE_4HEAP 1
#if defined(HAVE_SYS_INOTIFY_H) && HAVE_SYS_INOTIFY_H != 1
# error "HAVE_SYS_INOTIFY_H must be 1: libgevent.a was built with it"
#endif
#undef HAVE_SYS_INOTIFY_H
#define HAVE_SYS_INOTIFY_H 1
#if defined(HAVE_EVENTFD) && HAVE_EVENTFD != 1
# error "HAVE_EVENTFD must be 1: libgevent.a was built with it"
#endif
#undef HAVE_EVENTFD
#define HAVE_EVENTFD 1
#if defined(HAVE_SYS_EVENTFD_H) && HAVE_SYS_EVENTFD_H != 1
# error "HAVE_SYS_EVENTFD_H must be 1: libgevent.a was built with it"
#endif
#undef HAVE_SYS_EVENTFD_H
#define HAVE_SYS_EVENTFD_H 1

#endif /* GEVENT_EV_CONFIG_H */
