/* A per-thread bump allocator for jansson (see json_arena.h). */
#include "json_arena.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct arena {
  unsigned char *base;
  size_t cap, used;
} arena;

static _Thread_local arena here;

static void *arena_malloc(size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (here.base != NULL && need >= n && need <= here.cap - here.used) {
    void *p = here.base + here.used;
    here.used += need;
    return p;
  }
  return malloc(n); /* no arena, or full: a large detail */
}

static void arena_free(void *p) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)here.base;
  if (here.base != NULL && a >= lo && a < lo + here.cap)
    return; /* reclaimed at the next reset */
  free(p);
}

void cli_json_arena_install(void) { json_set_alloc_funcs(arena_malloc, arena_free); }

void cli_json_arena_begin(unsigned char *buf, size_t cap) {
  here.base = buf;
  here.cap = cap;
  here.used = 0;
}

void cli_json_arena_reset(void) {
  if (here.base != NULL)
    memset(here.base, 0, here.used);
  here.used = 0;
}

void cli_json_arena_end(void) {
  cli_json_arena_reset();
  here.base = NULL;
  here.cap = 0;
}
