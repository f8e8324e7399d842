#!/bin/sh
# One journal, two builds of this tree (x86-64 and i386): what one writes,
# the other verifies, lists exactly (a 2040 visit, amounts above 2^32 fen),
# appends to and replays (tests/xjournal), and the first checks the result.
# Usage: journal_cross_arch.sh BUILD_A BUILD_B
set -eu
a=$1/tools/medshim
b=$2/tools/medshim
xa=$1/tests/xjournal
xb=$2/tests/xjournal
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
claim() {
  printf '{"visit_id":"%s","service":"outpatient","insured_admdvs":"330102",' "$1"
  printf '"treated_admdvs":"330106","visit_time":"2040-02-11T09:30:00+08:00",'
  printf '"total_fen":900000000000,"self_paid_fen":5000000000,'
  printf '"patient":{"name":"x","id_no":"330102198001014321"}}\n'
}
"$a" keygen "$tmp/key"
{ claim A1; claim A2; } | "$a" defer --create --journal "$tmp/j" --key "$tmp/key" >/dev/null
"$b" verify --journal "$tmp/j" --key "$tmp/key" | grep -q '"intact":true'
claim B1 | "$b" defer --journal "$tmp/j" --key "$tmp/key" | grep -q '"status":"stored"'
"$a" verify --journal "$tmp/j" --key "$tmp/key" | grep -q '"claims":3'
for cli in "$a" "$b"; do
  "$cli" list --journal "$tmp/j" --key "$tmp/key" > "$tmp/list"
  [ "$(grep -c '"total_fen":900000000000,"self_paid_fen":5000000000,' "$tmp/list")" -eq 3 ]
done
# written by A, checked and replayed by B, checked by A: every claim settled once
"$xa" write "$tmp/x" 40
"$xb" check "$tmp/x" 40 0
"$xb" replay "$tmp/x" 40
"$xa" check "$tmp/x" 40 40
# the same with an SM journal: SM4, HMAC-SM3 and SM3 give the same bytes
# on both
{ claim S1; claim S2; } | "$a" defer --create --suite sm --journal "$tmp/s" --key "$tmp/key" >/dev/null
"$b" verify --journal "$tmp/s" --key "$tmp/key" | grep -q '"intact":true'
claim S3 | "$b" defer --suite sm --journal "$tmp/s" --key "$tmp/key" | grep -q '"status":"stored"'
"$a" verify --journal "$tmp/s" --key "$tmp/key" | grep -q '"claims":3'
for cli in "$a" "$b"; do
  "$cli" list --journal "$tmp/s" --key "$tmp/key" > "$tmp/list"
  [ "$(grep -c '"total_fen":900000000000,"self_paid_fen":5000000000,' "$tmp/list")" -eq 3 ]
done
echo "journal_cross_arch: 2 passed, 0 failed"
