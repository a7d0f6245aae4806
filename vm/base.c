/*
** vm/base.c -- fatal errors, mutexes and eventfds.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base.h"


void lg_fatal (const char *what, int err) {
  fprintf(stderr, "luagil: fatal: %s failed: %s\n", what, strerror(err));
  abort();
}


void lg_assert_fail (const char *what, const char *file, int line) {
  fprintf(stderr, "luagil: assertion failed: %s (%s:%d)\n", what, file,
          line);
  abort();
}


void lg_mutex_init (pthread_mutex_t *m) {
  pthread_mutexattr_t attr;
  lg_check(pthread_mutexattr_init(&attr));
#ifdef NDEBUG
  lg_check(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP));
#else
  lg_check(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK));
#endif
  lg_check(pthread_mutex_init(m, &attr));
  lg_check(pthread_mutexattr_destroy(&attr));
}


void *lg_calloc_lines (size_t size) {
  size_t whole = (size + LG_CACHELINE - 1) / LG_CACHELINE * LG_CACHELINE;
  void *p = aligned_alloc(LG_CACHELINE, whole);
  if (p != NULL)
    memset(p, 0, whole);
  return p;
}


int lg_eventfd (void) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    lg_fatal("eventfd", errno);
  return fd;
}


int lg_mutex_held (pthread_mutex_t *m) {
  return m->__data.__owner == gettid();
}


void lg_mutex_atfork (pthread_mutex_t *m, int phase) {
  if (phase == LG_FORK_PREPARE)
    lg_check(pthread_mutex_lock(m));
  else if (phase == LG_FORK_PARENT)
    lg_check(pthread_mutex_unlock(m));
  else
    lg_mutex_init(m);
}
