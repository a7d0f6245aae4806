/*
** stdlib/io.c -- Lua's 'io' library, installed in place of the stock one,
** releasing the GIL around every stdio call.
** See LICENSE for copyright and licence (MIT).
**
** Handles. A file is still Lua's own kind of object: a luaL_Stream
** userdata with the LUA_FILEHANDLE metatable and a real FILE*, so C modules
** that take Lua files keep working. Ours are an LGStream, which follows the
** luaL_Stream with a tag and a malloc'd mutex, the handle lock; a handle
** made by another C module (a plain luaL_Stream) uses one of a few shared
** "stripe" mutexes chosen by its address instead.
**
** The protocol of one call (read with all its formats, write with all its
** arguments, seek, flush, setvbuf, close):
**   1. With the GIL: check the arguments and copy what will be written
**      into a C buffer. Nothing Lua owns is touched after step 1 except
**      the handle's two fields, below.
**   2. Release the GIL, then take the handle lock, then (inside stdio) the
**      FILE's own lock. So no thread waits for the GIL while it holds a
**      stdio lock, and no thread waits for a handle lock while it holds
**      the GIL: neither lock can deadlock against the GIL.
**   3. Under the handle lock, see whether another thread closed the file
**      meanwhile (closef == NULL), then do the whole call on the FILE*.
**   4. Release the handle lock, take the GIL, push the results.
** The handle's closef and f are written only by a thread that holds both
** the GIL and the handle lock (close does its fclose without the GIL, takes
** the GIL back while still holding the handle lock, then marks the handle
** closed), so they may be read with either one. The userdata itself cannot
** go away during a call: it is on the caller's stack.
**
** __gc closes a forgotten file without releasing the GIL (releasing it in
** the middle of a garbage collection is not safe), as stock Lua does.
**
** Waiting for input. A read never waits inside stdio: before each read(2)
** stdio would make (nothing buffered), it lets the FILE's lock go and
** polls the descriptor, and takes the lock back once there is input. A
** thread blocked on a pipe or terminal thus holds no stdio lock, so the
** fflush(NULL) of exit (or of fork) cannot wait for it: a daemon thread
** blocked in io.read() does not keep the process from ending. The handle
** lock stays held, so no other reader of ours takes the input meanwhile.
** The main thread's poll also watches the Ctrl-C descriptor: Ctrl-C ends
** its read with "interrupted!". So does its wait for the handle lock,
** which another thread's read may hold for as long as its input takes:
** that wait looks for a Ctrl-C every CTRLC_NS (lockhandle). A read of
** any thread is ended the same ways by a cancel of the thread.
**
** Waiting for output. A write to a pipe, socket or terminal can wait for
** ever for a reader that stopped. There a write keeps at most PIPE_BUF
** bytes in the FILE's buffer, and before each write(2) that stdio would
** make (a flush of them, or a piece of at most PIPE_BUF bytes that goes
** out at once) it polls the descriptor, watching Ctrl-C (main thread)
** and a cancel, until the descriptor takes PIPE_BUF bytes without
** blocking (one free page of a pipe). So a write(2) never blocks for
** long, and a write that only fills the buffer makes no system call. An
** ended write has written the pieces before it; the rest is dropped, as
** a Python write that a KeyboardInterrupt ends. (A regular file never
** waits: it is written as stdio does.)
*/

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "breaker.h"
#include "lglib.h"
#include "park.h"
#include "sigint.h"
#include "tstate.h"
#include "waitq.h"


/* Registry keys of the default files: the same as stock Lua's. */
#define IO_PREFIX   "_IO_"
#define IO_INPUT    IO_PREFIX "input"
#define IO_OUTPUT   IO_PREFIX "output"

#define MAXARGLINE  250    /* most formats io.lines accepts, as stock */
#define MAXLENNUM   200    /* longest numeral "n" reads, as stock */
#define CHUNK       16384  /* read("a") grows its buffer by this much */

typedef struct LGStream {
  luaL_Stream s;           /* first: C modules see a plain luaL_Stream */
  const void *tag;         /* &streamtag: made by this file */
  pthread_mutex_t *lock;   /* the handle lock (malloc'd); freed by __gc */
} LGStream;

static const char streamtag = 0;

#define NSTRIPES  16
static pthread_mutex_t stripes[NSTRIPES] = {
  [0 ... NSTRIPES - 1] = PTHREAD_MUTEX_INITIALIZER
};


/* {====================================================================
** Handles and their locks
** =====================================================================*/

static int io_fclose (lua_State *L);
static int io_pclose (lua_State *L);
static int io_noclose (lua_State *L);


#define isclosed(p)  ((p)->closef == NULL)
#define tolstream(L)  ((luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE))


/* The LGStream at 'idx' if it is one of ours, else NULL. */
static LGStream *ownstream (lua_State *L, int idx) {
  LGStream *p = (LGStream *)lua_touserdata(L, idx);
  if (p != NULL && lua_rawlen(L, idx) == sizeof(LGStream) &&
      p->tag == &streamtag)
    return p;
  return NULL;
}


/* The lock of the handle at 'idx' (a checked file handle). */
static pthread_mutex_t *lockof (lua_State *L, int idx) {
  LGStream *own = ownstream(L, idx);
  if (own != NULL && own->lock != NULL)
    return own->lock;
  return &stripes[((uintptr_t)lua_touserdata(L, idx) >> 4) % NSTRIPES];
}


/* A new handle, closed until 'f' is set; its __gc is safe from the start. */
static luaL_Stream *newprefile (lua_State *L) {
  LGStream *p = (LGStream *)lua_newuserdatauv(L, sizeof(LGStream), 0);
  p->s.f = NULL;
  p->s.closef = NULL;
  p->tag = &streamtag;
  p->lock = NULL;
  luaL_setmetatable(L, LUA_FILEHANDLE);
  p->lock = (pthread_mutex_t *)malloc(sizeof(pthread_mutex_t));
  if (p->lock == NULL)
    luaL_error(L, "not enough memory");
  lg_mutex_init(p->lock);
  return &p->s;
}


static luaL_Stream *newfile (lua_State *L) {
  luaL_Stream *p = newprefile(L);
  p->closef = &io_fclose;
  return p;
}


static int closederror (lua_State *L) {
  return luaL_error(L, "attempt to use a closed file");
}


/* The handle at 1, which must be open (not its FILE*, as stock Lua's:
** every caller goes on with the handle). */
static luaL_Stream *tofile (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  if (isclosed(p))
    closederror(L);
  return p;
}


/* The FILE* of default file 'key' (IO_INPUT or IO_OUTPUT), pushed. */
static luaL_Stream *getiofile (lua_State *L, const char *key) {
  luaL_Stream *p;
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  p = (luaL_Stream *)lua_touserdata(L, -1);
  if (isclosed(p))
    luaL_error(L, "default %s file is closed", key + strlen(IO_PREFIX));
  return p;
}


/* }==================================================================== */


/* {====================================================================
** C buffers: what is read or written without the GIL
** =====================================================================*/

/* Frees the buffer (an lg_Buf); raises "not enough memory" if an
** allocation failed. */
static void buf_done (lua_State *L, lg_Buf *B) {
  int oom = B->oom;
  lg_buf_free(B);
  if (oom)
    luaL_error(L, "not enough memory");
}


/* }==================================================================== */


/* {====================================================================
** One call on a handle (steps 2 to 4 of the protocol)
** =====================================================================*/

enum { OP_READ, OP_WRITE, OP_FLUSH, OP_SEEK, OP_SETVBUF, OP_CLOSE };

/* Read formats, parsed with the GIL. */
enum { F_NUMBER, F_LINE, F_LINENL, F_ALL, F_COUNT, F_EOF };

typedef struct Fmt {
  int kind;
  size_t count;       /* F_COUNT */
  size_t off, len;    /* the result in the call's buffer */
  int ok;
} Fmt;

typedef struct Call {
  luaL_Stream *p;
  pthread_mutex_t *mu;
  int op;
  int closed;         /* another thread had closed the file */
  int ok;             /* the operation succeeded */
  int err;            /* errno after it */
  int ferr;           /* OP_READ: ferror() after it */
  int ctrlc;          /* READ, WRITE: a Ctrl-C ends the wait (main thread) */
  int cancel;         /* READ, WRITE: a cancel of the thread ends it */
  int regular;        /* READ, WRITE: a regular file (never waits); -1:
                         unknown */
  int intr;           /* READ, WRITE: Ctrl-C or a cancel ended the wait */
  lg_Buf buf;         /* OP_READ: results; OP_WRITE: the data */
  Fmt *fmts;          /* OP_READ */
  int nfmts, ndone;
  int whence, mode;   /* OP_SEEK, OP_SETVBUF */
  long long offset;   /* OP_SEEK in, result out */
  size_t size;        /* OP_SETVBUF */
} Call;


#if defined(__GLIBC__)
/* Does 'f' hold input, so that its next getc makes no read(2)? (glibc's
** FILE; flag 0x100, _IO_IN_BACKUP: it is reading ungetc's pushback, with
** the rest of its buffer kept behind it.) */
static int buffered (FILE *f) {
  return f->_IO_read_ptr < f->_IO_read_end || (f->_flags & 0x100) != 0;
}

/*
** How many bytes 'f' holds for output (0 if it is not writing), and how
** many more it can hold before it writes (glibc's flags: 0x800
** _IO_CURRENTLY_PUTTING, 0x2 _IO_UNBUFFERED).
*/
static size_t pending (FILE *f) {
  return (f->_flags & 0x800) ? (size_t)(f->_IO_write_ptr - f->_IO_write_base)
                             : 0;
}

static size_t room (FILE *f) {
  if ((f->_flags & 0x2) || f->_IO_buf_base == NULL)
    return 0;
  return (size_t)(f->_IO_buf_end - f->_IO_buf_base) - pending(f);
}

/* A newline makes 'f' write out at once (line buffered: 0x200)? */
static int linebuffered (FILE *f) {
  return (f->_flags & 0x200) != 0;
}
#else
static int buffered (FILE *f) {
  (void)f;
  return 1;  /* unknown: read as stdio does, waiting inside it */
}

static size_t pending (FILE *f) { (void)f; return PIPE_BUF; }
static size_t room (FILE *f) { (void)f; return 0; }
static int linebuffered (FILE *f) { (void)f; return 1; }
#endif


/* Whether 'f' is a regular file: asked once per read, and only if needed. */
static int isregular (Call *j, FILE *f) {
  if (j->regular < 0) {
    struct stat st;
    j->regular = fstat(fileno_unlocked(f), &st) != 0 || S_ISREG(st.st_mode);
  }
  return j->regular;
}


/* Should a wait of 'j' end (a Ctrl-C, a cancel)? No GIL needed. */
static int stopped (Call *j) {
  return (j->ctrlc && lg_sigint_pending()) ||
         (j->cancel && lg_waiter_interrupted(lg_waiter_self()));
}


/*
** Called with 'f' (descriptor 'fd') locked: waits with the FILE unlocked
** until the descriptor has 'events' (POLLIN, POLLOUT) or an error, which
** the call then reports. A reader also stops waiting once 'f' holds input
** (another module's code read into it). Returns 0 if Ctrl-C or a cancel
** came first (j->intr set).
*/
static int waitfd (Call *j, FILE *f, int fd, short events) {
  struct pollfd p[2];
  p[0].fd = fd;
  p[0].events = events;
  for (;;) {
    int r;
    if (stopped(j)) {
      j->intr = 1;
      return 0;
    }
    r = poll(p, 1, 0);  /* ready already: no wait */
    if (r > 0 || (r < 0 && errno != EINTR))
      return 1;
    if (r == 0) {
      int intr = (j->ctrlc ? LG_POLL_SIGINT : 0) |
                 (j->cancel ? LG_POLL_CANCEL : 0);
      funlockfile(f);
      lg_poll(p, 1, NULL, intr);  /* whatever it says: look again */
      flockfile(f);
      if (events == POLLIN && buffered(f))
        return 1;
    }
  }
}


/*
** Called with 'f' locked before each character or block is taken from it:
** when stdio would have to read(2), waits until the descriptor has input
** (or end of file, or an error).
*/
static int waitinput (Call *j, FILE *f) {
  int fd;
  if (buffered(f) || feof_unlocked(f) || ferror_unlocked(f) ||
      (fd = fileno_unlocked(f)) < 0 || isregular(j, f))
    return 1;
  return waitfd(j, f, fd, POLLIN);
}


/* Called with 'f' locked before a write(2) that stdio will make: waits
** until the descriptor takes PIPE_BUF bytes (one free page of a pipe). */
static int waitoutput (Call *j, FILE *f) {
  return waitfd(j, f, fileno_unlocked(f), POLLOUT);
}


/* Do the 'n' bytes at 's' only go into the buffer of 'f', keeping at most
** PIPE_BUF there, with no write(2)? */
static int quiet (FILE *f, const char *s, size_t n) {
  return pending(f) + n <= PIPE_BUF && n < room(f) &&
         !(linebuffered(f) && memchr(s, '\n', n) != NULL);
}


/* Write the 'n' (<= PIPE_BUF) bytes at 's' to 'f' (locked) as the notes
** say; 0 on an error or an end (j->intr). */
static int write_piece (Call *j, FILE *f, const char *s, size_t n) {
  if (!quiet(f, s, n)) {
    if (pending(f) > 0 &&  /* flush what it holds, then look again */
        (!waitoutput(j, f) || fflush_unlocked(f) != 0))
      return 0;
    if (!quiet(f, s, n) && !waitoutput(j, f))
      return 0;
  }
  return fwrite_unlocked(s, 1, n, f) == n;
}


/* The write of j->buf to 'f'. Returns whether all of it was written;
** j->intr if Ctrl-C or a cancel ended it. */
static int write_watched (Call *j, FILE *f) {
  const char *s = j->buf.b;
  size_t done, n = j->buf.n;
  int ok = 1;
  flockfile(f);
  j->regular = -1;
  if (quiet(f, s, n) || isregular(j, f))  /* asked only before a write */
    ok = fwrite_unlocked(s, 1, n, f) == n;
  else
    for (done = 0; ok && done < n; done += PIPE_BUF)
      ok = write_piece(j, f, s + done,
                       n - done < PIPE_BUF ? n - done : PIPE_BUF);
  funlockfile(f);
  return ok;
}


/* The next character of 'f' (locked), as getc, or EOF after Ctrl-C. */
static int nextc (Call *j, FILE *f) {
  return waitinput(j, f) ? getc_unlocked(f) : EOF;
}


/*
** The numeral "n" reads: the longest prefix of the input (after spaces)
** that can begin a Lua numeral, at most MAXLENNUM characters, as stock
** Lua's reader accepts it. Called with the FILE locked.
*/
typedef struct NumReader {
  Call *j;
  FILE *f;
  int c;                  /* look-ahead character */
  int n;
  char text[MAXLENNUM + 1];
} NumReader;


static int num_take (NumReader *r) {
  if (r->n >= MAXLENNUM) {
    r->text[0] = '\0';    /* too long: invalid */
    return 0;
  }
  r->text[r->n++] = (char)r->c;
  r->c = nextc(r->j, r->f);
  return 1;
}


static int num_accept (NumReader *r, char a, char b) {
  return (r->c == a || r->c == b) ? num_take(r) : 0;
}


static int num_digits (NumReader *r, int hex) {
  int k = 0;
  while ((hex ? isxdigit(r->c) : isdigit(r->c)) && num_take(r))
    k++;
  return k;
}


/* Reads a numeral into the call's buffer; returns whether it is valid. */
static int read_numeral (Call *j, FILE *f) {
  NumReader r;
  char point = localeconv()->decimal_point[0];
  int hex = 0, count = 0;
  char *end;
  r.j = j;
  r.f = f;
  r.n = 0;
  do
    r.c = nextc(j, f);
  while (isspace(r.c));
  num_accept(&r, '-', '+');
  if (num_accept(&r, '0', '0')) {
    if (num_accept(&r, 'x', 'X'))
      hex = 1;
    else
      count = 1;  /* the leading 0 is a digit */
  }
  count += num_digits(&r, hex);
  if (num_accept(&r, point, '.'))
    count += num_digits(&r, hex);
  if (count > 0 && num_accept(&r, hex ? 'p' : 'e', hex ? 'P' : 'E')) {
    num_accept(&r, '-', '+');
    num_digits(&r, 0);
  }
  ungetc(r.c, f);
  r.text[r.n] = '\0';
  lg_buf_add(&j->buf, r.text, strlen(r.text) + 1);
  /* What the lexer took is a numeral iff strtod takes all of it (Lua's
  ** own conversion is strtod plus integers, a subset of what it takes). */
  return r.text[0] != '\0' && (strtod(r.text, &end), *end == '\0');
}


static int read_line (Call *j, FILE *f, int keepnl) {
  lg_Buf *B = &j->buf;
  int c = EOF;
  size_t start = B->n;
  while (lg_buf_reserve(B, 1) && (c = nextc(j, f)) != EOF && c != '\n')
    B->b[B->n++] = (char)c;
  if (c == '\n' && keepnl && lg_buf_reserve(B, 1))
    B->b[B->n++] = '\n';
  return c == '\n' || B->n > start;
}


/*
** Up to 'n' bytes of 'f' into 'b', as fread. A regular file is read by
** fread itself (large reads; it never waits); anything else one stdio
** buffer at a time, waiting for input before each.
*/
static size_t read_block (Call *j, FILE *f, char *b, size_t n) {
  size_t got = 0;
  if (isregular(j, f))
    return fread_unlocked(b, 1, n, f);
  while (got < n && waitinput(j, f)) {
    int c = getc_unlocked(f);  /* at most one read(2), which has input */
    size_t more = n - got - 1;
    if (c == EOF)
      break;
    b[got++] = (char)c;
#if defined(__GLIBC__)
    if (more > (size_t)(f->_IO_read_end - f->_IO_read_ptr))
      more = (size_t)(f->_IO_read_end - f->_IO_read_ptr);  /* buffered */
#endif
    got += fread_unlocked(b + got, 1, more, f);
  }
  return got;
}


static void read_all (Call *j, FILE *f) {
  lg_Buf *B = &j->buf;
  size_t nr;
  do {
    if (!lg_buf_reserve(B, CHUNK))
      return;
    nr = read_block(j, f, B->b + B->n, CHUNK);
    B->n += nr;
  } while (nr == CHUNK);
}


/*
** Up to 'n' bytes, the buffer grown as they come (at most CHUNK ahead):
** a huge count (read(math.maxinteger), or a negative one, which stock
** Lua takes as huge) reads what there is instead of allocating it all
** first, which fails (and aborts an AddressSanitizer build).
*/
static int read_chars (Call *j, FILE *f, size_t n) {
  lg_Buf *B = &j->buf;
  size_t start = B->n, want, nr;
  do {
    want = n < CHUNK ? n : CHUNK;
    if (!lg_buf_reserve(B, want))
      return 0;
    nr = read_block(j, f, B->b + B->n, want);
    B->n += nr;
    n -= nr;
  } while (nr == want && n > 0);
  return B->n > start;
}


static int test_eof (Call *j, FILE *f) {
  int c = nextc(j, f);
  ungetc(c, f);
  return c != EOF;
}


/* All the formats of one read, stopping at the first that fails. */
static void do_read (Call *j) {
  FILE *f = j->p->f;
  int ok = 1;
  flockfile(f);
  clearerr(f);
  j->regular = -1;
  for (j->ndone = 0; j->ndone < j->nfmts && ok && !j->buf.oom && !j->intr;
       j->ndone++) {
    Fmt *fm = &j->fmts[j->ndone];
    fm->off = j->buf.n;
    switch (fm->kind) {
      case F_NUMBER: ok = read_numeral(j, f); break;
      case F_LINE: ok = read_line(j, f, 0); break;
      case F_LINENL: ok = read_line(j, f, 1); break;
      case F_ALL: read_all(j, f); ok = 1; break;
      case F_COUNT: ok = read_chars(j, f, fm->count); break;
      default: ok = test_eof(j, f); break;
    }
    fm->len = j->buf.n - fm->off;
    fm->ok = ok;
  }
  j->ferr = ferror(f);
  j->err = errno;
  funlockfile(f);
}


static void do_op (Call *j) {
  FILE *f = j->p->f;
  errno = 0;
  switch (j->op) {
    case OP_READ:
      do_read(j);
      return;
    case OP_WRITE:
      j->ok = j->buf.n == 0 || write_watched(j, f);
      break;
    case OP_FLUSH:
      j->ok = fflush(f) == 0;
      break;
    case OP_SEEK:
      j->ok = fseeko(f, (off_t)j->offset, j->whence) == 0;
      if (j->ok)
        j->offset = (long long)ftello(f);
      break;
    case OP_SETVBUF:
      j->ok = setvbuf(f, NULL, j->mode, j->size) == 0;
      break;
    case OP_CLOSE:
      j->ok = (j->p->closef == &io_pclose) ? pclose(f) : fclose(f) == 0;
      break;
  }
  j->err = errno;
}


/*
** How often the main thread, waiting for a handle lock that another
** reader holds, looks for a Ctrl-C: that reader may wait for its input
** for ever, and a mutex wait cannot watch a descriptor.
*/
#define CTRLC_NS  50000000L


/*
** Takes the handle lock of 'j' (without the GIL). A read of the main
** thread gives up when Ctrl-C comes first, a read of any thread when a
** cancel does: returns 0, j->intr set.
*/
static int lockhandle (Call *j) {
  struct timespec due;
  int r;
  if (!j->ctrlc && !j->cancel) {
    lg_check(pthread_mutex_lock(j->mu));
    return 1;
  }
  while ((r = pthread_mutex_trylock(j->mu)) != 0) {
    if (r != EBUSY)
      lg_fatal("pthread_mutex_trylock", r);
    if (stopped(j)) {
      j->intr = 1;
      return 0;
    }
    clock_gettime(CLOCK_REALTIME, &due);  /* timedlock's clock; a jump
                                             only moves the next look */
    due.tv_nsec += CTRLC_NS;
    if (due.tv_nsec >= 1000000000L) {
      due.tv_sec++;
      due.tv_nsec -= 1000000000L;
    }
    r = pthread_mutex_timedlock(j->mu, &due);
    if (r == 0)
      return 1;
    if (r != ETIMEDOUT)
      lg_fatal("pthread_mutex_timedlock", r);
  }
  return 1;
}


/*
** Runs the call on the handle at stack index 1 (already checked open) with
** the GIL released and the handle lock held. For OP_CLOSE the GIL is taken
** back before the handle lock is released, and the handle marked closed.
** Sets j->closed if another thread closed the file first: the caller frees
** what it allocated, then calls checkcall.
*/
static void runcall (Call *j) {
  pthread_mutex_t *mu = j->mu;
  int waits = j->op == OP_READ || j->op == OP_WRITE;  /* may wait long */
  j->ctrlc = waits && lg_tstate_is_main();
  j->cancel = waits && lg_tstate_current() != NULL;
  if (j->op != OP_READ)  /* a read may wait for another thread */
    lg_blocking_brief();
  LG_BEGIN_BLOCKING
  if (lockhandle(j)) {  /* else Ctrl-C or a cancel came first: the caller
                           raises */
    if (isclosed(j->p))
      j->closed = 1;
    else
      do_op(j);
    if (j->op != OP_CLOSE)
      lg_check(pthread_mutex_unlock(mu));
  }
  LG_END_BLOCKING
  if (j->op == OP_CLOSE) {
    if (!j->closed)
      j->p->closef = NULL;
    lg_check(pthread_mutex_unlock(mu));
  }
}


static void checkcall (lua_State *L, Call *j) {
  if (j->closed)
    closederror(L);
}


static void initcall (lua_State *L, Call *j, int op, luaL_Stream *p,
                      int idx) {
  memset(j, 0, sizeof *j);
  j->p = p;
  j->mu = lockof(L, idx);
  j->op = op;
}


/* Results of an operation, as luaL_fileresult with the call's errno. */
static int callresult (lua_State *L, Call *j) {
  errno = j->err;
  return luaL_fileresult(L, j->ok, NULL);
}


/* }==================================================================== */


/* {====================================================================
** Closing
** =====================================================================*/

/* The handle at index 1 (open): closes it and pushes close's results. */
static int aux_close (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  lua_CFunction cf = p->closef;
  if (cf == &io_noclose)
    return io_noclose(L);
  if (cf == &io_fclose || cf == &io_pclose) {
    Call j;
    initcall(L, &j, OP_CLOSE, p, 1);
    runcall(&j);
    checkcall(L, &j);
    if (cf == &io_pclose) {
      errno = j.err;
      return luaL_execresult(L, j.ok);
    }
    return callresult(L, &j);
  }
  else {  /* another module's file: its closef runs with the GIL */
    pthread_mutex_t *mu = lockof(L, 1);
    int n;
    lg_mutex_take(mu);
    if (isclosed(p)) {
      lg_check(pthread_mutex_unlock(mu));
      return closederror(L);
    }
    p->closef = NULL;
    n = (*cf)(L);
    lg_check(pthread_mutex_unlock(mu));
    return n;
  }
}


/* The closef of our files; only called by another module's code. */
static int io_fclose (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  errno = 0;
  return luaL_fileresult(L, fclose(p->f) == 0, NULL);
}


static int io_pclose (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  errno = 0;
  return luaL_execresult(L, pclose(p->f));
}


/* The standard files cannot be closed. */
static int io_noclose (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  p->closef = &io_noclose;  /* keep the file open */
  luaL_pushfail(L);
  lua_pushliteral(L, "cannot close standard file");
  return 2;
}


/* file:close() -> true | fail, message, errno */
static int f_close (lua_State *L) {
  tofile(L);
  return aux_close(L);
}


/* io.close([file]) -> true | fail, message, errno */
static int io_close (lua_State *L) {
  if (lua_isnone(L, 1))
    lua_getfield(L, LUA_REGISTRYINDEX, IO_OUTPUT);
  return f_close(L);
}


/* __close: a to-be-closed file going out of scope */
static int f_tbc (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  if (!isclosed(p) && p->f != NULL)
    aux_close(L);
  return 0;
}


/* file:guard() -> file, a to-be-closed value that closes it: Python's
** 'with open(...) as f:' */
static int f_guard (lua_State *L) {
  tofile(L);
  lua_settop(L, 1);
  return 1;
}


/* __gc: closes a forgotten file, holding the GIL throughout */
static int f_gc (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  LGStream *own = ownstream(L, 1);
  if (!isclosed(p) && p->f != NULL) {
    lua_CFunction cf = p->closef;
    p->closef = NULL;
    if (own == NULL)
      (*cf)(L);  /* another module's: as stock Lua */
    else if (cf == &io_fclose)
      fclose(p->f);
    else if (cf == &io_pclose)
      pclose(p->f);
    else
      p->closef = cf;  /* a standard file stays open */
  }
  if (own != NULL && own->lock != NULL) {
    pthread_mutex_destroy(own->lock);
    free(own->lock);
    own->lock = NULL;
  }
  return 0;
}


/* tostring(file) -> "file (0x...)" | "file (closed)" */
static int f_tostring (lua_State *L) {
  luaL_Stream *p = tolstream(L);
  if (isclosed(p))
    lua_pushliteral(L, "file (closed)");
  else
    lua_pushfstring(L, "file (%p)", (void *)p->f);
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** Opening
** =====================================================================*/

/* Is 'mode' one that fopen accepts: [rwa]+?b* */
static int checkmode (const char *mode) {
  if (*mode == '\0' || strchr("rwa", *mode++) == NULL)
    return 0;
  if (*mode == '+')
    mode++;
  return strspn(mode, "b") == strlen(mode);
}


/* fopen with the GIL released; 'fname' and 'mode' are copied first. */
static FILE *openfile (const char *fname, const char *mode, int *err) {
  char *fn = strdup(fname), *md = strdup(mode);
  FILE *f = NULL;
  *err = ENOMEM;
  if (fn != NULL && md != NULL) {
    lg_blocking_brief();
    LG_BEGIN_BLOCKING
    f = fopen(fn, md);
    *err = errno;
    LG_END_BLOCKING
  }
  free(fn);
  free(md);
  return f;
}


/* io.open(filename [, mode]) -> file | fail, message, errno */
static int io_open (lua_State *L) {
  const char *filename = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  luaL_Stream *p = newfile(L);
  int err;
  luaL_argcheck(L, checkmode(mode), 2, "invalid mode");
  p->f = openfile(filename, mode, &err);
  if (p->f == NULL) {
    p->closef = NULL;
    errno = err;
    return luaL_fileresult(L, 0, filename);
  }
  return 1;
}


/* Pushes the file 'fname' opened in 'mode', or raises an error. */
static void opencheckfile (lua_State *L, const char *fname, const char *mode) {
  luaL_Stream *p = newfile(L);
  int err;
  p->f = openfile(fname, mode, &err);
  if (p->f == NULL) {
    p->closef = NULL;
    luaL_error(L, "cannot open file '%s' (%s)", fname, strerror(err));
  }
}


/* io.popen(prog [, mode]) -> file | fail, message, errno */
static int io_popen (lua_State *L) {
  const char *prog = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  luaL_Stream *p = newprefile(L);
  char *cmd;
  FILE *f = NULL;
  int err = ENOMEM;
  luaL_argcheck(L, (mode[0] == 'r' || mode[0] == 'w') && mode[1] == '\0',
                2, "invalid mode");
  if ((cmd = strdup(prog)) != NULL) {
    char md[2] = {mode[0], '\0'};
    LG_BEGIN_BLOCKING
    /* The command's output follows what this process wrote before. */
    fflush(stdout);
    fflush(stderr);
    f = popen(cmd, md);
    err = errno;
    LG_END_BLOCKING
    free(cmd);
  }
  if (f == NULL) {
    errno = err;
    return luaL_fileresult(L, 0, prog);
  }
  p->f = f;
  p->closef = &io_pclose;
  return 1;
}


/* io.tmpfile() -> file | fail, message, errno */
static int io_tmpfile (lua_State *L) {
  luaL_Stream *p = newfile(L);
  FILE *f;
  int err;
  LG_BEGIN_BLOCKING
  f = tmpfile();
  err = errno;
  LG_END_BLOCKING
  p->f = f;
  if (f == NULL) {
    p->closef = NULL;
    errno = err;
    return luaL_fileresult(L, 0, NULL);
  }
  return 1;
}


/* io.type(x) -> "file" | "closed file" | fail */
static int io_type (lua_State *L) {
  luaL_Stream *p;
  luaL_checkany(L, 1);
  p = (luaL_Stream *)luaL_testudata(L, 1, LUA_FILEHANDLE);
  if (p == NULL)
    luaL_pushfail(L);
  else if (isclosed(p))
    lua_pushliteral(L, "closed file");
  else
    lua_pushliteral(L, "file");
  return 1;
}


static int g_iofile (lua_State *L, const char *key, const char *mode) {
  if (!lua_isnoneornil(L, 1)) {
    const char *filename = lua_tostring(L, 1);
    if (filename != NULL)
      opencheckfile(L, filename, mode);
    else {
      tofile(L);
      lua_pushvalue(L, 1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, key);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  return 1;
}


/* io.input([file | filename]) -> file */
static int io_input (lua_State *L) {
  return g_iofile(L, IO_INPUT, "r");
}


/* io.output([file | filename]) -> file */
static int io_output (lua_State *L) {
  return g_iofile(L, IO_OUTPUT, "w");
}


/* }==================================================================== */


/* {====================================================================
** Reading
** =====================================================================*/

/*
** Parses the format at 'arg' into 'fm'; returns 0 if it is not a valid
** format (the error is raised later, as stock Lua raises it only when it
** reaches that format).
*/
static int parsefmt (lua_State *L, int arg, Fmt *fm) {
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer n;
    if (!lua_isinteger(L, arg)) {
      int isint;
      n = lua_tointegerx(L, arg, &isint);
      if (!isint)
        return 0;
    }
    else
      n = lua_tointeger(L, arg);
    fm->count = (size_t)n;
    fm->kind = (n == 0) ? F_EOF : F_COUNT;
    return 1;
  }
  else {
    const char *p = lua_tostring(L, arg);
    if (p == NULL)
      return 0;
    if (*p == '*')
      p++;
    switch (*p) {
      case 'n': fm->kind = F_NUMBER; return 1;
      case 'l': fm->kind = F_LINE; return 1;
      case 'L': fm->kind = F_LINENL; return 1;
      case 'a': fm->kind = F_ALL; return 1;
      default: return 0;
    }
  }
}


/* Raises the error stock Lua gives for the bad format at 'arg'. */
static int fmterror (lua_State *L, int arg) {
  if (lua_type(L, arg) == LUA_TNUMBER)
    luaL_checkinteger(L, arg);
  luaL_checkstring(L, arg);
  return luaL_argerror(L, arg, "invalid format");
}


/*
** Reads from the handle 'p' (stack index 'fidx') the 'nargs' formats from
** stack index 'first' on; pushes one result per format tried and returns
** how many. A bad format is named by its index, as Lua's own is.
*/
static int g_read (lua_State *L, luaL_Stream *p, int fidx, int first,
                   int nargs) {
  int bad = 0, i, n;
  Fmt small[8], *fmts = small;
  Call j;
  if (nargs > 8) {
    fmts = (Fmt *)malloc(sizeof(Fmt) * (size_t)nargs);
    if (fmts == NULL)
      return luaL_error(L, "not enough memory");
  }
  initcall(L, &j, OP_READ, p, fidx);
  j.fmts = fmts;
  if (nargs == 0) {
    fmts[0].kind = F_LINE;
    j.nfmts = 1;
  }
  for (i = 0; i < nargs && !bad; i++) {
    if (parsefmt(L, first + i, &fmts[i]))
      j.nfmts++;
    else
      bad = first + i;
  }
  runcall(&j);
  if (j.intr) {  /* Ctrl-C: what was read is dropped */
    if (fmts != small)
      free(fmts);
    free(j.buf.b);
    return lg_breaker_raise_interrupt(L);
  }
  if (j.closed || j.buf.oom || j.ferr) {
    if (fmts != small)
      free(fmts);
    if (j.closed) {
      free(j.buf.b);
      j.buf.b = NULL;
      checkcall(L, &j);
    }
    buf_done(L, &j.buf);
    errno = j.err;
    return luaL_fileresult(L, 0, NULL);
  }
  luaL_checkstack(L, j.ndone, "too many arguments");
  for (n = 0; n < j.ndone; n++) {
    Fmt *fm = &fmts[n];
    if (!fm->ok)
      luaL_pushfail(L);
    else if (fm->kind == F_NUMBER) {
      if (lua_stringtonumber(L, j.buf.b + fm->off) == 0)
        luaL_pushfail(L);  /* not reached: read_numeral checked it */
    }
    else
      lua_pushlstring(L, fm->len ? j.buf.b + fm->off : "", fm->len);
  }
  if (fmts != small)
    free(fmts);
  free(j.buf.b);
  if (bad && n == j.nfmts && (n == 0 || lua_toboolean(L, -1)))
    return fmterror(L, bad);  /* every format before the bad one worked */
  return n;
}


/* io.read(...) -> values */
static int io_read (lua_State *L) {
  int n = lua_gettop(L);
  luaL_Stream *p = getiofile(L, IO_INPUT);  /* above the formats, which
                                               stay arguments #1 on */
  return g_read(L, p, n + 1, 1, n);
}


/* file:read(...) -> values */
static int f_read (lua_State *L) {
  return g_read(L, tofile(L), 1, 2, lua_gettop(L) - 1);
}


/* The iterator of io.lines and file:lines. */
static int io_readline (lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = (int)lua_tointeger(L, lua_upvalueindex(2));
  if (isclosed(p))
    return luaL_error(L, "file is already closed");
  lua_settop(L, 1);
  luaL_checkstack(L, n, "too many arguments");
  for (i = 1; i <= n; i++)
    lua_pushvalue(L, lua_upvalueindex(3 + i));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_replace(L, 1);  /* the file at 1, the formats from 2 */
  n = g_read(L, p, 1, 2, lua_gettop(L) - 1);
  if (lua_toboolean(L, -n))
    return n;
  if (n > 1)  /* an error: its message is the second result */
    return luaL_error(L, "%s", lua_tostring(L, -n + 1));
  if (lua_toboolean(L, lua_upvalueindex(3))) {  /* io.lines opened it */
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    aux_close(L);
  }
  return 0;
}


/* The iterator over the file at 1 with the formats above it. */
static void aux_lines (lua_State *L, int toclose) {
  int n = lua_gettop(L) - 1;
  luaL_argcheck(L, n <= MAXARGLINE, MAXARGLINE + 2, "too many arguments");
  lua_pushvalue(L, 1);
  lua_pushinteger(L, n);
  lua_pushboolean(L, toclose);
  lua_rotate(L, 2, 3);  /* file, n, toclose, formats... */
  lua_pushcclosure(L, io_readline, 3 + n);
}


/* file:lines(...) -> iterator */
static int f_lines (lua_State *L) {
  tofile(L);
  aux_lines(L, 0);
  return 1;
}


/* io.lines([filename, ...]) -> iterator [, nil, nil, file] */
static int io_lines (lua_State *L) {
  int toclose;
  if (lua_isnone(L, 1))
    lua_pushnil(L);
  if (lua_isnil(L, 1)) {
    lua_getfield(L, LUA_REGISTRYINDEX, IO_INPUT);
    lua_replace(L, 1);
    tofile(L);
    toclose = 0;
  }
  else {
    const char *filename = luaL_checkstring(L, 1);
    opencheckfile(L, filename, "r");
    lua_replace(L, 1);
    toclose = 1;
  }
  aux_lines(L, toclose);
  if (toclose) {
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, 1);  /* the to-be-closed 4th result */
    return 4;
  }
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** Writing and the other operations
** =====================================================================*/

/*
** Writes the arguments from 'arg' to the top into the handle 'p' (stack
** index 'fidx') as one fwrite; the handle is on the top of the stack, to
** be returned. As stock Lua, the arguments before a bad one are written
** before the error is raised.
*/
static int g_write (lua_State *L, luaL_Stream *p, int fidx, int arg) {
  int last = lua_gettop(L) - 1, bad = 0;
  Call j;
  initcall(L, &j, OP_WRITE, p, fidx);
  for (; arg <= last && !bad; arg++) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
      char num[64];
      int len = lua_isinteger(L, arg)
        ? snprintf(num, sizeof num, LUA_INTEGER_FMT,
                   (LUAI_UACINT)lua_tointeger(L, arg))
        : snprintf(num, sizeof num, LUA_NUMBER_FMT,
                   (LUAI_UACNUMBER)lua_tonumber(L, arg));
      lg_buf_add(&j.buf, num, (size_t)len);
    }
    else if (lua_type(L, arg) == LUA_TSTRING) {
      size_t l;
      const char *s = lua_tolstring(L, arg, &l);
      lg_buf_add(&j.buf, s, l);
    }
    else
      bad = arg;
  }
  if (j.buf.oom)
    buf_done(L, &j.buf);
  runcall(&j);
  free(j.buf.b);
  j.buf.b = NULL;
  checkcall(L, &j);
  if (j.intr)  /* Ctrl-C or a cancel: the rest is dropped */
    return lg_breaker_raise_interrupt(L);
  if (bad)
    luaL_checklstring(L, bad, NULL);
  if (j.ok)
    return 1;
  return callresult(L, &j);
}


/* io.write(...) -> file | fail, message, errno */
static int io_write (lua_State *L) {
  luaL_Stream *p = getiofile(L, IO_OUTPUT);  /* on top, to be returned */
  return g_write(L, p, lua_gettop(L), 1);
}


/* file:write(...) -> file | fail, message, errno */
static int f_write (lua_State *L) {
  luaL_Stream *p = tofile(L);
  lua_pushvalue(L, 1);
  return g_write(L, p, 1, 2);
}


static int g_flush (lua_State *L, luaL_Stream *p, int fidx) {
  Call j;
  initcall(L, &j, OP_FLUSH, p, fidx);
  runcall(&j);
  checkcall(L, &j);
  return callresult(L, &j);
}


/* io.flush() -> true | fail, message, errno */
static int io_flush (lua_State *L) {
  luaL_Stream *p = getiofile(L, IO_OUTPUT);
  return g_flush(L, p, lua_gettop(L));
}


/* file:flush() -> true | fail, message, errno */
static int f_flush (lua_State *L) {
  return g_flush(L, tofile(L), 1);
}


/* file:seek([whence [, offset]]) -> position | fail, message, errno */
static int f_seek (lua_State *L) {
  static const int mode[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  static const char *const modenames[] = {"set", "cur", "end", NULL};
  luaL_Stream *p = tofile(L);
  int op;
  lua_Integer off;
  Call j;
  op = luaL_checkoption(L, 2, "cur", modenames);
  off = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, (lua_Integer)(off_t)off == off, 3,
                "not an integer in proper range");
  initcall(L, &j, OP_SEEK, p, 1);
  j.whence = mode[op];
  j.offset = off;
  runcall(&j);
  checkcall(L, &j);
  if (!j.ok)
    return callresult(L, &j);
  lua_pushinteger(L, (lua_Integer)j.offset);
  return 1;
}


/* file:setvbuf(mode [, size]) -> true | fail, message, errno */
static int f_setvbuf (lua_State *L) {
  static const int mode[] = {_IONBF, _IOFBF, _IOLBF};
  static const char *const modenames[] = {"no", "full", "line", NULL};
  luaL_Stream *p = tofile(L);
  int op;
  lua_Integer sz;
  Call j;
  op = luaL_checkoption(L, 2, NULL, modenames);
  sz = luaL_optinteger(L, 3, LUAL_BUFFERSIZE);
  initcall(L, &j, OP_SETVBUF, p, 1);
  j.mode = mode[op];
  j.size = (size_t)sz;
  runcall(&j);
  checkcall(L, &j);
  return callresult(L, &j);
}


/* }==================================================================== */


static const luaL_Reg io_funcs[] = {
  {"close", io_close},
  {"flush", io_flush},
  {"input", io_input},
  {"lines", io_lines},
  {"open", io_open},
  {"output", io_output},
  {"popen", io_popen},
  {"read", io_read},
  {"tmpfile", io_tmpfile},
  {"type", io_type},
  {"write", io_write},
  {NULL, NULL}
};


static const luaL_Reg file_methods[] = {
  {"read", f_read},
  {"write", f_write},
  {"lines", f_lines},
  {"flush", f_flush},
  {"seek", f_seek},
  {"close", f_close},
  {"guard", f_guard},
  {"setvbuf", f_setvbuf},
  {NULL, NULL}
};


static const luaL_Reg file_meta[] = {
  {"__gc", f_gc},
  {"__close", f_tbc},
  {"__tostring", f_tostring},
  {NULL, NULL}
};


/* Our handle for a standard file, set as io[name] and registry[key]. */
static void stdfile (lua_State *L, FILE *f, const char *key,
                     const char *name) {
  luaL_Stream *p = newprefile(L);
  p->f = f;
  p->closef = &io_noclose;
  if (key != NULL) {
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
  }
  lua_setfield(L, -2, name);
}


/*
** Installs this library in place of the stock one: in Lua's own 'io'
** table and file metatable (so code holding either sees the new
** functions), with new standard files. (The new 'print' is in print.c.)
*/
void lg_open_io (lua_State *L) {
  luaL_getmetatable(L, LUA_FILEHANDLE);
  if (lua_isnil(L, -1)) {  /* the stock library was not opened */
    lua_pop(L, 1);
    luaL_newmetatable(L, LUA_FILEHANDLE);
  }
  luaL_setfuncs(L, file_meta, 0);
  if (lua_getfield(L, -1, "__index") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
  }
  luaL_setfuncs(L, file_methods, 0);
  lua_pop(L, 2);  /* __index, metatable */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_IOLIBNAME) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, LUA_IOLIBNAME);
    lua_pushvalue(L, -1);
    lua_setglobal(L, LUA_IOLIBNAME);
  }
  luaL_setfuncs(L, io_funcs, 0);
  stdfile(L, stdin, IO_INPUT, "stdin");
  stdfile(L, stdout, IO_OUTPUT, "stdout");
  stdfile(L, stderr, NULL, "stderr");
  lua_pop(L, 2);  /* io, package.loaded */
}
