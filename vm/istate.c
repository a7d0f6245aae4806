/*
** vm/istate.c -- the registry of interpreters.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdlib.h>

#include "istate.h"


static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
  lg_IState *head, *tail;      /* registry_mutex: oldest first */
  long lastid;                 /* registry_mutex */
} registry;


lg_IState *lg_istate_new (void) {
  lg_IState *I = calloc(1, sizeof *I);
  if (I == NULL)
    return NULL;
  lg_check(pthread_mutex_lock(&registry_mutex));
  I->id = ++registry.lastid;
  I->prev = registry.tail;
  if (registry.tail != NULL)
    registry.tail->next = I;
  else
    registry.head = I;
  registry.tail = I;
  lg_check(pthread_mutex_unlock(&registry_mutex));
  return I;
}


void lg_istate_free (lg_IState *I) {
  lg_check(pthread_mutex_lock(&registry_mutex));
  if (I->prev != NULL)
    I->prev->next = I->next;
  else
    registry.head = I->next;
  if (I->next != NULL)
    I->next->prev = I->prev;
  else
    registry.tail = I->prev;
  lg_check(pthread_mutex_unlock(&registry_mutex));
  free(I);
}


lg_IState *lg_istate_main (void) {
  lg_IState *I;
  lg_check(pthread_mutex_lock(&registry_mutex));
  I = registry.head;
  lg_check(pthread_mutex_unlock(&registry_mutex));
  return I;
}


long lg_istate_made (void) {
  long n;
  lg_check(pthread_mutex_lock(&registry_mutex));
  n = registry.lastid;
  lg_check(pthread_mutex_unlock(&registry_mutex));
  return n;
}


int lg_istate_nlive (void) {
  int n = 0;
  lg_check(pthread_mutex_lock(&registry_mutex));
  for (lg_IState *I = registry.head; I != NULL; I = I->next)
    n += !atomic_load(&I->closed);
  lg_check(pthread_mutex_unlock(&registry_mutex));
  return n;
}


void lg_istate_foreach (void (*fn) (lg_IState *I, void *ud), void *ud) {
  lg_check(pthread_mutex_lock(&registry_mutex));
  for (lg_IState *I = registry.head; I != NULL; I = I->next)
    fn(I, ud);
  lg_check(pthread_mutex_unlock(&registry_mutex));
}


void lg_istate_atfork (int phase, void (*each) (lg_IState *I, int phase)) {
  if (phase == LG_FORK_PREPARE)
    lg_check(pthread_mutex_lock(&registry_mutex));
  for (lg_IState *I = registry.head; I != NULL; I = I->next)
    each(I, phase);
  if (phase == LG_FORK_PARENT)
    lg_check(pthread_mutex_unlock(&registry_mutex));
  else if (phase == LG_FORK_CHILD)
    lg_mutex_init(&registry_mutex);
}
