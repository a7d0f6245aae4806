/*
** stdlib/buf.c -- lg_Buf, a growable byte buffer in C memory, for what a
** call reads or writes without the GIL (io, socket) or builds before it
** hands it over (multiprocessing's serializer).
** See LICENSE for copyright and licence (MIT).
**
** Nothing here raises or needs the GIL: a failed allocation, or a size
** that would overflow size_t, marks the buffer 'oom' and leaves its
** contents as they were, and each caller reports that its own way (as
** "not enough memory", all of them today). Once 'oom', every reserve and
** add fails, so a caller may add many pieces and look only at the end.
*/

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lglib.h"

#define FIRSTSIZE  256  /* the first allocation; each growth doubles */


void lg_buf_init (lg_Buf *B) {
  B->b = NULL;
  B->n = B->size = 0;
  B->oom = 0;
}


int lg_buf_reserve (lg_Buf *B, size_t more) {
  size_t want;
  char *nb;
  if (B->oom)
    return 0;
  if (B->size - B->n >= more)
    return 1;
  want = B->size ? B->size : FIRSTSIZE;
  while (want - B->n < more) {  /* want >= size >= n: no wrap */
    if (want > SIZE_MAX / 2) {  /* doubling would overflow */
      B->oom = 1;
      return 0;
    }
    want *= 2;
  }
  nb = (char *)realloc(B->b, want);
  if (nb == NULL) {
    B->oom = 1;
    return 0;
  }
  B->b = nb;
  B->size = want;
  return 1;
}


int lg_buf_add (lg_Buf *B, const void *s, size_t l) {
  if (l == 0)
    return !B->oom;
  if (!lg_buf_reserve(B, l))
    return 0;
  memcpy(B->b + B->n, s, l);
  B->n += l;
  return 1;
}


void lg_buf_reset (lg_Buf *B) {
  B->n = 0;
  B->oom = 0;
}


void lg_buf_free (lg_Buf *B) {
  free(B->b);
  lg_buf_init(B);
}
