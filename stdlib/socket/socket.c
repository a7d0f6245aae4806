/*
** stdlib/socket/socket.c -- the 'socket.core' module: LuaSocket 3.1's C
** core (tcp, udp, dns, select, timeouts, protect and newtry), releasing
** the GIL whenever a call has to wait.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Objects. A Lua object (userdata, touched only with the GIL) holds its
** class, family, timeouts and statistics, and a pointer to a Sock, which
** is C memory (malloc'd, freed by __gc) and is all that a call touches
** without the GIL: the descriptor and the receive buffer. A class is a
** metatable named as LuaSocket names it ("tcp{client}"), so errors and
** tostring read as LuaSocket's; a method accepts a set of classes.
**
** Calls. Descriptors are non-blocking. A call first tries its system call
** with the GIL held (it cannot block), and only if it would block
** releases the GIL and waits in poll(), each wait at most the block
** timeout and all of them within the total one (Tm), then finishes
** without the GIL (receive and send copy into and out of C buffers). The
** main thread's waits also watch the Ctrl-C descriptor.
**
** Threads. One receiver and one sender at a time per tcp socket (rlock,
** wlock: taken without the GIL when contended, held for a whole call), so
** one thread can receive while another sends. 'busy' counts the calls
** using the descriptor, select() among them; close() by another thread
** shuts the socket down (waking those calls, which then see "closed"),
** moves the descriptor to 'dead', and the last of them closes it, so a
** number in use is never reused under them (issue 19, case 13: a select
** that kept polling a closed socket's number reported it readable for a
** new socket's data). __gc called by hand while calls are busy is
** close() plus 'orphan': the last call out frees the Sock, and the object
** raises "attempt to use a destroyed socket" from then on. A fork() child
** may use and close the sockets that parent threads' calls were using
** (see Fork).
**
** setfd. LuaSec takes a socket's descriptor with getfd and setfd(-1), and
** LuaSocket's own tests swap descriptors between objects: setfd replaces
** the descriptor without closing the old one, and makes it non-blocking
** (our calls try their system call with the GIL held).
**
** select() and close. A socket closed while select waits on it is
** reported ready, in the readable set (and the writable one, if it is
** there too): the receive or send a LuaSocket user then makes returns
** nil, "closed". A socket already closed when select begins is skipped,
** as LuaSocket skips it.
**
** Files. This one has the module table, the objects' shared machinery
** (the Sock, its calls' bracketing, classes, the methods every object
** has, fork handling) and the waits; tcp.c and udp.c have each kind's
** methods, inet.c addresses, options.c setoption and getoption, dns.c
** socket.dns, select.c socket.select, except.c newtry and protect;
** socket.h is what they share. socket_layer.lua is the 'socket' module
** on top: LuaSocket's own socket.lua where it is installed, else ours.
*/

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "clock.h"
#include "fork.h"
#include "lglib.h"
#include "park.h"
#include "socket.h"
#include "tstate.h"


/* {====================================================================
** Errors
** =====================================================================*/

/* LuaSocket's words for the errors a script tests for; strerror's for
** the others. */
const char *lg_sock_errstr (int err) {
  switch (err) {
    case IO_DONE: return NULL;
    case IO_TIMEOUT: return "timeout";
    case IO_CLOSED: return "closed";
    case IO_INTR: return "interrupted!";
    case EAGAIN: return "timeout";
    case ETIMEDOUT: return "timeout";
    case EPIPE: case ECONNRESET: case ECONNABORTED: return "closed";
    case ECONNREFUSED: return "connection refused";
    case EADDRINUSE: return "address already in use";
    case EISCONN: return "already connected";
    case EACCES: return "permission denied";
    default: return strerror(err);
  }
}


/* Pushes nil and the message of 'err'; returns 2. */
int lg_sock_pusherr (lua_State *L, int err) {
  lua_pushnil(L);
  lua_pushstring(L, lg_sock_errstr(err));
  return 2;
}


/* Pushes 1 as LuaSocket does, a float; returns 1. */
int lg_sock_pushone (lua_State *L) {
  lua_pushnumber(L, 1);
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** Timeouts and waits
** =====================================================================*/

/* The timeouts of a call of 'o' starting now (GIL held). */
void lg_sock_tmstart (Tm *tm, const Obj *o) {
  tm->block = o->block >= 0 ? o->block : -1;  /* NaN too: none */
  tm->total = lg_deadline(o->total >= 0 ? o->total : -1, &tm->end);
  tm->nowait = o->block == 0 || o->total == 0;
  tm->intr = lg_tstate_is_main() | LG_POLL_CANCEL;
}


/*
** Waits without the GIL until 'fd' has 'events', or the wait's timeout
** ends, or (main thread) Ctrl-C comes, or the thread is cancelled.
** Returns IO_DONE (ready, or an error that the next call reports),
** IO_TIMEOUT or IO_INTR.
*/
int lg_sock_wait (int fd, short events, const Tm *tm) {
  struct pollfd p[2] = {{fd, events, 0}};
  struct timespec dl, *deadline;
  if (tm->nowait)
    return IO_TIMEOUT;
  deadline = lg_deadline_within(tm->block, tm->total, &dl);
  switch (lg_poll(p, 1, deadline, tm->intr)) {
    case LG_TIMEDOUT: return IO_TIMEOUT;
    case LG_INTERRUPTED: return IO_INTR;
    default: return IO_DONE;
  }
}


/* The result of a recv or send that failed with 'err' (not EAGAIN). */
int lg_sock_ioerr (int err) {
  if (err == EPIPE || err == ECONNRESET || err == ECONNABORTED)
    return IO_CLOSED;
  return err;
}


/* }==================================================================== */


/* {====================================================================
** Fork
** =====================================================================*/

/*
** Every Sock of the process (any interpreter's), for the fork handlers: a
** parent thread blocked in a call holds its rlock or wlock and counts in
** 'busy', and that thread does not exist in the child, where the socket
** is the child's to use and close, as in Python. So the prepare handler
** takes every 'mu' (held only briefly, and never with live_mu or another
** 'mu'), which makes each Sock's state whole, and the child, whose one
** thread is in no call (a fork comes from Lua, and no call runs Lua
** between its enter and leave), resets the locks and 'busy', and does
** what the calls that are gone would have done: the last one out closes a
** dead descriptor and frees an orphan, and a connect's or bind's
** descriptor that was still pending goes (its master has none again).
** Data a gone receive had already taken from the buffer is lost to the
** child; what is still in the buffer stays.
*/

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static Sock *live;


static void sock_destroy (Sock *s) {
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->rlock);
  pthread_mutex_destroy(&s->wlock);
  free(s);
}


static void fork_prepare (void) {
  lg_check(pthread_mutex_lock(&live_mu));
  for (Sock *s = live; s != NULL; s = s->next)
    lg_check(pthread_mutex_lock(&s->mu));
}


static void fork_parent (void) {
  for (Sock *s = live; s != NULL; s = s->next)
    lg_check(pthread_mutex_unlock(&s->mu));
  lg_check(pthread_mutex_unlock(&live_mu));
}


static void fork_child (void) {
  Sock *s = live, *next;
  live = NULL;
  for (; s != NULL; s = next) {
    next = s->next;
    lg_mutex_init(&s->mu);
    lg_mutex_init(&s->rlock);
    lg_mutex_init(&s->wlock);
    if (s->pending && s->fd >= 0) {
      close(s->fd);
      s->fd = -1;
    }
    if (s->dead >= 0)
      close(s->dead);
    s->dead = -1;
    s->pending = 0;
    s->busy = 0;
    if (s->first > s->last)
      s->first = s->last = 0;
    if (s->orphan) {  /* no object reaches it, and no call now */
      sock_destroy(s);
      continue;
    }
    s->prev = NULL;  /* relink the survivors */
    s->next = live;
    if (live != NULL)
      live->prev = s;
    live = s;
  }
  lg_mutex_init(&live_mu);
}


static void forkhandler (int phase) {
  if (phase == LG_FORK_PREPARE)
    fork_prepare();
  else if (phase == LG_FORK_PARENT)
    fork_parent();
  else
    fork_child();
}


static void live_add (Sock *s) {
  lg_check(pthread_mutex_lock(&live_mu));
  s->prev = NULL;
  s->next = live;
  if (live != NULL)
    live->prev = s;
  live = s;
  lg_check(pthread_mutex_unlock(&live_mu));
}


static void live_remove (Sock *s) {
  lg_check(pthread_mutex_lock(&live_mu));
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    live = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  lg_check(pthread_mutex_unlock(&live_mu));
}


/* }==================================================================== */


/* {====================================================================
** The Sock: a call's bracket
** =====================================================================*/

/* The descriptor now (-1: none or closed); calls use enter instead. */
int lg_sock_curfd (Sock *s) {
  int fd;
  lg_check(pthread_mutex_lock(&s->mu));
  fd = (s->closing || s->pending) ? -1 : s->fd;
  lg_check(pthread_mutex_unlock(&s->mu));
  return fd;
}


/*
** Begin a call that may make the descriptor (connect, bind): the
** descriptor (-1: none yet, or another such call's, pending), or -2 if
** closed (nothing to leave). The Sock stays until the matching leave.
*/
int lg_sock_hold (Sock *s) {
  int fd;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    fd = s->closing ? -2 : s->pending ? -1 : s->fd;
    if (fd != -2)
      s->busy++;
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return fd;
}


/* Begin a call on the descriptor: its number, or -1 if none or closed
** (nothing to leave). */
int lg_sock_enter (Sock *s) {
  int fd;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    fd = (s->closing || s->pending) ? -1 : s->fd;
    if (fd >= 0)
      s->busy++;
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return fd;
}


void lg_sock_free (Sock *s) {
  live_remove(s);
  sock_destroy(s);
}


/* End a call begun by hold or enter; 's' may be freed. */
void lg_sock_leave (Sock *s) {
  int last, dead;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    last = --s->busy == 0;
    if (last && s->dead >= 0) {
      close(s->dead);
      s->dead = -1;
    }
    dead = last && s->orphan;  /* no one else can reach it now */
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  if (dead)
    lg_sock_free(s);
}


/* Closes 's' (idempotent): at once if no call uses it, else by shutting
** it down, which wakes the calls, and the last one out closes. Returns
** whether calls are still busy. */
int lg_sock_close (Sock *s) {
  int busy;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    busy = s->busy > 0;
    if (s->fd >= 0) {
      if (busy && s->dead < 0) {
        shutdown(s->fd, SHUT_RDWR);  /* wakes the calls in poll */
        s->dead = s->fd;
      }
      else
        close(s->fd);
      s->fd = -1;
    }
    s->closing = 1;
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return busy;
}


/*
** Replaces the descriptor by 'fd' (-1: none), which the socket owns from
** now on; the old one is left open, and a closed socket is open again.
** Returns 0 if calls on a closed descriptor are still draining (a second
** dead one would have nowhere to go).
*/
int lg_sock_setfd (Sock *s, int fd) {
  int ok;
  if (fd >= 0) {  /* our calls try their system call with the GIL */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
      fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  }
  lg_check(pthread_mutex_lock(&s->mu));
  {
    ok = !s->pending && (s->dead < 0 || s->busy == 0);
    if (ok) {
      s->fd = fd;
      s->closing = 0;
      s->first = s->last = 0;
    }
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return ok;
}


int lg_sock_isclosing (Sock *s) {
  int c;
  lg_check(pthread_mutex_lock(&s->mu));
  c = s->closing;
  lg_check(pthread_mutex_unlock(&s->mu));
  return c;
}


/* Does received data wait in the buffer? (false while a receive runs) */
int lg_sock_isdirty (Obj *o) {
  int dirty = 0;
  Sock *s = o->s;
  if (!o->closed && s != NULL && s->cap > 0 &&
      pthread_mutex_trylock(&s->rlock) == 0) {
    dirty = s->first < s->last;
    lg_check(pthread_mutex_unlock(&s->rlock));
  }
  return dirty;
}


/*
** A connect or bind that made its own descriptor installs it in the Sock
** at once, so that a close() by another thread shuts it down (ending a
** connect that waits); until it is done ('pending'), other calls do not
** see it, so that a failure can close it under no one. Returns IO_DONE,
** IO_CLOSED, or EALREADY if another connect or bind got there first.
*/
int lg_sock_install (Sock *s, int fd) {
  int r = IO_DONE;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    if (s->closing)
      r = IO_CLOSED;
    else if (s->fd >= 0)
      r = EALREADY;
    else {
      s->fd = fd;
      s->pending = 1;
    }
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return r;
}


/* Ends what install began for 'fd': it stays ('keep') or is closed. A
** close() meanwhile already took it (to 'dead'). */
void lg_sock_settle (Sock *s, int fd, int keep) {
  int drop = 0;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    if (s->pending && s->fd == fd) {
      s->pending = 0;
      if (!keep) {
        s->fd = -1;
        drop = 1;
      }
    }
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  if (drop)
    close(fd);
}


/* }==================================================================== */


/* {====================================================================
** Objects and classes
** =====================================================================*/

static const char CLASSKEY = 'c';  /* metatable[&CLASSKEY]: the class */


const char *lg_sock_clsname (int cls) {
  switch (cls) {
    case TCP_MASTER: return "tcp{master}";
    case TCP_CLIENT: return "tcp{client}";
    case TCP_SERVER: return "tcp{server}";
    case UDP_UNCONNECTED: return "udp{unconnected}";
    case UDP_CONNECTED: return "udp{connected}";
    case TCP_ANY: return "tcp{any}";
    default: return "udp{any}";
  }
}


/* The object at 'arg' if it is one of ours of one of 'classes', else
** NULL. */
Obj *lg_sock_test (lua_State *L, int arg, int classes) {
  int cls = 0;
  Obj *o = (Obj *)lua_touserdata(L, arg);
  if (o == NULL || lua_type(L, arg) != LUA_TUSERDATA ||
      !lua_getmetatable(L, arg))
    return NULL;
  if (lua_rawgetp(L, -1, &CLASSKEY) == LUA_TNUMBER)
    cls = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  return (cls & classes) ? o : NULL;
}


/* The object at 'arg', of one of 'classes', not finalised: as
** LuaSocket's, the error says "tcp{client} expected". */
Obj *lg_sock_check (lua_State *L, int arg, int classes,
                    const char *expected) {
  int group = (classes & TCP_ANY) ? TCP_ANY : UDP_ANY;
  Obj *o = lg_sock_test(L, arg, group);
  if (o != NULL && o->s == NULL)  /* of the right kind, but destroyed */
    luaL_error(L, "attempt to use a destroyed socket");
  if (o == NULL || !(o->cls & classes))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s expected", expected));
  return o;
}


void lg_sock_setclass (lua_State *L, int arg, int cls) {
  Obj *o = (Obj *)lua_touserdata(L, arg);
  arg = lua_absindex(L, arg);
  luaL_getmetatable(L, lg_sock_clsname(cls));
  lua_setmetatable(L, arg);
  o->cls = cls;
}


/*
** A new object over 'fd' (-1: none yet); fd is closed on failure. It is
** valid before anything can fail: its __gc is safe at every step.
*/
Obj *lg_sock_new (lua_State *L, int cls, int family, int fd, size_t cap) {
  Obj *o = (Obj *)lua_newuserdatauv(L, sizeof(Obj), 0);
  Sock *s;
  memset(o, 0, sizeof *o);
  o->block = o->total = -1;
  o->cls = cls;
  o->family = family;
  o->birthday = lg_clock();
  luaL_setmetatable(L, lg_sock_clsname(cls));
  s = (Sock *)malloc(sizeof(Sock) + cap);
  if (s == NULL) {
    if (fd >= 0)
      close(fd);
    luaL_error(L, "not enough memory");
  }
  lg_mutex_init(&s->mu);
  lg_mutex_init(&s->rlock);
  lg_mutex_init(&s->wlock);
  s->fd = fd;
  s->dead = -1;
  s->busy = s->closing = s->orphan = s->pending = 0;
  s->cap = cap;
  s->first = s->last = 0;
  live_add(s);
  o->s = s;
  return o;
}


/* The object at 1 of the methods' group (upvalue 1), even a finalised
** one. */
static Obj *checkany (lua_State *L) {
  int group = (int)lua_tointeger(L, lua_upvalueindex(1));
  Obj *o = lg_sock_test(L, 1, group);
  if (o == NULL)
    luaL_argerror(L, 1, lua_pushfstring(L, "%s expected",
                                        lg_sock_clsname(group)));
  return o;
}


/* The same, not finalised. */
static Obj *checkopen (lua_State *L) {
  Obj *o = checkany(L);
  if (o->s == NULL)
    luaL_error(L, "attempt to use a destroyed socket");
  return o;
}


/* sock:close() -> 1 */
static int sock_close (lua_State *L) {
  Obj *o = checkany(L);
  if (o->s != NULL)
    lg_sock_close(o->s);
  o->closed = 1;
  return lg_sock_pushone(L);
}


/*
** The finaliser, idempotent. Called by the collector, no call can be
** using the Sock; called by hand, one may be (waiting in receive, accept
** or select): it is closed as by close(), and the last call frees it.
*/
static int sock_gc (lua_State *L) {
  Obj *o = checkany(L);
  Sock *s = o->s;
  o->s = NULL;
  o->closed = 1;
  if (s != NULL) {
    int busy;
    lg_check(pthread_mutex_lock(&s->mu));
    s->orphan = 1;  /* set before the close: no leave can miss it */
    lg_check(pthread_mutex_unlock(&s->mu));
    busy = lg_sock_close(s);
    if (!busy)  /* and none can begin: the object no longer points to it */
      lg_sock_free(s);
  }
  return 0;
}


/* tostring(sock) -> "tcp{client}: 0x..." */
static int sock_tostring (lua_State *L) {
  Obj *o = checkany(L);
  lua_pushfstring(L, "%s: %p", lg_sock_clsname(o->cls), (void *)o);
  return 1;
}


/* sock:getfd() -> number (-1 when it has none) */
static int sock_getfd (lua_State *L) {
  Obj *o = checkopen(L);
  lua_pushnumber(L, o->closed ? -1 : lg_sock_curfd(o->s));
  return 1;
}


/* sock:setfd(fd): the socket owns 'fd' from now on (-1: none) */
static int sock_setfd (lua_State *L) {
  Obj *o = checkopen(L);
  lua_Number n = luaL_checknumber(L, 2);
  int fd = (n >= 0 && n <= INT_MAX) ? (int)n : -1;
  if (!lg_sock_setfd(o->s, fd))
    return luaL_error(L, "socket is busy");
  o->closed = 0;
  return 0;
}


/* sock:dirty() -> boolean: received data waits in the buffer */
static int sock_dirty (lua_State *L) {
  lua_pushboolean(L, lg_sock_isdirty(checkopen(L)));
  return 1;
}


/* sock:getfamily() -> "inet4" | "inet6" */
static int sock_getfamily (lua_State *L) {
  Obj *o = checkopen(L);
  lua_pushstring(L, o->family == AF_INET6 ? "inet6" : "inet4");
  return 1;
}


/* sock:settimeout([value [, mode]]) -> 1 */
static int sock_settimeout (lua_State *L) {
  Obj *o = checkopen(L);
  double v = luaL_optnumber(L, 2, -1);
  const char *mode = luaL_optstring(L, 3, "b");
  switch (*mode) {
    case 'b': o->block = v; break;
    case 'r': case 't': o->total = v; break;
    default: return luaL_argerror(L, 3, "invalid timeout mode");
  }
  return lg_sock_pushone(L);
}


/* sock:gettimeout() -> block, total */
static int sock_gettimeout (lua_State *L) {
  Obj *o = checkopen(L);
  lua_pushnumber(L, o->block);
  lua_pushnumber(L, o->total);
  return 2;
}


/* sock:guard() -> a to-be-closed value that closes sock: sock itself */
static int sock_guard (lua_State *L) {
  checkopen(L);
  lua_settop(L, 1);
  return 1;
}


static const luaL_Reg common_methods[] = {
  {"close", sock_close},
  {"dirty", sock_dirty},
  {"getfamily", sock_getfamily},
  {"getfd", sock_getfd},
  {"gettimeout", sock_gettimeout},
  {"guard", sock_guard},
  {"setfd", sock_setfd},
  {"settimeout", sock_settimeout},
  {NULL, NULL}
};


static const luaL_Reg common_meta[] = {
  {"__close", sock_close},
  {"__gc", sock_gc},
  {"__tostring", sock_tostring},
  {NULL, NULL}
};


/* Adds the common methods for 'group' to the table on top. */
void lg_sock_common (lua_State *L, int group) {
  lua_pushinteger(L, group);
  luaL_setfuncs(L, common_methods, 1);
}


/* The metatable of class 'cls' of 'group'; the methods table is on top
** (and stays). */
void lg_sock_newclass (lua_State *L, int cls, int group) {
  luaL_newmetatable(L, lg_sock_clsname(cls));  /* stack: methods mt */
  lua_pushinteger(L, group);
  luaL_setfuncs(L, common_meta, 1);
  lua_pushinteger(L, cls);
  lua_rawsetp(L, -2, &CLASSKEY);
  lua_newtable(L);                             /* stack: methods mt index */
  lua_pushnil(L);
  while (lua_next(L, -4)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_pushstring(L, lg_sock_clsname(cls));
  lua_setfield(L, -2, "class");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}


/* }==================================================================== */


/* {====================================================================
** Module
** =====================================================================*/

/* socket.gettime() -> seconds since the epoch */
static int socket_gettime (lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}


/* socket.sleep(seconds): releases the GIL; Ctrl-C raises */
static int socket_sleep (lua_State *L) {
  double s = luaL_checknumber(L, 1);
  return s > 0 ? lg_sleep(L, s) : 0;  /* NaN and negatives: no sleep */
}


/* socket.skip(d, ...) -> the arguments after the first d of them (a
** negative d keeps -d of those before them, d itself among them, as
** LuaSocket does) */
static int socket_skip (lua_State *L) {
  lua_Integer d = luaL_checkinteger(L, 1);
  lua_Integer top = lua_gettop(L);
  lua_Integer n = d < 0 ? top - 1 + (d < -top ? top : -d) : top - 1 - d;
  return n < 0 ? 0 : n > top ? (int)top : (int)n;
}


/* socket.__unload(): nothing to undo */
static int socket_unload (lua_State *L) {
  (void)L;
  return 0;
}


static const luaL_Reg socket_funcs[] = {
  {"gettime", socket_gettime},
  {"sleep", socket_sleep},
  {"skip", socket_skip},
  {"__unload", socket_unload},
  {NULL, NULL}
};


/*
** As LuaSocket's core does when it opens: a write to a pipe or socket
** whose reader is gone is an error (EPIPE), not a SIGPIPE that kills the
** process, unless the host set its own handler.
*/
static void ignorepipe (void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
      !(sa.sa_flags & SA_SIGINFO)) {
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
  }
}


int luaopen_socket_core (lua_State *L) {
  ignorepipe();
  lg_fork_register(forkhandler);
  luaL_newlib(L, socket_funcs);
  lg_sock_open_except(L);  /* newtry, protect */
  lg_sock_open_tcp(L);     /* tcp, tcp4, tcp6, connect, socketpair */
  lg_sock_open_udp(L);     /* udp, udp4, udp6 */
  lg_sock_open_select(L);
  lg_sock_open_dns(L);     /* the dns table */
  lua_pushliteral(L, "LuaSocket 3.0.0 (luagil)");
  lua_setfield(L, -2, "_VERSION");
  lua_pushinteger(L, SETSIZE);
  lua_setfield(L, -2, "_SETSIZE");
  lua_pushinteger(L, -1);
  lua_setfield(L, -2, "_SOCKETINVALID");
  lua_pushinteger(L, DATAGRAMSIZE);
  lua_setfield(L, -2, "_DATAGRAMSIZE");
  return 1;
}



/*
** The 'socket' module: our core as 'socket.core' (unless one is loaded
** already: LuaSocket's, if a script required it first), then the Lua
** layer on it (socket_layer.lua). The core is put in package.preload
** if nothing is there, so that a host whose modules option leaves
** 'socket.core' out still gets ours.
*/
int luaopen_socket (lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  if (lua_getfield(L, -1, "socket.core") == LUA_TNIL) {
    lua_pushcfunction(L, luaopen_socket_core);
    lua_setfield(L, -3, "socket.core");
  }
  lua_pop(L, 2);
  return luaopen_socket_layer(L);
}

/* }==================================================================== */
