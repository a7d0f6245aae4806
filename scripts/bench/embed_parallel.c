/*
** scripts/bench/embed_parallel.c -- a host that runs two interpreters
** from two host threads (issue 14): each installs its own interpreter with
** luagil_newstate and runs CPU-bound Lua under its own GIL. The cpu sum
** (sum of i^0.3, 0 <= i < 8,000,000) in one interpreter on one host
** thread, then split over two; best of 5 passes, the interpreters made
** and the chunk loaded before the clock starts. Prints the speedup and the
** process's CPU time over wall time for the two-thread pass (~2 on two
** free cores: both interpreters ran at once). Run by embed_parallel.lua.
** See LICENSE for copyright and licence (MIT).
*/

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>

#include "luagil.h"

#define N       8000000
#define PASSES  5
#define MAXT    2

static const char WORK[] =
  "local lo, hi = ...\n"
  "local s = 0.0\n"
  "for i = lo, hi - 1 do s = s + i ^ 0.3 end\n"
  "return s\n";

typedef struct Side {
  lua_Integer lo, hi;
  double sum;
  int status;
  pthread_barrier_t *start;
} Side;


static double now (clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}


/* One host thread: its own interpreter, made before the start, and the
** sum of its part, run after it. */
static void *side_main (void *arg) {
  Side *side = arg;
  lua_State *L = luagil_newstate(NULL);
  side->status = -1;
  if (L != NULL) {
    luagil_openlibs(L);
    side->status = luaL_loadstring(L, WORK);
  }
  pthread_barrier_wait(side->start);
  if (side->status == LUA_OK) {
    lua_pushinteger(L, side->lo);
    lua_pushinteger(L, side->hi);
    side->status = lua_pcall(L, 2, 1, 0);
    if (side->status != LUA_OK)
      fprintf(stderr, "embed_parallel: %s\n", lua_tostring(L, -1));
    side->sum = lua_tonumber(L, -1);
  }
  if (L != NULL)
    luagil_close(L);
  return NULL;
}


/* The sum split over 'p' host threads: wall and CPU seconds, the sum. */
static int pass (int p, double *wall, double *cpu, double *sum) {
  pthread_t t[MAXT];
  Side side[MAXT];
  pthread_barrier_t start;
  double w0, c0;
  int ok = 1;
  pthread_barrier_init(&start, NULL, (unsigned)p + 1);
  for (int k = 0; k < p; k++) {
    side[k] = (Side){(lua_Integer)k * N / p, (lua_Integer)(k + 1) * N / p,
                     0.0, -1, &start};
    if (pthread_create(&t[k], NULL, side_main, &side[k]) != 0) {
      fprintf(stderr, "embed_parallel: pthread_create failed\n");
      exit(1);
    }
  }
  pthread_barrier_wait(&start);  /* every interpreter is made */
  w0 = now(CLOCK_MONOTONIC);
  c0 = now(CLOCK_PROCESS_CPUTIME_ID);
  *sum = 0.0;
  for (int k = 0; k < p; k++) {
    pthread_join(t[k], NULL);
    ok = ok && side[k].status == LUA_OK;
    *sum += side[k].sum;
  }
  *wall = now(CLOCK_MONOTONIC) - w0;
  *cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
  pthread_barrier_destroy(&start);
  return ok;
}


int main (void) {
  double t1 = 1e9, t2 = 1e9, cpu2 = 0.0, s1 = 0.0, s2 = 0.0;
  for (int i = 0; i < PASSES; i++) {
    double wall, cpu, sum;
    if (!pass(1, &wall, &cpu, &sum))
      return 1;
    if (wall < t1)
      t1 = wall, s1 = sum;
    if (!pass(2, &wall, &cpu, &sum))
      return 1;
    if (wall < t2)
      t2 = wall, cpu2 = cpu, s2 = sum;
  }
  printf("embed_parallel speedup=%.3f x cpu_over_wall=%.2f t1_s=%.3f "
         "t2_s=%.3f sum1=%.6e sum2=%.6e\n",
         t1 / t2, cpu2 / t2, t1, t2, s1, s2);
  return 0;
}
