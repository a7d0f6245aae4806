/*
** interp/explore.c -- 'luagil --explore': run a script under many
** schedules, stop at the first that fails, shrink it, print its replay.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** A run is a child forked from the luagil program before it made any
** interpreter: the process is still single-threaded, so the fork is safe
** and cheap (no exec, no dynamic loading), and the child then does
** exactly what 'luagil --gil-policy=... --seed=... script.lua' does. That
** is why the printed replay command fails the same way: the schedule is
** a pure function of the policy's string and the seed (vm/gil.c, the
** deterministic policy and its PCT schedules).
**
** What a child tells its parent: its exit status, and notes on a pipe
** (stdlib/lglib.c, lg_note): "error" for a thread's uncaught error (from
** threading's bootstrap, before threading.excepthook reports it), "main"
** for the main chunk's (a DeadlockError among them), "budget" for a run
** past its budget of steps or of virtual time (vm/gil.h,
** lg_gil_setbudget), and "done" with its step and forced-switch counts
** and how many blocking calls it made on real I/O (vm/waitq.h). Its
** stdout and stderr go to /dev/null: the replay shows them. A run that
** outlives RUN_TIMEOUT of real time (a wait on something real) is killed
** and reported as a hang.
**
** Schedules. PCT (Burckhardt et al., ASPLOS 2010): the seed gives every
** thread a priority and depth - 1 change points are drawn uniformly among
** the k steps (instructions) that the longest run so far took; run 0 has
** none and measures k. 'random': the deterministic policy's jitter, with
** a switch every N/2+1 .. 3N/2+1 instructions, N a random power of two.
** Shrinking: up to SHRINK_RUNS more runs for a failing schedule with fewer
** forced switches: first the failing one less each change point, then
** fresh schedules of lower depth (random: of larger N).
*/

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "embed.h"
#include "explore.h"
#include "gil.h"
#include "lglib.h"
#include "stats.h"
#include "tstate.h"
#include "waitq.h"

#define SHRINK_RUNS   100     /* runs spent looking for a smaller one */
#define RUN_TIMEOUT   60000   /* ms a run may take before it is a hang */
#define NOTES_MAX     4096    /* bytes of notes kept per run */
#define MAXPOINTS     LG_PCT_MAXPOINTS


/*
** {======================================================
** The child's side
** =======================================================
*/

static void onbudget (lua_State *L, const char *what) {
  lg_TState *ts = lg_tstate_current();
  const char *who = ts != NULL && ts->stats != NULL ? ts->stats->name : "?";
  lua_Debug ar;
  char msg[512];
  int line = -1;
  const char *src = "?";
  for (int level = 0; L != NULL && line < 0 && lua_getstack(L, level, &ar);
       level++)  /* the innermost Lua function: not time.sleep's C */
    if (lua_getinfo(L, "Sl", &ar) && ar.currentline >= 0) {
      line = ar.currentline;
      src = ar.short_src;
    }
  if (line >= 0)
    snprintf(msg, sizeof msg, "%s at %s:%d (a livelock?)", what, src, line);
  else
    snprintf(msg, sizeof msg, "%s (a livelock?)", what);
  lg_note("budget", who, msg);
  fprintf(stderr, "luagil: thread '%s': %s\n", who, msg);
  fflush(stderr);
  _exit(EXIT_FAILURE);
}


static lg_IState *istateof (lua_State *L) {
  lg_Interp *p = lg_interp_find(L);
  return p != NULL ? p->I : NULL;
}


void lg_explore_start (lua_State *L, long budget, double seconds) {
  lg_IState *I = istateof(L);
  if ((budget > 0 || seconds > 0) && I != NULL)
    lg_gil_setbudget(I, budget, (long)(seconds * 1e9), onbudget);
}


void lg_explore_end (lua_State *L) {
  lg_IState *I = istateof(L);
  long steps = 0, forced = 0;
  char buf[64];
  if (lg_note_fd() < 0 || I == NULL)
    return;
  lg_gil_schedule(I, &steps, &forced);
  snprintf(buf, sizeof buf, "%ld %ld %ld", steps, forced,
           lg_blocking_nreal());
  lg_note("done", "", buf);
}


void lg_explore_mainerror (const char *msg) {
  lg_note("main", "MainThread", msg);
}

/* }====================================================== */


/*
** {======================================================
** Schedules
** =======================================================
*/

static uint64_t mix (uint64_t x) {  /* splitmix64's finaliser */
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}


/* A schedule in the explorer's terms; sched() spells it for a run. */
typedef struct Plan {
  int random;                /* the jitter strategy, else PCT */
  unsigned long seed;
  long n;                    /* random: N */
  int npoints;               /* PCT: change points */
  long points[MAXPOINTS];
} Plan;


static int cmplong (const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}


/* Plan number 'i' of a search with seed 'seed', depth 'depth', over
** runs of about 'k' steps. */
static void makeplan (Plan *p, int random, uint64_t seed, long i,
                      int depth, long k) {
  uint64_t r = mix(seed ^ mix((uint64_t)i));
  memset(p, 0, sizeof *p);
  p->random = random;
  p->seed = (unsigned long)(r % 1000000007u);
  r = mix(r);
  if (random) {
    p->n = 1L << (r % 11);  /* 1 .. 1024 */
    return;
  }
  if (i == 0 || k < 2)
    return;  /* none: this run measures k */
  for (int j = 0; j < depth - 1 && j < MAXPOINTS; j++) {
    long v;
    int dup;
    do {
      r = mix(r);
      v = 1 + (long)(r % (uint64_t)k);
      dup = 0;
      for (int m = 0; m < p->npoints; m++)
        dup |= p->points[m] == v;
    } while (dup && p->npoints < k - 1);
    if (!dup)
      p->points[p->npoints++] = v;
  }
  qsort(p->points, p->npoints, sizeof p->points[0], cmplong);
}


static void sched (const Plan *p, lg_Schedule *sc) {
  size_t n;
  memset(sc, 0, sizeof *sc);
  snprintf(sc->seed, sizeof sc->seed, "%lu", p->seed);
  if (p->random) {
    snprintf(sc->policy, sizeof sc->policy, "deterministic:%ld", p->n);
    return;
  }
  n = (size_t)snprintf(sc->policy, sizeof sc->policy, "deterministic:pct");
  for (int j = 0; j < p->npoints && n < sizeof sc->policy - 24; j++)
    n += (size_t)snprintf(sc->policy + n, sizeof sc->policy - n, "%c%ld",
                          j == 0 ? ':' : ',', p->points[j]);
}

/* }====================================================== */


/*
** {======================================================
** Running one schedule
** =======================================================
*/

typedef struct Result {
  int failed;
  char kind[32];       /* what failed: see classify */
  char thread[128];
  char msg[768];
  int status;          /* exit status, or -signal */
  long steps, forced;
  long nreal;          /* blocking calls on real I/O (vm/waitq.h) */
} Result;


static void copyfield (char *dst, size_t size, const char *s, size_t len) {
  if (len >= size)
    len = size - 1;
  memcpy(dst, s, len);
  dst[len] = '\0';
}


/* One note line "kind\tthread\tmsg" into 'r'. */
static void readnote (Result *r, const char *line, size_t len) {
  const char *t1 = memchr(line, '\t', len), *t2;
  if (t1 == NULL)
    return;
  t2 = memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line));
  if (t2 == NULL)
    return;
  if (strncmp(line, "done\t", 5) == 0) {
    sscanf(t2 + 1, "%ld %ld %ld", &r->steps, &r->forced, &r->nreal);
    return;
  }
  if (r->failed)  /* the first failure is the one */
    return;
  r->failed = 1;
  copyfield(r->kind, sizeof r->kind, line, (size_t)(t1 - line));
  copyfield(r->thread, sizeof r->thread, t1 + 1, (size_t)(t2 - t1 - 1));
  copyfield(r->msg, sizeof r->msg, t2 + 1,
            len - (size_t)(t2 + 1 - line));
  if (strcmp(r->kind, "main") == 0)
    strcpy(r->kind, strncmp(r->msg, "threading.DeadlockError", 23) == 0
                    ? "deadlock" : "error");
}


static void readnotes (Result *r, const char *buf, size_t n) {
  size_t i = 0;
  while (i < n) {
    const char *nl = memchr(buf + i, '\n', n - i);
    size_t len = nl != NULL ? (size_t)(nl - (buf + i)) : n - i;
    readnote(r, buf + i, len);
    i += len + 1;
  }
}


/* The child: notes to 'fd', output to /dev/null, then the program. */
static void child (int fd, lg_RunOnce run, void *ud, const lg_Schedule *sc) {
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
  lg_note_setfd(fd);
  exit(run(ud, sc));
}


/* Run 'sc' in a child and say how it went. Returns 0 if the child could
** not be made (errno says why). */
static int runone (lg_RunOnce run, void *ud, const lg_Schedule *sc,
                   Result *r) {
  int fds[2], st = 0;
  char buf[NOTES_MAX];
  size_t n = 0;
  pid_t pid;
  memset(r, 0, sizeof *r);
  if (pipe2(fds, O_CLOEXEC) != 0)
    return 0;
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return 0;
  }
  if (pid == 0) {
    close(fds[0]);
    child(fds[1], run, ud, sc);
  }
  close(fds[1]);
  for (;;) {  /* until EOF: the child and whatever it forked are gone */
    struct pollfd pf = {fds[0], POLLIN, 0};
    int k = poll(&pf, 1, RUN_TIMEOUT);
    ssize_t got;
    if (k < 0 && errno == EINTR)
      continue;
    if (k == 0) {  /* a hang on something real: end it */
      kill(pid, SIGKILL);
      strcpy(r->kind, "hang");
      r->failed = 1;
      snprintf(r->msg, sizeof r->msg, "still running after %d s",
               RUN_TIMEOUT / 1000);
      break;
    }
    got = read(fds[0], buf + n, sizeof buf - 1 - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    n += (size_t)got;
    if (n == sizeof buf - 1) {  /* enough: keep the first notes */
      readnotes(r, buf, n);
      n = 0;
    }
  }
  close(fds[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  readnotes(r, buf, n);
  if (WIFSIGNALED(st)) {
    r->status = -WTERMSIG(st);
    if (!r->failed) {
      r->failed = 1;
      strcpy(r->kind, "signal");
      snprintf(r->msg, sizeof r->msg, "killed by signal %d (%s)",
               WTERMSIG(st), strsignal(WTERMSIG(st)));
    }
  }
  else {
    r->status = WEXITSTATUS(st);
    if (!r->failed && r->status != 0) {
      r->failed = 1;
      strcpy(r->kind, "exit");
      snprintf(r->msg, sizeof r->msg, "exit status %d", r->status);
    }
  }
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** The search, shrinking and the report
** =======================================================
*/

/* 's' quoted for a POSIX shell, when it needs to be, into 'f'. */
static void shellword (FILE *f, const char *s) {
  const char *safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-+=/.,:@%";
  if (*s != '\0' && strspn(s, safe) == strlen(s)) {
    fputs(s, f);
    return;
  }
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  }
  fputc('\'', f);
}


static int startswith (const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}


/* The user's options, less those the replay sets itself. */
static int replayed (const char *a) {
  return !(startswith(a, "--explore") || startswith(a, "--gil-policy") ||
           startswith(a, "--seed") || startswith(a, "--gil-trace"));
}


static void printreplay (FILE *f, char **argv, int script,
                         const lg_Schedule *sc) {
  fputs("  replay: ", f);
  shellword(f, argv[0]);
  for (int i = 1; i < script; i++)
    if (replayed(argv[i]) || (i > 1 && argv[i - 1][0] == '-' &&
                              (argv[i - 1][1] == 'e' ||
                               argv[i - 1][1] == 'l') &&
                              argv[i - 1][2] == '\0')) {
      fputc(' ', f);
      shellword(f, argv[i]);
    }
  fprintf(f, " --gil-policy=%s --seed=%s", sc->policy, sc->seed);
  if (sc->budget > 0)
    fprintf(f, " --explore-budget=%ld", sc->budget);
  if (sc->tbudget > 0)
    fprintf(f, " --explore-time-budget=%.9g", sc->tbudget);
  for (int i = script; argv[i] != NULL; i++) {
    fputc(' ', f);
    shellword(f, argv[i]);
  }
  fputc('\n', f);
}


static const char *what (const Result *r) {
  if (strcmp(r->kind, "error") == 0)
    return "uncaught error in thread";
  if (strcmp(r->kind, "deadlock") == 0)
    return "deadlock, reported in thread";
  if (strcmp(r->kind, "budget") == 0)
    return "budget exceeded in thread";
  return NULL;
}


static void report (const lg_Explore *e, char **argv, int script,
                    long run, long runs, const Plan *p, const Result *r,
                    long firstforced, long shrinkruns) {
  lg_Schedule sc;
  const char *w = what(r);
  sched(p, &sc);
  if (strcmp(r->kind, "budget") == 0) {
    sc.budget = e->budget;
    sc.tbudget = e->tbudget;
  }
  printf("explore: run %ld of %ld failed (%s schedule)\n", run + 1, runs,
         p->random ? "random" : "pct");
  if (w != NULL)
    printf("  %s '%s': %s\n", w, r->thread, r->msg);
  else
    printf("  %s\n", r->msg);
  printf("  forced switches: %ld", r->forced);
  if (shrinkruns > 0 && firstforced > r->forced)
    printf(" (shrunk from %ld in %ld more runs)", firstforced, shrinkruns);
  else if (shrinkruns > 0)
    printf(" (no fewer in %ld more runs)", shrinkruns);
  printf("\n");
  printreplay(stdout, argv, script, &sc);
  if (r->nreal > 0)
    printf("  note: the run did real I/O (%ld blocking calls on files, "
           "sockets, pipes or processes): its replay may differ\n",
           r->nreal);
  if (e->trace != NULL)
    printf("  trace: %s\n", e->trace);
  fflush(stdout);
}


/* Run plan 'p' once under the explorer's budgets (and 'trace', maybe
** NULL): runone's result. */
static int runplan (const lg_Explore *e, lg_RunOnce run, void *ud,
                    const Plan *p, const char *trace, Result *r) {
  lg_Schedule sc;
  sched(p, &sc);
  sc.budget = e->budget;
  sc.tbudget = e->tbudget;
  sc.trace = trace;
  return runone(run, ud, &sc, r);
}


/* Shrink the failing 'best' (its result in 'rb'); returns runs spent. */
static long shrink (const lg_Explore *e, lg_RunOnce run, void *ud,
                    Plan *best, Result *rb, long k) {
  long spent = 0;
  int improved = 1;
  Result r;
  while (improved && !best->random && spent < SHRINK_RUNS &&
         rb->forced > 0) {  /* drop change points one at a time */
    improved = 0;
    for (int j = 0; j < best->npoints && spent < SHRINK_RUNS; j++) {
      Plan q = *best;
      memmove(q.points + j, q.points + j + 1,
              (size_t)(q.npoints - j - 1) * sizeof q.points[0]);
      q.npoints--;
      if (!runplan(e, run, ud, &q, NULL, &r))
        return spent;
      spent++;
      if (r.failed && r.forced < rb->forced) {
        *best = q;
        *rb = r;
        improved = 1;
        break;
      }
    }
  }
  for (long i = 0; spent < SHRINK_RUNS && rb->forced > 0; i++) {
    Plan q;  /* fresh schedules with fewer switches in them */
    int depth = best->random ? 0 : (int)(i % (best->npoints + 1)) + 1;
    makeplan(&q, best->random, (uint64_t)e->seed ^ 0x5bd1e995u, i + 1,
             depth, k);
    if (best->random && q.n <= best->n)
      q.n = best->n * 2 > 1000000 ? best->n : best->n * 2;
    if (!runplan(e, run, ud, &q, NULL, &r))
      return spent;
    spent++;
    if (r.failed && r.forced < rb->forced) {
      *best = q;
      *rb = r;
    }
  }
  return spent;
}


int lg_explore (const lg_Explore *e, char **argv, int script,
                lg_RunOnce run, void *ud) {
  long k = 0;
  for (long i = 0; i < e->runs; i++) {
    Plan p;
    Result r;
    makeplan(&p, e->random, (uint64_t)e->seed, i, (int)e->depth, k);
    if (!runplan(e, run, ud, &p, NULL, &r)) {
      fprintf(stderr, "luagil: explore: cannot run the script (%s)\n",
              strerror(errno));
      return EXIT_FAILURE;
    }
    if (r.steps > k)
      k = r.steps;
    if (r.failed) {
      long first = r.forced;
      long spent = shrink(e, run, ud, &p, &r, k);
      if (e->trace != NULL) {  /* the same run once more, traced */
        Result t;
        runplan(e, run, ud, &p, e->trace, &t);
      }
      report(e, argv, script, i, e->runs, &p, &r, first, spent);
      return EXIT_FAILURE;
    }
  }
  printf("explored %ld schedules, no failure\n", e->runs);
  fflush(stdout);
  return EXIT_SUCCESS;
}

/* }====================================================== */
