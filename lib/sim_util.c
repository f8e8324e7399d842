/* The simulator's edge conversions: yuan strings to integer fen and back
 * without floating point, platform datetimes in +08:00, msgid checks, and
 * a small string map for the ledger's indexes. */
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os.h"
#include "sim_internal.h"

#define CST (8 * 3600)
/* Largest amount accepted: 12 digits before the point (the platform allows
 * 16; 12 keep shares (total * permille) inside int64 fen). */
#define YUAN_MAX_DIGITS 12

static int digits_value(int64_t *out, const char *p, size_t n) {
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i]))
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

int msim_yuan_parse(int64_t *out, const json_t *v) {
  const char *s, *dot;
  size_t ni, nf;
  int64_t yuan, frac = 0;
  if (json_is_integer(v)) { /* whole yuan */
    json_int_t y = json_integer_value(v);
    if (y < 0 || y > 999999999999LL)
      return -1;
    *out = (int64_t)y * 100;
    return 0;
  }
  if (!json_is_string(v))
    return -1; /* a JSON real would go through a double: refused */
  s = json_string_value(v);
  dot = strchr(s, '.');
  ni = dot ? (size_t)(dot - s) : strlen(s);
  nf = dot ? strlen(dot + 1) : 0;
  if (ni == 0 || ni > YUAN_MAX_DIGITS || (dot && (nf == 0 || nf > 2)) ||
      digits_value(&yuan, s, ni) != 0 ||
      (nf && digits_value(&frac, dot + 1, nf) != 0))
    return -1;
  if (nf == 1)
    frac *= 10;
  *out = yuan * 100 + frac;
  return 0;
}

void msim_yuan_format(char out[32], int64_t fen) {
  const char *sign = fen < 0 ? "-" : "";
  uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
  snprintf(out, 32, "%s%llu.%02llu", sign, (unsigned long long)(a / 100),
           (unsigned long long)(a % 100));
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
  int64_t era, yy;
  unsigned doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  yy = (int64_t)yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yy + (*m <= 2));
}

static int month_days(int y, int m) {
  static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : n[m - 1];
}

static int field(const char *p, size_t n, int *out) {
  int64_t v;
  if (digits_value(&v, p, n) != 0)
    return -1;
  *out = (int)v;
  return 0;
}

/* Civil fields at p (already split) to Unix s in +08:00. */
static int civil_to_unix(int64_t *out, int y, int mo, int d, int h, int mi,
                         int se) {
  if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
      h > 23 || mi > 59 || se > 59)
    return -1;
  *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - CST;
  return 0;
}

int msim_time_parse(int64_t *out, const char *t) {
  int y, mo, d, h, mi, se;
  if (t == NULL || strlen(t) != 19 || t[4] != '-' || t[7] != '-' ||
      t[10] != ' ' || t[13] != ':' || t[16] != ':')
    return -1;
  if (field(t, 4, &y) || field(t + 5, 2, &mo) || field(t + 8, 2, &d) ||
      field(t + 11, 2, &h) || field(t + 14, 2, &mi) || field(t + 17, 2, &se))
    return -1;
  return civil_to_unix(out, y, mo, d, h, mi, se);
}

static void split(int64_t t, int f[6]) {
  int64_t l = t + CST, days = l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
  int64_t sec = l - days * 86400;
  civil_from_days(days, &f[0], &f[1], &f[2]);
  f[3] = (int)(sec / 3600);
  f[4] = (int)(sec / 60 % 60);
  f[5] = (int)(sec % 60);
}

/* Zero-padded decimal digits (no snprintf: the widths are exact). */
static char *put(char *p, int v, int width) {
  for (int i = width - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + width;
}

/* f[] into "yyyy?MM?dd?HH?mm?ss" with the given separators ("" none). */
static void render(char *p, const int f[6], const char *sep) {
  static const int width[6] = {4, 2, 2, 2, 2, 2};
  for (int i = 0; i < 6; i++) {
    p = put(p, i == 0 ? (f[0] % 10000 + 10000) % 10000 : f[i], width[i]);
    if (i < 5 && sep[0])
      *p++ = sep[i];
  }
  *p = '\0';
}

void msim_time_format(char out[20], int64_t t) {
  int f[6];
  split(t, f);
  render(out, f, "-- ::");
}

void msim_time_compact(char out[15], int64_t t) {
  int f[6];
  split(t, f);
  render(out, f, "");
}

int64_t msim_now_ms(void) { return medshim__os_wall_ms(); }

uint64_t msim_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

int msim_msgid_valid(const char *m, const char *inst) {
  int y, mo, d, h, mi, se;
  int64_t t;
  if (m == NULL || strlen(m) != MEDSHIM_MSGID_LEN)
    return 0;
  for (int i = 0; i < MEDSHIM_INSTITUTION_LEN; i++)
    if (!isalnum((unsigned char)m[i]))
      return 0;
  if (inst != NULL && strncmp(m, inst, MEDSHIM_INSTITUTION_LEN) != 0)
    return 0;
  m += MEDSHIM_INSTITUTION_LEN;
  if (field(m, 4, &y) || field(m + 4, 2, &mo) || field(m + 6, 2, &d) ||
      field(m + 8, 2, &h) || field(m + 10, 2, &mi) || field(m + 12, 2, &se) ||
      civil_to_unix(&t, y, mo, d, h, mi, se) != 0 || field(m + 14, 4, &y))
    return 0;
  return 1;
}

/* ---- map ---- */

static size_t slot(const msim_map *m, const char *key) {
  size_t i = (size_t)msim_hash(key) & (m->cap - 1);
  while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static int grow(msim_map *m) {
  msim_map n = {NULL, NULL, m->cap ? m->cap * 2 : 64, 0};
  n.keys = calloc(n.cap, sizeof *n.keys);
  n.vals = calloc(n.cap, sizeof *n.vals);
  if (n.keys == NULL || n.vals == NULL) {
    free(n.keys);
    free(n.vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] != NULL) {
      size_t j = slot(&n, m->keys[i]);
      n.keys[j] = m->keys[i];
      n.vals[j] = m->vals[i];
    }
  n.n = m->n;
  free(m->keys);
  free(m->vals);
  *m = n;
  return 0;
}

int msim_map_put(msim_map *m, const char *key, size_t val) {
  size_t i;
  if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
    return -1;
  i = slot(m, key);
  if (m->keys[i] == NULL) {
    m->keys[i] = strdup(key);
    if (m->keys[i] == NULL)
      return -1;
    m->n++;
  }
  m->vals[i] = val;
  return 0;
}

int msim_map_get(const msim_map *m, const char *key, size_t *val) {
  size_t i;
  if (m->cap == 0)
    return 0;
  i = slot(m, key);
  if (m->keys[i] == NULL)
    return 0;
  if (val != NULL)
    *val = m->vals[i];
  return 1;
}

void msim_map_free(msim_map *m) {
  for (size_t i = 0; i < m->cap; i++)
    free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

int msim_write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    long long w = medshim__os_write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}
