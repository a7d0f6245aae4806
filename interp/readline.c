/*
** interp/readline.c -- the luagil program's reads of stdin: a line of the
** REPL, with libedit when stdin is a terminal (and luagil was built with
** it), else plainly, and a whole script given on stdin; all with the GIL
** released and Ctrl-C aware.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#if defined(LUAGIL_USE_LIBEDIT)
#include <editline/readline.h>
#endif

#include "luagil.h"
#include "readline.h"


/* {====================================================================
** Reading a line at the prompt
**
** The GIL is released while the user types, so that threads started at
** the prompt keep running. Ctrl-C reaches luagil's own handler, which
** only records it and makes luagil_sigint_fd() readable: waiting on that
** descriptor next to stdin lets Ctrl-C cancel the line being typed.
** =====================================================================*/

typedef enum WaitResult { WAIT_INPUT, WAIT_SIGINT, WAIT_HANGUP } WaitResult;


/* Wait for input on stdin or for a Ctrl-C. Called without the GIL. */
static WaitResult waitinput (int sigfd) {
  for (;;) {
    struct pollfd p[2];
    p[0].fd = STDIN_FILENO;
    p[0].events = POLLIN;
    p[1].fd = sigfd;
    p[1].events = POLLIN;
    if (poll(p, sigfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      return WAIT_INPUT;  /* let the read itself report the failure */
    }
    if ((p[1].revents & POLLIN) && luagil_take_sigint())
      return WAIT_SIGINT;
    if (p[0].revents & POLLIN)
      return WAIT_INPUT;
    if (p[0].revents != 0)
      return WAIT_HANGUP;
  }
}


#if defined(LUAGIL_USE_LIBEDIT)

/*
** True if the terminal on stdin was hung up: it polls readable but holds
** no byte. libedit does not report this end of input, and would be called
** again and again.
*/
static int hungup (void) {
  int n = 0;
  struct pollfd p;
  p.fd = STDIN_FILENO;
  p.events = POLLIN;
  if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
    return 1;
  return ioctl(STDIN_FILENO, FIONREAD, &n) < 0 || n == 0;
}


/* Where the line handler leaves its result: main thread only. */
static char *gotline;
static int linedone;


static void online (char *line) {
  gotline = line;
  linedone = 1;
}


/*
** libedit's callback interface reads one character at a time, so the
** wait for each character can also watch for Ctrl-C.
*/
static ReadResult editline (const char *prompt, int sigfd, char **line) {
  linedone = 0;
  gotline = NULL;
  rl_callback_handler_install(prompt, online);
  while (!linedone) {
    WaitResult w = waitinput(sigfd);
    if (w == WAIT_INPUT && hungup())
      w = WAIT_HANGUP;
    if (w != WAIT_INPUT) {
      /* removing the handler leaves raw mode; installing it again (for
         the next line) starts over with an empty buffer */
      rl_callback_handler_remove();
      if (w == WAIT_HANGUP)
        return READ_EOF;
      fputs("^C\n", stdout);
      fflush(stdout);
      return READ_CANCEL;
    }
    rl_callback_read_char();
  }
  rl_callback_handler_remove();
  *line = gotline;
  return (gotline != NULL) ? READ_LINE : READ_EOF;
}

#endif


/*
** Without line editing (or when stdin is no terminal): one byte at a time
** with read(2), so nothing past the newline is taken from a script's
** io.read. Like GNU readline, the line read is echoed when stdin is not a
** terminal, so a piped session reads like a typed one.
*/
static ReadResult plainline (const char *prompt, int sigfd, char **line) {
  size_t len = 0, size = 128;
  char *buf = malloc(size);
  fputs(prompt, stdout);
  fflush(stdout);
  if (buf == NULL)
    return READ_EOF;
  for (;;) {
    char c;
    ssize_t n;
    if (waitinput(sigfd) == WAIT_SIGINT) {
      free(buf);
      fputs("\n", stdout);  /* a terminal in cooked mode echoed the ^C */
      fflush(stdout);
      return READ_CANCEL;
    }
    n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 && len == 0) {
      free(buf);
      return READ_EOF;
    }
    if (n <= 0 || c == '\n')
      break;
    if (len + 2 > size) {
      char *nbuf = realloc(buf, size *= 2);
      if (nbuf == NULL)
        break;
      buf = nbuf;
    }
    buf[len++] = c;
  }
  buf[len] = '\0';
  if (!isatty(STDIN_FILENO)) {
    fputs(buf, stdout);
    fputs("\n", stdout);
    fflush(stdout);
  }
  *line = buf;
  return READ_LINE;
}


/* Read one line with the GIL released; '*line' is malloc'ed. */
ReadResult readline_nogil (const char *prompt, char **line) {
  ReadResult r;
  int sigfd = luagil_sigint_fd();
  char *p = strdup(prompt);  /* Lua's string: not to be read without GIL */
  if (p == NULL)
    return READ_EOF;
  luagil_take_sigint();  /* a Ctrl-C that already interrupted code is old */
  LUAGIL_BEGIN_ALLOW_THREADS
#if defined(LUAGIL_USE_LIBEDIT)
  if (isatty(STDIN_FILENO))
    r = editline(p, sigfd, line);
  else
#endif
    r = plainline(p, sigfd, line);
  LUAGIL_END_ALLOW_THREADS
  free(p);
  return r;
}


/*
** Whole-stdin reads for a script given on stdin: the lexer needs it all
** before it ends anyway, and so the wait for it can watch Ctrl-C, which
** a read inside stdio would not see (luagil's handler restarts it).
*/
int readstdin_nogil (char **data, size_t *len) {
  int r = 0, err = 0, sigfd = luagil_sigint_fd();
  size_t n = 0, size = 4096;
  char *buf = malloc(size);
  if (buf == NULL)
    return errno = ENOMEM, -1;
  luagil_take_sigint();  /* as at the prompt: an old Ctrl-C is spent */
  LUAGIL_BEGIN_ALLOW_THREADS
  for (;;) {
    ssize_t got;
    if (waitinput(sigfd) == WAIT_SIGINT) {
      r = 1;
      break;
    }
    if (n == size) {
      char *nbuf = size * 2 > size ? realloc(buf, size * 2) : NULL;
      if (nbuf == NULL) {
        r = -1, err = ENOMEM;
        break;
      }
      buf = nbuf;
      size *= 2;
    }
    got = read(STDIN_FILENO, buf + n, size - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      r = -1, err = errno;
      break;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  LUAGIL_END_ALLOW_THREADS
  if (r != 0) {
    free(buf);
    errno = err;
    return r;
  }
  *data = buf;
  *len = n;
  return 0;
}


void saveline (const char *line) {
#if defined(LUAGIL_USE_LIBEDIT)
  if (line[0] != '\0' && isatty(STDIN_FILENO))
    add_history(line);
#else
  (void)line;
#endif
}


void readline_init (const char *name) {
#if defined(LUAGIL_USE_LIBEDIT)
  rl_readline_name = name;
  rl_catch_signals = 0;  /* Ctrl-C belongs to luagil's handler */
  rl_inhibit_completion = 1;
  using_history();
#else
  (void)name;
#endif
}

/* }==================================================================== */
