/* Standard input for `medshim defer`, one file per system
 * (cli_input_unix.c, cli_input_win.c): mapped when it is a regular file,
 * else read, with a wait for input that another thread can interrupt. */
#ifndef MEDSHIM_CLI_INPUT_H
#define MEDSHIM_CLI_INPUT_H

#include <stddef.h>

typedef struct cli_input cli_input;

/* NULL with errno. */
cli_input *cli_input_new(void);

/* When stdin is a non-empty regular file with data past its offset: map
 * from the current offset's page (or allocation granule) to the end, set
 * *buf and *len to the mapping and *start to the offset within it; 1.
 * Otherwise (or when it cannot be mapped) 0: read it. */
int cli_input_map(cli_input *in, char **buf, size_t *len, size_t *start);

/* Wait until stdin has input (or its end) or cli_input_wake() was called:
 * 0 read now, -1 woken. */
int cli_input_wait(cli_input *in);

/* read(2) of stdin: bytes, 0 at its end, -1 with errno. */
long long cli_input_read(cli_input *in, char *buf, size_t cap);

/* From any thread: a waiter (now or later) returns -1. */
void cli_input_wake(cli_input *in);

/* Unmap (the consumed part counts as read: stdin's offset moves past it),
 * and free. */
void cli_input_free(cli_input *in);

#endif
