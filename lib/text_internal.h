/* The texts for people, in one table (text_table.c), and the pieces the
 * composer (text.c) looks up. Templates name their blanks: {from} (a first
 * day), {until} (a deadline as people read it), {day} (an advice's
 * deadline), {time} (the hour a deadline inside a day ends before). */
#ifndef MEDSHIM_TEXT_INTERNAL_H
#define MEDSHIM_TEXT_INTERNAL_H

#include "medshim/schedule.h"
#include "medshim/text.h"

/* Sentences that say where and from when the money comes back. */
typedef enum text_route {
  TEXT_ROUTE_HOSPITAL_WINDOW,    /* {from} and {until} */
  TEXT_ROUTE_HOSPITAL_FROM,      /* {from}, no deadline given */
  TEXT_ROUTE_HOSPITAL_UNPLANNED, /* as soon as the platform answers */
  TEXT_ROUTE_HOSPITAL_IF_FAILED, /* try_online: only if the attempt fails */
  TEXT_ROUTE_AGENCY_WINDOW,      /* {from} and {until} */
  TEXT_ROUTE_AGENCY_FROM,        /* {from} */
  TEXT_ROUTE_NONE,               /* the notice promises no re-settlement */
  TEXT_ROUTES
} text_route;

/* Sentence pieces around the others. */
typedef enum text_piece {
  TEXT_KEEP_CASHIER,    /* before the materials, for the cashier */
  TEXT_KEEP_RECEIPT,    /* before the materials, for the patient */
  TEXT_KEEP_PROOF,      /* before the proof of payment, nothing to claim */
  TEXT_END,             /* the full stop after the materials */
  TEXT_SETTLE_BEFORE,   /* settle_before advice, {day} */
  TEXT_ADMIT_SELF_PAY,  /* admit_self_pay advice, {day} */
  TEXT_RESUMES,         /* a suspended service resumes, {from} */
  TEXT_SERVICE_RESUMING, /* an agency service in a degraded phase */
  TEXT_SEPARATOR,       /* between sentences */
  TEXT_LAST_DAY,        /* a midnight deadline: {day}, its last day */
  TEXT_BEFORE_TIME,     /* a deadline inside a day: {day} and {time} */
  TEXT_PIECES
} text_piece;

/* The headline of a reason for a reader; NULL for an unknown code. */
const char *medshim__text_headline(medshim_reason_code code,
                                   medshim_text_kind kind, medshim_lang lang);
const char *medshim__text_route(text_route route, medshim_lang lang);
const char *medshim__text_piece(text_piece piece, medshim_lang lang);
/* A materials list: agency != 0 for manual reimbursement, inpatient != 0
 * for a discharge; none != 0 when nothing is re-settled. */
const char *medshim__text_materials(int agency, int inpatient, int none,
                                    medshim_lang lang);

#endif
