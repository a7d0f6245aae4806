/*
** stdlib/multiprocessing/mp_io.c -- multiprocessing's waits on
** descriptors and whole-message transfers over stream sockets, with the
** GIL released: what Connection (_multiprocessing.c) and Queue
** (mp_queue.c) both use.
** See LICENSE for copyright and licence (MIT).
**
** The main thread's waits also watch the Ctrl-C descriptor. Blocking
** calls read and write C buffers that the calling thread owns, never a
** Lua string, so nothing here touches Lua memory while the GIL is
** released.
*/

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "mp.h"
#include "park.h"
#include "sigint.h"
#include "tstate.h"
#include "waitq.h"


/* lg_poll: poll 'n' descriptors (GIL released by the caller) until one is
** ready, the deadline, or (if 'intr') Ctrl-C; 'fds' has room for n + 1. */
static int pollfds (struct pollfd *fds, int n,
                    const struct timespec *deadline, int intr) {
  int r = lg_poll(fds, n, deadline, intr);
  if (r < 0)
    lg_fatal("ppoll", errno);
  return r;
}


/* pollfds for the calling thread, which holds the GIL: released while
** it waits. */
int lg_mp_waitfds (struct pollfd *fds, int n,
                   const struct timespec *deadline) {
  int intr = lg_tstate_is_main(), r;
  if (intr && lg_sigint_pending())
    return LG_INTERRUPTED;
  LG_BEGIN_BLOCKING
  r = pollfds(fds, n, deadline, intr | LG_POLL_CANCEL);
  LG_END_BLOCKING
  return r;
}


int lg_mp_waitfd (int fd, short events, const struct timespec *deadline) {
  struct pollfd fds[2] = {{fd, events, 0}, {-1, 0, 0}};
  return lg_mp_waitfds(fds, 1, deadline);
}


/*
** Send ('out') or receive all 'len' bytes of 'buf' on the stream socket
** 'fd', GIL released; only the wait for the first byte watches 'deadline'.
** A receive watches 'intr' (lg_poll's: Ctrl-C, a cancel) only until the
** first byte, so that a message is never half read; a send watches it
** throughout, since a peer that stops reading would otherwise hold it
** for ever: a message cut short shuts the socket's sending side, so the
** peer sees the end of the stream mid-message (an error, never a garbled
** message) and later sends fail. Returns as lg_mp_sendall and
** lg_mp_recvall. A send only reads 'buf'.
*/
static int transfer (int fd, char *buf, size_t len, int out, int intr,
                     const struct timespec *deadline) {
  size_t done = 0;
  int r = 0;
  LG_BEGIN_BLOCKING
  while (done < len) {
    ssize_t k = out ? send(fd, buf + done, len - done,
                           MSG_NOSIGNAL | MSG_DONTWAIT)
                    : recv(fd, buf + done, len - done, MSG_DONTWAIT);
    if (k > 0)
      done += (size_t)k;
    else if (k == 0 && !out) {  /* end of file */
      errno = 0;
      r = -1;
      break;
    }
    else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd fds[2] = {{fd, out ? POLLOUT : POLLIN, 0}, {-1, 0, 0}};
      int w = pollfds(fds, 1, done == 0 ? deadline : NULL,
                      (out || done == 0) ? intr : 0);
      if (w != LG_WOKEN) {
        if (done > 0)  /* only a send gets here: see above */
          shutdown(fd, SHUT_WR);
        r = w;
        break;
      }
    }
    else if (errno != EINTR) {
      r = -1;
      break;
    }
  }
  LG_END_BLOCKING
  return r;
}


int lg_mp_sendall (int fd, const char *buf, size_t len) {
  return transfer(fd, (char *)buf, len, 1,
                  lg_tstate_is_main() | LG_POLL_CANCEL, NULL);
}


int lg_mp_recvall (int fd, char *buf, size_t len, int interruptible,
                   const struct timespec *deadline) {
  return transfer(fd, buf, len, 0,
                  interruptible ? lg_tstate_is_main() | LG_POLL_CANCEL : 0,
                  deadline);
}
