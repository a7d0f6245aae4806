/*
** vm/base.h -- what every file of vm/ uses: visibility, fatal errors,
** assertions, mutexes, eventfds and the phases of a fork.
** See LICENSE for copyright and licence (MIT).
**
** The ground floor of vm/ (docs/ARCHITECTURE.md): it includes no other
** header of luagil's.
*/

#ifndef lg_base_h
#define lg_base_h

#include <pthread.h>

/* A function shared between luagil's files, not exported by the library. */
#define LG_FUNC  __attribute__((visibility("hidden"))) extern

/* Abort naming a pthread call that cannot fail but did. */
LG_FUNC void lg_fatal (const char *what, int err) __attribute__((noreturn));

#define lg_check(call)  do { int e_ = (call); \
  if (e_ != 0) lg_fatal(#call, e_); } while (0)

/*
** Assertions: checked in Debug builds (no NDEBUG), and then a failure
** prints the condition and where it is, and aborts; in every other build
** LG_ASSERT is nothing at all (its condition is not evaluated).
*/
#ifdef NDEBUG
#define LG_ASSERT(c)  ((void)0)
#else
#define LG_ASSERT(c)  ((c) ? (void)0 : lg_assert_fail(#c, __FILE__, __LINE__))
#endif

LG_FUNC void lg_assert_fail (const char *what, const char *file, int line)
  __attribute__((noreturn));

/* Initialise a mutex: adaptive (it spins briefly before it sleeps), and
** error-checking in debug builds. */
LG_FUNC void lg_mutex_init (pthread_mutex_t *m);

/*
** Does the calling thread hold 'm'? For assertions (the _locked helpers
** say so: LG_ASSERT(lg_mutex_held(&mu))): glibc records the owner of
** every kind of mutex.
*/
LG_FUNC int lg_mutex_held (pthread_mutex_t *m);

/*
** An internal mutex across fork(), for phase 'phase': taken before, given
** back in the parent, and made anew in the child, where the thread that
** took it has another thread id (an error-checking mutex would refuse to
** be unlocked there).
*/
LG_FUNC void lg_mutex_atfork (pthread_mutex_t *m, int phase);

/*
** The size of a cache line. A field that one core writes while others
** read its neighbours (a count of blocked threads beside the pointer to
** the GIL) goes on a line of its own, _Alignas(LG_CACHELINE), so that
** every write does not take the neighbours away from the other cores.
*/
#define LG_CACHELINE  64

/* A zeroed block of 'size' bytes on a cache line's boundary, for a struct
** with such fields (free() frees it); NULL if memory runs out. */
LG_FUNC void *lg_calloc_lines (size_t size);

/* A new non-blocking, close-on-exec eventfd; aborts if there is none. */
LG_FUNC int lg_eventfd (void);

/*
** The phases of a fork (vm/fork.c calls every subsystem's handler with
** them, in a fixed order).
*/
#define LG_FORK_PREPARE  0  /* take the internal mutexes */
#define LG_FORK_PARENT   1  /* give them back */
#define LG_FORK_CHILD    2  /* give them back and forget other threads */

#endif
