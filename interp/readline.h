/*
** interp/readline.h -- the luagil program's prompt (interp/readline.c).
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_readline_h
#define lg_readline_h

#include <stddef.h>

typedef enum ReadResult { READ_LINE, READ_EOF, READ_CANCEL } ReadResult;

/* Set up line editing for the program 'name' (libedit's name for it, its
** history; Ctrl-C is left to luagil's handler). Once, before reading. */
void readline_init (const char *name);

/*
** Show 'prompt' and read one line with the GIL released (the caller holds
** it): READ_LINE with '*line' malloc'ed, READ_EOF, or READ_CANCEL when
** Ctrl-C cancelled the line being typed.
*/
ReadResult readline_nogil (const char *prompt, char **line);

/*
** Read all of stdin, up to its end, with the GIL released (the caller
** holds it): 0 with '*data' (malloc'ed) and '*len' set; 1 if Ctrl-C came
** first; -1 with errno set if reading failed.
*/
int readstdin_nogil (char **data, size_t *len);

/* Add a line to the history (with line editing, at a terminal). */
void saveline (const char *line);

#endif
