/* The version of the linked library. */
#include "medshim/version.h"

const char *medshim_version(void) { return MEDSHIM_VERSION_STRING; }

int medshim_version_number(void) { return MEDSHIM_VERSION_NUMBER; }
