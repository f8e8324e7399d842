/* The queue library's parts: the numbered migrations (queue_schema.c). */
#ifndef MEDSHIM_QUEUE_INTERNAL_H
#define MEDSHIM_QUEUE_INTERNAL_H

#include <stddef.h>

/* The migrations, in order: migration i + 1 is (*out)[i]. Returns how
 * many there are, which is the schema version they reach. */
size_t medshim__queue_migrations(const char *const **out);

#endif
