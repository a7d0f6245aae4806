/*
** interp/explore.h -- 'luagil --explore': search the schedules of a
** threaded script for one that fails, and print the command that replays
** it. See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_explore_h
#define lg_explore_h

#include <lua.h>

/* The deepest PCT schedule (change points: one fewer). */
#define LG_EXPLORE_MAXDEPTH  17

/* What the command line asked for. */
typedef struct lg_Explore {
  long runs;             /* --explore[=RUNS]: schedules to try */
  long depth;            /* --explore-depth: PCT's d (d - 1 change points) */
  long long seed;        /* --explore-seed */
  int random;            /* --explore-strategy=random (else pct) */
  const char *trace;     /* --explore-trace: the failing run's timeline */
  long budget;           /* --explore-budget: steps a run may take */
  double tbudget;        /* --explore-time-budget: its virtual seconds */
} lg_Explore;

/* One run's schedule, as the replay command spells it. */
typedef struct lg_Schedule {
  char policy[320];      /* --gil-policy=... */
  char seed[32];         /* --seed=... */
  const char *trace;     /* --gil-trace=..., or NULL */
  long budget;           /* --explore-budget=..., or 0 */
  double tbudget;        /* --explore-time-budget=..., or 0 */
} lg_Schedule;

/* Runs the program once in this process under 'sc' and returns its exit
** status. */
typedef int (*lg_RunOnce) (void *ud, const lg_Schedule *sc);

/*
** The explorer: runs the program up to e->runs times, each in a child
** forked from this (still single-threaded) process, and reports the
** first failure. 'argv' is the program's, 'script' the index of the
** script in it. Returns the program's exit status (1: a failure found).
*/
int lg_explore (const lg_Explore *e, char **argv, int script,
                lg_RunOnce run, void *ud);

/* In every run of the program: after the state is made (the budget, if
** any, and a child's notes), and after its threads are joined. */
void lg_explore_start (lua_State *L, long budget, double seconds);
void lg_explore_end (lua_State *L);

/* The main chunk failed with 'msg' (a child's note). */
void lg_explore_mainerror (const char *msg);

#endif
