/* A per-thread bump allocator for jansson, for `medshim defer`: parsing a
 * claim line allocates and frees some 70 small blocks, and handing them to
 * an arena that is wiped and reset after each line costs less than malloc
 * and free (and leaves no personal data in freed heap blocks). */
#ifndef MEDSHIM_TOOLS_JSON_ARENA_H
#define MEDSHIM_TOOLS_JSON_ARENA_H

#include <stddef.h>

/* Route jansson's allocations through the arena of the calling thread when
 * it has one, through malloc otherwise. Call once, before any JSON is
 * parsed in the process, and never undo it. */
void cli_json_arena_install(void);

/* Give the calling thread an arena of cap bytes (its own buffer). */
void cli_json_arena_begin(unsigned char *buf, size_t cap);

/* Wipe what the thread's arena handed out and start over. Only when no
 * jansson value allocated since the last reset is still alive. */
void cli_json_arena_reset(void);

/* Wipe and take the thread's arena away. */
void cli_json_arena_end(void);

#endif
