/* Versioned structs: every options and output struct of the public API
 * begins with `unsigned int version`, and its medshim_*_init() is this. */
#ifndef MEDSHIM_VERSIONED_INTERNAL_H
#define MEDSHIM_VERSIONED_INTERNAL_H

#include <string.h>

#include "medshim/errors.h"

/* The body of a medshim_*_init(p, version): MEDSHIM_EINVAL for NULL or a
 * version other than current (the one this library was built with);
 * otherwise p zeroed, its version set, and MEDSHIM_OK. */
#define MEDSHIM__VERSIONED_INIT(p, version, current)                          \
  ((p) == NULL || (version) != (current)                                      \
       ? MEDSHIM_EINVAL                                                        \
       : (memset((p), 0, sizeof *(p)), (p)->version = (version), MEDSHIM_OK))

#endif
