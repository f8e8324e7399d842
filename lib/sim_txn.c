/* The platform's transactions, run against the locked ledger state. Each
 * handler validates its input, refuses (err_code, err_msg: never a value
 * of a personal field) or fills the output and, for a state change, the
 * event that the caller records before anyone hears the answer. Queries
 * (5201, 5203) and the reversal lookup (2601) see the state as it was
 * lag_ms ago: the platform's replicas are behind its write path. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors_internal.h"
#include "sim_internal.h"

#define AMOUNT_MAX 100000000000000LL /* fen; a sum above this is refused */

MEDSHIM__PRINTF(3, 4)
static int refuse(msim_tx *tx, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tx->err_msg, sizeof tx->err_msg, fmt, ap);
  va_end(ap);
  tx->err_code = code;
  return 0;
}

static int printable(const char *s) {
  for (; *s; s++)
    if (!isprint((unsigned char)*s))
      return 0;
  return 1;
}

/* A string field, 1..max printable bytes; NULL (and a refusal when
 * required) otherwise. The message names the field, never its value. */
static const char *get(msim_tx *tx, const json_t *o, const char *k, size_t max,
                       int required) {
  const char *v = json_string_value(json_object_get(o, k));
  if (v != NULL && *v && strlen(v) <= max && printable(v))
    return v;
  if (required && tx->err_code == NULL)
    refuse(tx, MEDSHIM_SIM_ERR_INPUT, "%s missing or invalid", k);
  return NULL;
}

static int get_time(msim_tx *tx, const char *k, int64_t *out) {
  const char *v = get(tx, tx->in, k, 19, 1);
  if (v != NULL && msim_time_parse(out, v) == 0)
    return 0;
  if (tx->err_code == NULL)
    refuse(tx, MEDSHIM_SIM_ERR_INPUT, "%s is not yyyy-MM-dd HH:mm:ss", k);
  return -1;
}

static int64_t view_time(const msim_tx *tx) {
  return tx->now - (int64_t)tx->s->o.lag_ms;
}

static int person_refused(const medshim_sim *s, const char *psn) {
  return s->o.reject_permille > 0 &&
         msim_hash(psn) % 1000 < s->o.reject_permille;
}

/* A new platform id: prefix + date + the ledger's event number, unique
 * across processes because it is taken under the ledger lock. */
static void new_id(const msim_tx *tx, char out[MSIM_ID], const char *prefix) {
  char c[15];
  msim_time_compact(c, tx->now / 1000);
  snprintf(out, MSIM_ID, "%s%.8s%010zu", prefix, c, tx->s->st.events + 1);
}

static json_t *event(msim_tx *tx, const char *kind) {
  tx->ev = json_pack("{s:s}", "k", kind);
  return tx->ev;
}

static size_t active_setl(const msim_state *st, const msim_visit *v) {
  for (size_t i = v->last_setl; i != 0; i = st->s[i - 1].prev)
    if (st->s[i - 1].undo == MSIM_ACTIVE)
      return i;
  return 0;
}

static int64_t details_sum(const msim_visit *v, size_t *count) {
  int64_t sum = 0;
  *count = 0;
  for (size_t i = 0; i < v->nb; i++)
    if (v->b[i].t_del == 0) {
      sum += v->b[i].sum;
      *count += v->b[i].n;
    }
  return sum;
}

/* The visit named by mdtrt_id (in @p o) and psn_no; registered or not. */
static msim_visit *visit(msim_tx *tx, const json_t *o) {
  const char *md = get(tx, o, "mdtrt_id", MSIM_ID - 1, 1);
  const char *psn = get(tx, o, "psn_no", 64, 1);
  size_t vi;
  if (md == NULL || psn == NULL)
    return NULL;
  if (!msim_map_get(&tx->s->st.by_mdtrt, md, &vi) ||
      strcmp(tx->s->st.v[vi].psn, psn) != 0) {
    refuse(tx, MEDSHIM_SIM_ERR_NOT_FOUND, "visit not found");
    return NULL;
  }
  return &tx->s->st.v[vi];
}

/* A registered visit without an active settlement (what 2204..2207 need). */
static msim_visit *open_visit(msim_tx *tx, const json_t *o) {
  msim_visit *v = visit(tx, o);
  if (v == NULL)
    return NULL;
  if (v->t_unreg != 0) {
    refuse(tx, MEDSHIM_SIM_ERR_ALREADY_CANCELLED, "registration cancelled");
    return NULL;
  }
  if (active_setl(&tx->s->st, v) != 0) {
    refuse(tx, MEDSHIM_SIM_ERR_STATE,
           "visit settled: cancel the settlement (2208) first");
    return NULL;
  }
  return v;
}

static int tx_1101(msim_tx *tx) {
  const char *psn = get(tx, tx->in, "psn_no", 64, 0), *cert;
  char derived[24];
  if (psn == NULL) { /* by certificate: the person number is derived */
    cert = get(tx, tx->in, "mdtrt_cert_no", 64, 0);
    if (cert == NULL)
      cert = get(tx, tx->in, "certno", 64, 1);
    if (cert == NULL)
      return 0;
    snprintf(derived, sizeof derived, "P%016llx",
             (unsigned long long)msim_hash(cert));
    psn = derived;
  }
  if (person_refused(tx->s, psn))
    return refuse(tx, MEDSHIM_SIM_ERR_PERSON, "person not found");
  tx->out = json_pack("{s:{s:s, s:s}, s:[{s:s, s:s, s:s}], s:[]}", "baseinfo",
                      "psn_no", psn, "psn_cert_type", "01", "insuinfo",
                      "insutype", "310", "psn_type", "1101", "balc", "1000.00",
                      "idetinfo");
  return tx->out ? 0 : -1;
}

static int tx_2201(msim_tx *tx) {
  const char *psn = get(tx, tx->in, "psn_no", 64, 1);
  const char *ipt = get(tx, tx->in, "ipt_otp_no", 64, 1);
  const char *mt = get(tx, tx->in, "med_type", 6, 0);
  const char *it = get(tx, tx->in, "insutype", 6, 0);
  char id[MSIM_ID];
  int64_t begn;
  if (psn == NULL || ipt == NULL || get_time(tx, "begntime", &begn) != 0)
    return 0;
  if (person_refused(tx->s, psn))
    return refuse(tx, MEDSHIM_SIM_ERR_PERSON, "person not found");
  new_id(tx, id, "MD");
  tx->ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "k", "reg",
                     "mdtrt", id, "psn", psn, "ipt", ipt, "mt", mt ? mt : "11",
                     "it", it ? it : "310", "bg", (json_int_t)begn);
  tx->out = json_pack("{s:{s:s, s:s, s:s}}", "data", "mdtrt_id", id, "psn_no",
                      psn, "ipt_otp_no", ipt);
  return tx->ev && tx->out ? 0 : -1;
}

static int sn_taken(const msim_visit *v, const char *sn) {
  for (size_t i = 0; i < v->nb; i++)
    for (size_t j = 0; v->b[i].t_del == 0 && j < v->b[i].n; j++)
      if (strcmp(v->b[i].sn[j], sn) == 0)
        return 1;
  return 0;
}

/* One fee detail line: checked, added to the event and the answer. */
static int fee_item(msim_tx *tx, const msim_visit *v, const json_t *item,
                    json_t *sns, int64_t *sum) {
  const char *sn = get(tx, item, "feedetl_sn", 30, 1);
  int64_t fen;
  char y[32];
  json_t *r;
  if (sn == NULL)
    return 0;
  if (msim_yuan_parse(&fen, json_object_get(item, "det_item_fee_sumamt")) != 0)
    return refuse(tx, MEDSHIM_SIM_ERR_INPUT, "det_item_fee_sumamt invalid");
  for (size_t i = 0; i < json_array_size(sns); i++)
    if (strcmp(json_string_value(json_array_get(sns, i)), sn) == 0)
      return refuse(tx, MEDSHIM_SIM_ERR_INPUT, "feedetl_sn repeated");
  if (sn_taken(v, sn))
    return refuse(tx, MEDSHIM_SIM_ERR_INPUT, "feedetl_sn already uploaded");
  *sum += fen;
  if (*sum > AMOUNT_MAX)
    return refuse(tx, MEDSHIM_SIM_ERR_INPUT, "fee details too large");
  msim_yuan_format(y, fen);
  r = json_pack("{s:s, s:s, s:s, s:s}", "feedetl_sn", sn,
                "det_item_fee_sumamt", y, "fulamt_ownpay_amt", "0.00",
                "preselfpay_amt", "0.00");
  if (r == NULL || json_array_append_new(sns, json_string(sn)) != 0 ||
      json_array_append_new(json_object_get(tx->out, "result"), r) != 0)
    return -1;
  return 0;
}

static int tx_2204(msim_tx *tx) {
  const json_t *items = json_object_get(tx->in, "feedetail"), *o = tx->in;
  msim_visit *v;
  json_t *sns;
  int64_t sum = 0;
  if (!json_is_array(items) || json_array_size(items) == 0)
    return refuse(tx, MEDSHIM_SIM_ERR_INPUT, "feedetail missing or empty");
  if (json_object_get(o, "mdtrt_id") == NULL) /* carried by each line */
    o = json_array_get(items, 0);
  if ((v = open_visit(tx, o)) == NULL)
    return 0;
  tx->out = json_pack("{s:[]}", "result");
  sns = json_array();
  if (tx->out == NULL || sns == NULL) {
    json_decref(sns);
    return -1;
  }
  for (size_t i = 0; i < json_array_size(items) && tx->err_code == NULL; i++)
    if (fee_item(tx, v, json_array_get(items, i), sns, &sum) != 0) {
      json_decref(sns);
      return -1;
    }
  if (tx->err_code != NULL) {
    json_decref(sns);
    return 0;
  }
  tx->ev = json_pack("{s:s, s:s, s:o, s:I}", "k", "fee", "mdtrt", v->mdtrt_id,
                     "sn", sns, "sum", (json_int_t)sum);
  return tx->ev ? 0 : -1;
}

static int tx_2205(msim_tx *tx) {
  msim_visit *v = open_visit(tx, tx->in);
  if (v == NULL)
    return 0;
  if (event(tx, "feedel") == NULL ||
      json_object_set_new(tx->ev, "mdtrt", json_string(v->mdtrt_id)) != 0)
    return -1;
  tx->out = json_object();
  return tx->out ? 0 : -1;
}

static int tx_2202(msim_tx *tx) {
  msim_visit *v = visit(tx, tx->in);
  size_t n;
  if (v == NULL)
    return 0;
  if (v->t_unreg != 0)
    return refuse(tx, MEDSHIM_SIM_ERR_ALREADY_CANCELLED,
                  "registration already cancelled");
  if (active_setl(&tx->s->st, v) != 0)
    return refuse(tx, MEDSHIM_SIM_ERR_STATE,
                  "visit settled: cancel the settlement (2208) first");
  details_sum(v, &n);
  if (n > 0)
    return refuse(tx, MEDSHIM_SIM_ERR_STATE,
                  "fee details remain: delete them (2205) first");
  if (event(tx, "unreg") == NULL ||
      json_object_set_new(tx->ev, "mdtrt", json_string(v->mdtrt_id)) != 0)
    return -1;
  tx->out = json_object();
  return tx->out ? 0 : -1;
}

typedef struct shares {
  int64_t total, fund, acct, cash, hosp;
} shares;

/* Pre-settle and settle: the visit's details must add up to medfee_sumamt. */
static msim_visit *priced_visit(msim_tx *tx, shares *sh) {
  msim_visit *v = open_visit(tx, tx->in);
  const char *acct = get(tx, tx->in, "acct_used_flag", 1, 0);
  size_t n;
  if (v == NULL)
    return NULL;
  if (msim_yuan_parse(&sh->total, json_object_get(tx->in, "medfee_sumamt"))) {
    refuse(tx, MEDSHIM_SIM_ERR_INPUT, "medfee_sumamt missing or invalid");
    return NULL;
  }
  if (details_sum(v, &n) != sh->total || n == 0) {
    refuse(tx, n ? MEDSHIM_SIM_ERR_AMOUNT : MEDSHIM_SIM_ERR_STATE,
           n ? "medfee_sumamt differs from the fee details"
             : "no fee details uploaded");
    return NULL;
  }
  sh->fund = sh->total * tx->s->o.fund_permille / 1000;
  sh->acct = acct && strcmp(acct, "0") == 0
                 ? 0 : sh->total * tx->s->o.acct_permille / 1000;
  sh->hosp = 0;
  sh->cash = sh->total - sh->fund - sh->acct - sh->hosp;
  return v;
}

static json_t *setlinfo(const msim_visit *v, const shares *sh,
                        const char *setl_id, int64_t stime) {
  char t[32], f[32], a[32], c[32], p[32], h[32], when[20];
  msim_yuan_format(t, sh->total);
  msim_yuan_format(f, sh->fund);
  msim_yuan_format(a, sh->acct);
  msim_yuan_format(c, sh->cash);
  msim_yuan_format(p, sh->acct + sh->cash);
  msim_yuan_format(h, sh->hosp);
  msim_time_format(when, stime);
  return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
                   "setlinfo", "setl_id", setl_id ? setl_id : "", "mdtrt_id",
                   v->mdtrt_id, "psn_no", v->psn, "setl_time", when,
                   "medfee_sumamt", t, "fund_pay_sumamt", f, "acct_pay", a,
                   "psn_cash_pay", c, "psn_part_amt", p, "hosp_part_amt", h);
}

static int tx_2206(msim_tx *tx) {
  shares sh;
  msim_visit *v = priced_visit(tx, &sh);
  if (v == NULL)
    return 0;
  tx->out = setlinfo(v, &sh, NULL, tx->now / 1000);
  return tx->out ? 0 : -1;
}

static int tx_2207(msim_tx *tx) {
  shares sh;
  msim_visit *v = priced_visit(tx, &sh);
  const char *medins = get(tx, tx->in, "medins_setl_id", 64, 0);
  char id[MSIM_ID];
  if (v == NULL)
    return 0;
  new_id(tx, id, "ST");
  tx->ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "k", "setl", "mdtrt", v->mdtrt_id, "setl", id, "medins",
                     medins ? medins : "", "total", (json_int_t)sh.total,
                     "fund", (json_int_t)sh.fund, "acct", (json_int_t)sh.acct,
                     "cash", (json_int_t)sh.cash, "hosp", (json_int_t)sh.hosp,
                     "st", (json_int_t)(tx->now / 1000));
  tx->out = setlinfo(v, &sh, id, tx->now / 1000);
  if (tx->out != NULL && medins != NULL)
    json_object_set_new(json_object_get(tx->out, "setlinfo"),
                        "medins_setl_id", json_string(medins));
  return tx->ev && tx->out ? 0 : -1;
}

/* The settlement named by setl_id, mdtrt_id and psn_no (as 5203 needs). */
static msim_setl *settlement(msim_tx *tx) {
  const char *id = get(tx, tx->in, "setl_id", MSIM_ID - 1, 1);
  msim_visit *v = visit(tx, tx->in);
  size_t si;
  if (id == NULL || v == NULL)
    return NULL;
  if (!msim_map_get(&tx->s->st.by_setl, id, &si) ||
      &tx->s->st.v[tx->s->st.s[si].visit] != v) {
    refuse(tx, MEDSHIM_SIM_ERR_NOT_FOUND, "settlement not found");
    return NULL;
  }
  return &tx->s->st.s[si];
}

static int tx_2208(msim_tx *tx) {
  msim_setl *s = settlement(tx);
  char id[MSIM_ID], when[20];
  if (s == NULL)
    return 0;
  if (s->undo != MSIM_ACTIVE)
    return refuse(tx, s->undo == MSIM_CANCELLED
                          ? MEDSHIM_SIM_ERR_ALREADY_CANCELLED
                          : MEDSHIM_SIM_ERR_ALREADY_REVERSED,
                  "settlement already undone");
  new_id(tx, id, "CX");
  msim_time_format(when, tx->now / 1000);
  tx->ev = json_pack("{s:s, s:s}", "k", "unsetl", "setl", s->setl_id);
  tx->out = json_pack("{s:{s:s, s:s, s:s}}", "setlinfo", "setl_id", id,
                      "mdtrt_id", tx->s->st.v[s->visit].mdtrt_id, "setl_time",
                      when);
  return tx->ev && tx->out ? 0 : -1;
}

static int visit_row(json_t *rows, const msim_visit *v, int64_t at) {
  char b[20];
  msim_time_format(b, v->begn);
  return json_array_append_new(
      rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "mdtrt_id",
                      v->mdtrt_id, "psn_no", v->psn, "begntime", b, "med_type",
                      v->med_type, "insutype", v->insutype, "ipt_otp_no",
                      v->ipt, "vali_flag",
                      v->t_unreg != 0 && v->t_unreg <= at ? "0" : "1"));
}

static int tx_5201(msim_tx *tx) {
  const char *psn = get(tx, tx->in, "psn_no", 64, 1);
  const char *mt = get(tx, tx->in, "med_type", 6, 0);
  const char *md = get(tx, tx->in, "mdtrt_id", MSIM_ID - 1, 0);
  const msim_state *st = &tx->s->st;
  int64_t b, e, at = view_time(tx);
  size_t i = 0;
  json_t *rows;
  if (psn == NULL || get_time(tx, "begntime", &b) || get_time(tx, "endtime", &e))
    return 0;
  tx->out = json_pack("{s:[]}", "mdtrtinfo");
  if (tx->out == NULL)
    return -1;
  rows = json_object_get(tx->out, "mdtrtinfo");
  if (msim_map_get(&st->by_psn, psn, &i))
    i++;
  for (; i != 0; i = st->v[i - 1].prev_psn) {
    const msim_visit *v = &st->v[i - 1];
    if (v->t_reg > at || v->begn < b || v->begn > e ||
        (mt && strcmp(mt, v->med_type) != 0) ||
        (md && strcmp(md, v->mdtrt_id) != 0))
      continue;
    if (visit_row(rows, v, at) != 0)
      return -1;
  }
  return 0;
}

static int tx_5203(msim_tx *tx) {
  msim_setl *s = settlement(tx);
  shares sh;
  int64_t at = view_time(tx);
  json_t *info;
  if (s == NULL)
    return 0;
  if (s->t_setl > at)
    return refuse(tx, MEDSHIM_SIM_ERR_NOT_FOUND, "settlement not found");
  sh = (shares){s->total, s->fund, s->acct, s->cash, s->hosp};
  tx->out = setlinfo(&tx->s->st.v[s->visit], &sh, s->setl_id, s->stime);
  info = tx->out ? json_object_get(tx->out, "setlinfo") : NULL;
  if (info == NULL ||
      json_object_set_new(info, "vali_flag",
                          json_string(s->undo == MSIM_ACTIVE || s->t_undo > at
                                          ? "1" : "0")) != 0)
    return -1;
  return 0;
}

/* The person behind what a request did. */
static const char *msg_person(const msim_state *st, const msim_msg *m) {
  if (m->did == MSIM_DID_REG || m->did == MSIM_DID_FEE)
    return st->v[m->ref].psn;
  if (m->did == MSIM_DID_SETL)
    return st->v[st->s[m->ref].visit].psn;
  return NULL;
}

/* Can the original still be undone? A refusal code, or NULL. */
static const char *reversal_blocked(const msim_state *st, const msim_msg *m) {
  const msim_visit *v = &st->v[m->did == MSIM_DID_SETL ? st->s[m->ref].visit
                                                       : m->ref];
  if (m->t_rev != 0)
    return MEDSHIM_SIM_ERR_ALREADY_REVERSED;
  if (m->did == MSIM_DID_SETL)
    return st->s[m->ref].undo != MSIM_ACTIVE ? MEDSHIM_SIM_ERR_ALREADY_CANCELLED
                                             : NULL;
  if (m->did == MSIM_DID_REG && v->t_unreg != 0)
    return MEDSHIM_SIM_ERR_ALREADY_CANCELLED;
  if (m->did == MSIM_DID_FEE && v->b[m->ref2].t_del != 0)
    return MEDSHIM_SIM_ERR_ALREADY_CANCELLED;
  return active_setl(st, v) != 0 ? MEDSHIM_SIM_ERR_STATE : NULL;
}

static int tx_2601(msim_tx *tx) {
  const char *psn = get(tx, tx->in, "psn_no", 64, 1);
  const char *om = get(tx, tx->in, "omsgid", MEDSHIM_MSGID_LEN, 1);
  const char *oi = get(tx, tx->in, "oinfno", 4, 1);
  const msim_state *st = &tx->s->st;
  const msim_msg *m;
  const char *who, *why;
  size_t mi;
  if (psn == NULL || om == NULL || oi == NULL)
    return 0;
  /* During the lag the original is invisible: "never saw it". */
  if (!msim_map_get(&st->by_msgid, om, &mi) || st->m[mi].t > view_time(tx) ||
      strcmp(st->m[mi].infno, oi) != 0 ||
      st->m[mi].did == MSIM_DID_NOTHING ||
      ((who = msg_person(st, &st->m[mi])) != NULL && strcmp(who, psn) != 0))
    return refuse(tx, MEDSHIM_SIM_ERR_NOT_FOUND,
                  "original request not found or did nothing");
  m = &st->m[mi];
  if (m->did == MSIM_DID_OTHER)
    return refuse(tx, MEDSHIM_SIM_ERR_NOT_REVERSIBLE,
                  "transaction %s cannot be reversed", m->infno);
  if ((why = reversal_blocked(st, m)) != NULL)
    return refuse(tx, why, "original cannot be reversed now (%s)", why);
  tx->ev = json_pack("{s:s, s:s}", "k", "rev", "om", om);
  tx->out = json_pack("{s:{s:s, s:s}}", "data", "omsgid", om, "oinfno", oi);
  return tx->ev && tx->out ? 0 : -1;
}

typedef struct handler {
  const char *infno;
  int (*fn)(msim_tx *);
} handler;

static const handler handlers[] = {
    {"1101", tx_1101}, {"2201", tx_2201}, {"2202", tx_2202},
    {"2204", tx_2204}, {"2205", tx_2205}, {"2206", tx_2206},
    {"2207", tx_2207}, {"2208", tx_2208}, {"5201", tx_5201},
    {"5203", tx_5203}, {"2601", tx_2601},
};

static const handler *find(const char *infno) {
  for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
    if (strcmp(handlers[i].infno, infno) == 0)
      return &handlers[i];
  return NULL;
}

int msim_tx_known(const char *infno) { return find(infno) != NULL; }

int msim_tx_run(msim_tx *tx) {
  const handler *h = find(tx->infno);
  const json_t *data = json_object_get(tx->root, "data");
  int rc;
  tx->in = json_is_object(data) ? data : tx->root;
  if (h == NULL)
    return refuse(tx, MEDSHIM_SIM_ERR_INFNO, "unknown transaction");
  rc = h->fn(tx);
  if (rc != 0 || tx->err_code != NULL) { /* a refusal changes nothing */
    json_decref(tx->ev);
    json_decref(tx->out);
    tx->ev = tx->out = NULL;
  }
  return rc;
}
