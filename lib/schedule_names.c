/* Names of the schedule module's enumerations (services and agency
 * services, verdicts, routes, advice kinds, reason codes): the leaf every
 * other schedule file may use. */
#include <string.h>

#include "errors_internal.h"
#include "medshim/claim.h"
#include "schedule_internal.h"

static const char *const agency_names[] = {"enrollment", "collection", "filing",
                                           "manual_reimbursement",
                                           "online_services"};

const char *medshim_sched_service_name(int service) {
  if (service >= 1 && service <= 6)
    return medshim_service_name((medshim_service)service);
  if (service >= MEDSHIM_SCHED_ENROLLMENT &&
      service <= MEDSHIM_SCHED_ONLINE_SERVICES)
    return agency_names[service - MEDSHIM_SCHED_ENROLLMENT];
  return NULL;
}

int medshim_sched_service_parse(int *out, const char *name) {
  medshim_service s;
  if (out == NULL || name == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (medshim_service_parse(&s, name) == MEDSHIM_OK) {
    *out = (int)s;
    return MEDSHIM_OK;
  }
  for (int i = 0; i < 5; i++)
    if (strcmp(name, agency_names[i]) == 0) {
      *out = MEDSHIM_SCHED_ENROLLMENT + i;
      return MEDSHIM_OK;
    }
  return MEDSHIM__FAIL(MEDSHIM_EINVAL);
}

const char *medshim_verdict_name(medshim_verdict v) {
  switch (v) {
  case MEDSHIM_ONLINE:
    return "online";
  case MEDSHIM_TRY_ONLINE:
    return "try_online";
  case MEDSHIM_DEFER:
    return "defer";
  }
  return "unknown";
}

const char *medshim_route_name(medshim_route r) {
  switch (r) {
  case MEDSHIM_ROUTE_NONE:
    return "none";
  case MEDSHIM_ROUTE_HOSPITAL:
    return "hospital";
  case MEDSHIM_ROUTE_AGENCY:
    return "agency";
  }
  return "unknown";
}

const char *medshim_advice_kind_name(medshim_advice_kind k) {
  switch (k) {
  case MEDSHIM_ADVICE_SETTLE_BEFORE:
    return "settle_before";
  case MEDSHIM_ADVICE_ADMIT_SELF_PAY:
    return "admit_self_pay";
  }
  return "unknown";
}

const char *medshim_reason_name(int code) {
  switch (code) {
#define MEDSHIM__REASON_CASE(name, value, text)                                \
  case MEDSHIM_REASON_##name:                                                  \
    return text;
    MEDSHIM_REASON_LIST(MEDSHIM__REASON_CASE)
#undef MEDSHIM__REASON_CASE
  }
  return NULL;
}
