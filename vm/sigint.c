/*
** vm/sigint.c -- the Ctrl-C flag and descriptor.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "sigint.h"


static atomic_int pending;
static int fd = -1;


void lg_sigint_init (void) {
  if (fd < 0)
    fd = lg_eventfd();
}


void lg_sigint_note (void) {
  uint64_t one = 1;
  atomic_store(&pending, 1);
  if (write(fd, &one, sizeof one) < 0) { /* full: already readable */ }
}


int lg_sigint_pending (void) {
  return atomic_load(&pending);
}


int lg_sigint_take (void) {
  uint64_t drain;
  int was = atomic_exchange(&pending, 0);
  if (fd >= 0)
    while (read(fd, &drain, sizeof drain) > 0)
      ;
  return was;
}


int lg_sigint_fd (void) {
  return fd;
}


/*
** In a fork() child, Ctrl-C comes through a descriptor of its own: the
** inherited one is the parent's too, so an interrupt_main() here would
** interrupt the parent, and draining it here would lose the parent's
** Ctrl-C (issue 19, case 17).
*/
void lg_sigint_atfork (int phase) {
  if (phase == LG_FORK_CHILD) {
    int old = fd;
    atomic_store(&pending, 0);
    if (old >= 0) {
      fd = lg_eventfd();
      close(old);
    }
  }
}
