/**
 * @file medshim.h
 * @brief Umbrella header of libmedshim: include this one.
 *
 * Thread safety: see each module's header.
 */
#ifndef MEDSHIM_MEDSHIM_H
#define MEDSHIM_MEDSHIM_H

#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/memory.h"
#include "medshim/version.h"
#include "medshim/claim.h"
#include "medshim/journal.h"
#include "medshim/schedule.h"
#include "medshim/text.h"
#include "medshim/money.h"
#include "medshim/mask.h"
#include "medshim/replay.h"
#include "medshim/flat.h"
#include "medshim/reconcile.h"
#include "medshim/report.h"

#endif /* MEDSHIM_MEDSHIM_H */
