/*
** stdlib/multiprocessing/_multiprocessing.c -- the C half of
** 'multiprocessing': fork, child process handles and Pipe connections;
** its opener adds the other parts (mp_pickle.c, mp_shared.c, mp_queue.c).
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Children. A child is reaped only through its own pid (never
** waitpid(-1)) and SIGCHLD is left alone, so a host program's own
** children and handlers are not disturbed. Waiting for one child polls its
** pidfd (Linux 5.3), which becomes readable when the child ends; with the
** GIL released, the main thread's poll also watches the Ctrl-C descriptor.
** Without pidfds the wait polls waitpid(WNOHANG) with a growing sleep.
**
** Connections. A Pipe is a pair of AF_UNIX stream sockets (send with
** MSG_NOSIGNAL: a closed peer is an error, never a SIGPIPE); a one-way
** Pipe shuts down the unused direction. A message is its length (size_t)
** and its bytes. Only the wait for a message's first byte can be
** interrupted by Ctrl-C: a message is never half read or half sent.
** Blocking calls read and write C buffers this thread owns, never a Lua
** string, so nothing here touches Lua memory while the GIL is released.
*/

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "mp.h"
#include "park.h"
#include "sigint.h"
#include "tstate.h"
#include "waitq.h"

#define CONN     "multiprocessing.Connection"
#define HANDLE   "multiprocessing.ProcessHandle"
#define EOFERR   "multiprocessing.EOFError"


/*
** {======================================================
** Deadlines (the waits themselves are in mp_io.c)
** =======================================================
*/

/* An optional timeout at 'arg' as a deadline in '*ts' (NULL: none). */
static struct timespec *optdeadline (lua_State *L, int arg,
                                     struct timespec *ts) {
  return lg_deadline(lg_opttimeout(L, arg), ts);
}

/* }====================================================== */


/*
** {======================================================
** Connections
** =======================================================
*/

/*
** A close (or __gc by hand) while other threads wait on the descriptor
** (GIL released) must not close it under them: its number could be reused
** at once by another descriptor, whose data they would then read. The
** last of them closes it ('lingering').
*/
typedef struct Conn {
  int fd;               /* -1 once closed */
  int readable, writable;
  int users;            /* GIL: threads in a blocking call on it */
  int lingering;        /* GIL: closed while in use: the last user closes */
} Conn;


static Conn *checkconn (lua_State *L) {
  Conn *c = luaL_checkudata(L, 1, CONN);
  if (c->fd < 0)
    luaL_error(L, "handle is closed");
  return c;
}


/* Begin a blocking call on 'c' (open): returns its descriptor. */
static int enter (Conn *c) {
  c->users++;
  return c->fd;
}


/* End it; the last user of a closed 'c' closes descriptor 'fd'. */
static void leave (Conn *c, int fd) {
  if (--c->users == 0 && c->lingering) {
    c->lingering = 0;
    close(fd);
  }
}


static void newconn (lua_State *L, int fd, int readable, int writable) {
  Conn *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->fd = fd;
  c->readable = readable;
  c->writable = writable;
  c->users = c->lingering = 0;
  luaL_setmetatable(L, CONN);
}


/*
** Send the 'len' bytes at 'data' as one message; raise on failure. They are
** copied (with the GIL: 'data' may be a Lua string) before anything can
** fail, and 'owned' (or NULL) is freed then.
*/
static void sendmsg_ (lua_State *L, Conn *c, const char *data, size_t len,
                      void *owned) {
  char *buf = malloc(sizeof len + len);
  int r, fd;
  if (buf != NULL) {
    memcpy(buf, &len, sizeof len);
    memcpy(buf + sizeof len, data, len);
  }
  free(owned);
  if (buf == NULL)
    luaL_error(L, "not enough memory");
  fd = enter(c);
  r = lg_mp_sendall(fd, buf, sizeof len + len);
  leave(c, fd);
  free(buf);
  if (r == LG_INTERRUPTED)
    lg_breaker_raise_interrupt(L);
  else if (r != 0)
    luaL_error(L, "cannot send: %s", strerror(errno));
}


/* Read one message and push it as a string; raise EOFError at the end. */
static void recvmsg_ (lua_State *L, Conn *c) {
  size_t len;
  char *buf = NULL;
  int fd = enter(c), err;
  int r = lg_mp_recvall(fd, (char *)&len, sizeof len, 1, NULL);
  if (r == 0 && (buf = malloc(len ? len : 1)) != NULL)
    r = lg_mp_recvall(fd, buf, len, 0, NULL);
  err = errno;
  leave(c, fd);
  errno = err;
  if (buf == NULL) {
    if (r == LG_INTERRUPTED)
      lg_breaker_raise_interrupt(L);
    if (r != 0) {
      if (errno == 0)
        lg_error_raise(L, EOFERR, "the other end of the pipe is closed");
      luaL_error(L, "cannot receive: %s", strerror(errno));
    }
    luaL_error(L, "not enough memory");
  }
  if (r != 0) {
    free(buf);
    luaL_error(L, "cannot receive: %s",
               errno ? strerror(errno) : "connection closed mid-message");
  }
  lua_pushlstring(L, buf, len);  /* on a memory error 'buf' leaks */
  free(buf);
}


/* conn:send(v) */
static int conn_send (lua_State *L) {
  Conn *c = checkconn(L);
  lg_MpMsg m;
  luaL_checkany(L, 2);
  if (!c->writable)
    return luaL_error(L, "connection is read-only");
  m = lg_mp_dumpx(L, 2, 0, "value", LG_MP_TOPROCESS);
  sendmsg_(L, c, m.data, m.len, m.data);
  return 0;
}


/* conn:recv() -> v */
static int conn_recv (lua_State *L) {
  Conn *c = checkconn(L);
  if (!c->readable)
    return luaL_error(L, "connection is write-only");
  recvmsg_(L, c);
  lg_mp_load(L, lua_tostring(L, -1), lua_rawlen(L, -1));
  return 1;
}


/* conn:send_bytes(s) */
static int conn_send_bytes (lua_State *L) {
  Conn *c = checkconn(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (!c->writable)
    return luaL_error(L, "connection is read-only");
  sendmsg_(L, c, s, len, NULL);
  return 0;
}


/* conn:recv_bytes() -> string */
static int conn_recv_bytes (lua_State *L) {
  Conn *c = checkconn(L);
  if (!c->readable)
    return luaL_error(L, "connection is write-only");
  recvmsg_(L, c);
  return 1;
}


/* conn:poll([timeout]) -> boolean: is there something to read? */
static int conn_poll (lua_State *L) {
  Conn *c = checkconn(L);
  struct timespec ts, *deadline;
  int r, fd;
  if (lua_isnoneornil(L, 2)) {  /* Python: no timeout means 0 */
    lua_settop(L, 1);
    lua_pushnumber(L, 0);
  }
  deadline = optdeadline(L, 2, &ts);
  fd = enter(c);
  r = lg_mp_waitfd(fd, POLLIN, deadline);
  leave(c, fd);
  if (r == LG_INTERRUPTED)
    return lg_breaker_raise_interrupt(L);
  lua_pushboolean(L, r == LG_WOKEN);
  return 1;
}


/* conn:close() */
static int conn_close (lua_State *L) {
  Conn *c = luaL_checkudata(L, 1, CONN);
  if (c->fd >= 0) {
    if (c->users > 0)  /* see Conn */
      c->lingering = 1;
    else
      close(c->fd);
    c->fd = -1;
  }
  return 0;
}


/* conn:guard() -> conn, a to-be-closed value: Python's 'with conn:' */
static int conn_guard (lua_State *L) {
  checkconn(L);
  lua_settop(L, 1);
  return 1;
}


/* conn:fileno() -> integer */
static int conn_fileno (lua_State *L) {
  lua_pushinteger(L, checkconn(L)->fd);
  return 1;
}


/* conn.closed, conn.readable, conn.writable, and the methods */
static int conn_index (lua_State *L) {
  Conn *c = luaL_checkudata(L, 1, CONN);
  const char *k = lg_fieldname(L);
  if (k == NULL)
    return 1;
  if (strcmp(k, "closed") == 0)
    lua_pushboolean(L, c->fd < 0);
  else if (strcmp(k, "readable") == 0)
    lua_pushboolean(L, c->readable);
  else if (strcmp(k, "writable") == 0)
    lua_pushboolean(L, c->writable);
  return 1;
}


static int conn_tostring (lua_State *L) {
  Conn *c = luaL_checkudata(L, 1, CONN);
  lua_pushfstring(L, "<%s at %p: %s>", CONN, (void *)c,
                  c->fd < 0 ? "closed" : c->readable && c->writable
                  ? "duplex" : c->readable ? "read" : "write");
  return 1;
}


/* Pipe([duplex]) -> conn1, conn2 (one-way: conn1 reads, conn2 writes) */
static int mp_pipe (lua_State *L) {
  int duplex = lua_isnoneornil(L, 1) || lua_toboolean(L, 1);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return luaL_error(L, "cannot create a pipe: %s", strerror(errno));
  if (!duplex) {
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  newconn(L, sv[0], 1, duplex);
  newconn(L, sv[1], duplex, 1);
  return 2;
}

/* }====================================================== */


/*
** {======================================================
** Child processes
** =======================================================
*/

typedef struct Handle {
  pid_t pid;
  int pidfd;            /* -1 if closed or unavailable */
  int done;             /* reaped: 'status' is valid */
  int status;
} Handle;


static Handle *checkhandle (lua_State *L) {
  return luaL_checkudata(L, 1, HANDLE);
}


/* Python's exitcode: the exit status, or minus the signal number. */
static int exitcode (int status) {
  if (WIFSIGNALED(status))
    return -WTERMSIG(status);
  return WEXITSTATUS(status);
}


/* Reap 'h' if it has ended; true if it is done. */
static int reap (Handle *h, int options) {
  if (!h->done) {
    int st;
    pid_t r;
    do
      r = waitpid(h->pid, &st, options);
    while (r < 0 && errno == EINTR);
    if (r == h->pid) {
      h->done = 1;
      h->status = st;
    }
    else if (r < 0) {  /* ECHILD: not ours (any more); call it ended */
      h->done = 1;
      h->status = 0;
    }
    if (h->done && h->pidfd >= 0) {
      close(h->pidfd);
      h->pidfd = -1;
    }
  }
  return h->done;
}


/* Wait with the GIL released, without pidfds: waitpid with backoff. */
static int waitslow (Handle *h, const struct timespec *deadline) {
  long ns = 100000;
  int intr = lg_tstate_is_main(), r = LG_WOKEN;
  LG_BEGIN_BLOCKING
  while (!reap(h, WNOHANG)) {
    struct timespec left, nap = {0, ns};
    if ((intr && lg_sigint_pending()) ||
        lg_waiter_interrupted(lg_waiter_self())) {  /* Ctrl-C, a cancel */
      r = LG_INTERRUPTED;
      break;
    }
    if (deadline != NULL && !lg_timeleft(deadline, &left)) {
      r = LG_TIMEDOUT;
      break;
    }
    nanosleep(&nap, NULL);
    if (ns < 20000000)
      ns *= 2;
  }
  LG_END_BLOCKING
  return r;
}


/* _multiprocessing.fork() -> pid (0 in the child, where the calling
** thread is the only one and holds the GIL: see vm/fork.c) */
static int mp_fork (lua_State *L) {
  pid_t pid = lg_thread_fork(L);
  if (pid < 0)
    return luaL_error(L, "cannot fork: %s", strerror(errno));
  lua_pushinteger(L, pid);
  return 1;
}


/* _multiprocessing.handle(pid) -> ProcessHandle of a child */
static int mp_handle (lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  Handle *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->pid = pid;
  h->done = h->status = 0;
  h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  luaL_setmetatable(L, HANDLE);
  return 1;
}


/* h:wait([timeout]) -> exitcode, or nil on timeout */
static int handle_wait (lua_State *L) {
  Handle *h = checkhandle(L);
  struct timespec ts, *deadline = optdeadline(L, 2, &ts);
  int r = LG_WOKEN;
  if (!h->done) {
    if (h->pidfd >= 0) {
      r = lg_mp_waitfd(h->pidfd, POLLIN, deadline);
      if (r == LG_WOKEN)
        reap(h, 0);  /* readable: it has ended, this does not block */
    }
    else
      r = waitslow(h, deadline);
  }
  if (r == LG_INTERRUPTED)
    return lg_breaker_raise_interrupt(L);
  if (!h->done)
    return 0;
  lua_pushinteger(L, exitcode(h->status));
  return 1;
}


/* h:poll() -> exitcode, or nil if it runs */
static int handle_poll (lua_State *L) {
  Handle *h = checkhandle(L);
  if (!reap(h, WNOHANG))
    return 0;
  lua_pushinteger(L, exitcode(h->status));
  return 1;
}


/* h:signal(signo): nothing if it was reaped already */
static int handle_signal (lua_State *L) {
  Handle *h = checkhandle(L);
  int sig = (int)luaL_checkinteger(L, 2);
  if (!h->done && kill(h->pid, sig) < 0 && errno != ESRCH)
    return luaL_error(L, "cannot signal process %d: %s", (int)h->pid,
                      strerror(errno));
  return 0;
}


/* h:fileno() -> the pidfd, or nil (for _multiprocessing.wait) */
static int handle_fileno (lua_State *L) {
  Handle *h = checkhandle(L);
  if (h->pidfd < 0)
    return 0;
  lua_pushinteger(L, h->pidfd);
  return 1;
}


static int handle_gc (lua_State *L) {
  Handle *h = checkhandle(L);
  if (h->pidfd >= 0) {
    close(h->pidfd);
    h->pidfd = -1;
  }
  return 0;
}


/* h:forget(): in a forked child, the parent's children are not ours */
static int handle_forget (lua_State *L) {
  Handle *h = checkhandle(L);
  handle_gc(L);
  h->done = 1;
  h->status = 0;
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Module functions
** =======================================================
*/

/*
** The descriptor of a Connection, a ProcessHandle or an integer at 'i'
** (the item [k] of argument 1); -1 for a closed one.
*/
static int tofd (lua_State *L, int i, lua_Integer k) {
  Conn *c;
  Handle *h;
  lua_Integer fd;
  int isnum;
  if ((c = luaL_testudata(L, i, CONN)) != NULL)
    return c->fd;
  if ((h = luaL_testudata(L, i, HANDLE)) != NULL)
    return h->pidfd;
  fd = lua_tointegerx(L, i, &isnum);
  if (!isnum || fd < 0 || fd > INT_MAX)
    luaL_argerror(L, 1, lua_pushfstring(L, "connection, process handle or "
                  "descriptor expected at [%I], got %s", k,
                  isnum ? "a bad descriptor" : luaL_typename(L, i)));
  return (int)fd;
}


/*
** _multiprocessing.wait(list [, timeout]) -> list of the ready ones (maybe
** empty): connections with something to read (or closed), handles of
** children that ended, integers as descriptors.
*/
static int mp_wait (lua_State *L) {
  struct timespec ts, *deadline;
  lua_Integer n;
  struct pollfd *fds;
  Conn **conns;
  int r;
  luaL_checktype(L, 1, LUA_TTABLE);
  deadline = optdeadline(L, 2, &ts);
  n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 0 && n < 100000, 1, "too many objects");
  lua_settop(L, 2);
  /* collected with the garbage if a conversion below raises */
  fds = lua_newuserdatauv(L, sizeof *fds * (size_t)(n + 1) +
                             sizeof *conns * (size_t)(n + 1), 0);
  conns = (Conn **)(fds + n + 1);
  lua_newtable(L);  /* stack: list timeout buffer anchors */
  for (lua_Integer i = 0; i < n; i++) {
    lua_geti(L, 1, i + 1);
    fds[i].fd = lua_isnil(L, -1) ? -1 : tofd(L, -1, i + 1);
    fds[i].events = POLLIN;
    fds[i].revents = 0;
    conns[i] = fds[i].fd >= 0 ? luaL_testudata(L, -1, CONN) : NULL;
    if (conns[i] != NULL)  /* alive until we are back, whatever the list */
      lua_rawseti(L, 4, i + 1);
    else
      lua_pop(L, 1);
  }
  /* The connections are in use while we poll (see Conn): a close by
     another thread leaves their descriptors open until we are back. */
  for (lua_Integer i = 0; i < n; i++)
    if (conns[i] != NULL)
      enter(conns[i]);
  r = lg_mp_waitfds(fds, (int)n, deadline);
  for (lua_Integer i = 0; i < n; i++)
    if (conns[i] != NULL)
      leave(conns[i], fds[i].fd);
  if (r == LG_INTERRUPTED)
    return lg_breaker_raise_interrupt(L);
  lua_newtable(L);
  for (lua_Integer i = 0, k = 0; i < n; i++)
    if (fds[i].fd >= 0 && fds[i].revents != 0) {
      lua_geti(L, 1, i + 1);
      lua_rawseti(L, -2, ++k);
    }
  return 1;
}


/* _multiprocessing._exit(code): flush queues and stdio, end the process */
static int mp_exit (lua_State *L) {
  int code = (int)luaL_optinteger(L, 1, 0);
  lg_mp_flush_feeders(lg_tstate_is_main());  /* Ctrl-C: exit anyway */
  fflush(NULL);
  _exit(code);
  return 0;
}


/* _multiprocessing.flush_feeders(): write what every Queue put holds */
static int mp_flush_feeders (lua_State *L) {
  if (!lg_mp_flush_feeders(lg_tstate_is_main()))
    return lg_breaker_raise_interrupt(L);
  return 0;
}


/* _multiprocessing.getpid() -> integer */
static int mp_getpid (lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}


/* _multiprocessing.getppid() -> integer */
static int mp_getppid (lua_State *L) {
  lua_pushinteger(L, getppid());
  return 1;
}


/* cpu_count() -> integer: the CPUs online */
static int mp_cpu_count (lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Registration
** =======================================================
*/

static const luaL_Reg mp_funcs[] = {
  {"fork", mp_fork},
  {"handle", mp_handle},
  {"wait", mp_wait},
  {"_exit", mp_exit},
  {"flush_feeders", mp_flush_feeders},
  {"getpid", mp_getpid},
  {"getppid", mp_getppid},
  {"cpu_count", mp_cpu_count},
  {"Pipe", mp_pipe},
  {NULL, NULL}
};

static const luaL_Reg conn_methods[] = {
  {"send", conn_send},
  {"recv", conn_recv},
  {"send_bytes", conn_send_bytes},
  {"recv_bytes", conn_recv_bytes},
  {"poll", conn_poll},
  {"close", conn_close},
  {"guard", conn_guard},
  {"fileno", conn_fileno},
  {NULL, NULL}
};

static const luaL_Reg conn_meta[] = {
  {"__gc", conn_close},
  {"__close", conn_close},
  {"__tostring", conn_tostring},
  {NULL, NULL}
};

static const luaL_Reg handle_methods[] = {
  {"wait", handle_wait},
  {"poll", handle_poll},
  {"signal", handle_signal},
  {"fileno", handle_fileno},
  {"forget", handle_forget},
  {NULL, NULL}
};

static const luaL_Reg handle_meta[] = {
  {"__gc", handle_gc},
  {NULL, NULL}
};


int luaopen__multiprocessing (lua_State *L) {
  lg_createmeta(L, CONN, conn_methods, conn_meta, conn_index);
  lg_createmeta(L, HANDLE, handle_methods, handle_meta, NULL);
  luaL_newlib(L, mp_funcs);
  lg_mp_open_pickle(L);
  lg_mp_open_shared(L);
  lg_mp_open_queue(L);
  lg_error_pushkind(L, EOFERR, NULL);
  lua_setfield(L, -2, "EOFError");
  lg_error_pushkind(L, "multiprocessing.TimeoutError", NULL);
  lua_setfield(L, -2, "TimeoutError");
  lua_pushboolean(L, 1);  /* lg_fork: the child's GIL is the forker's */
  lua_setfield(L, -2, "fork_resets_gil");
  lua_pushinteger(L, SIGTERM);
  lua_setfield(L, -2, "SIGTERM");
  lua_pushinteger(L, SIGKILL);
  lua_setfield(L, -2, "SIGKILL");
  return 1;
}

/* }====================================================== */
