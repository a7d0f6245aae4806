/*
** tests/unit/test_buf.c -- lg_Buf (stdlib/buf.c), the growable byte buffer
** of io, socket and multiprocessing: growth, contents, and a size request
** that would overflow size_t failing without harm to the buffer.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lglib.h"


Test(buf, starts_empty_and_frees_to_empty) {
  lg_Buf B;
  lg_buf_init(&B);
  cr_assert_null(B.b);
  cr_assert_eq(B.n, 0);
  cr_assert_eq(B.size, 0);
  cr_assert_eq(B.oom, 0);
  cr_assert(lg_buf_add(&B, "", 0));  /* nothing to add: no allocation */
  cr_assert_null(B.b);
  cr_assert(lg_buf_add(&B, "x", 1));
  cr_assert_not_null(B.b);
  lg_buf_free(&B);
  cr_assert_null(B.b);
  cr_assert_eq(B.n, 0);
  cr_assert_eq(B.size, 0);
}


Test(buf, grows_and_keeps_every_byte) {
  lg_Buf B;
  size_t total = 0, lastsize = 0;
  int grew = 0;
  lg_buf_init(&B);
  for (int i = 0; i < 10000; i++) {
    char piece[7];
    size_t l = (size_t)(i % 7) + 1;
    for (size_t k = 0; k < l; k++)
      piece[k] = (char)(total + k);
    cr_assert(lg_buf_add(&B, piece, l));
    total += l;
    cr_assert_eq(B.n, total);
    cr_assert_geq(B.size, B.n);
    if (B.size != lastsize) {
      grew++;
      lastsize = B.size;
    }
  }
  cr_assert_gt(grew, 1, "the buffer grew more than once");
  for (size_t k = 0; k < total; k++)
    cr_assert_eq(B.b[k], (char)k, "byte %zu", k);
  lg_buf_free(&B);
}


Test(buf, reserve_makes_room_to_write_into) {
  lg_Buf B;
  lg_buf_init(&B);
  cr_assert(lg_buf_add(&B, "ab", 2));
  cr_assert(lg_buf_reserve(&B, 1000));
  cr_assert_geq(B.size - B.n, 1000);
  memset(B.b + B.n, 'c', 1000);  /* as io's reads do, then count them */
  B.n += 1000;
  cr_assert_eq(B.n, 1002);
  cr_assert_eq(memcmp(B.b, "abccc", 5), 0);
  cr_assert_eq(B.b[1001], 'c');
  lg_buf_free(&B);
}


Test(buf, overflowing_request_fails_and_leaves_contents) {
  lg_Buf B;
  char *before;
  size_t size;
  lg_buf_init(&B);
  cr_assert(lg_buf_add(&B, "hello", 5));
  before = B.b;
  size = B.size;
  /* More than size_t can hold past the 5 bytes: no wrap, no allocation. */
  cr_assert_not(lg_buf_reserve(&B, SIZE_MAX));
  cr_assert_not(lg_buf_reserve(&B, SIZE_MAX - 2));
  cr_assert(B.oom);
  cr_assert_eq(B.b, before);
  cr_assert_eq(B.size, size);
  cr_assert_eq(B.n, 5);
  cr_assert_eq(memcmp(B.b, "hello", 5), 0);
  /* Once failed, it stays failed (callers look only at the end) ... */
  cr_assert_not(lg_buf_add(&B, "!", 1));
  cr_assert_eq(B.n, 5);
  /* ... until a reset, which keeps the memory. */
  lg_buf_reset(&B);
  cr_assert_eq(B.oom, 0);
  cr_assert_eq(B.n, 0);
  cr_assert_eq(B.b, before);
  cr_assert(lg_buf_add(&B, "again", 5));
  cr_assert_eq(memcmp(B.b, "again", 5), 0);
  lg_buf_free(&B);
}


Test(buf, overflowing_add_fails_and_leaves_contents) {
  lg_Buf B;
  lg_buf_init(&B);
  cr_assert(lg_buf_add(&B, "abc", 3));
  /* a length near SIZE_MAX is refused before any byte is read */
  cr_assert_not(lg_buf_add(&B, "x", SIZE_MAX - 1));
  cr_assert(B.oom);
  cr_assert_eq(B.n, 3);
  cr_assert_eq(memcmp(B.b, "abc", 3), 0);
  lg_buf_free(&B);
}


Test(buf, all_zero_bytes_is_an_empty_buffer) {
  lg_Buf B;
  memset(&B, 0, sizeof B);  /* as io's jobs and socket's receives start */
  cr_assert(lg_buf_add(&B, "z", 1));
  cr_assert_eq(B.n, 1);
  cr_assert_eq(B.b[0], 'z');
  lg_buf_free(&B);
}
