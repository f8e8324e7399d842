#!/usr/bin/env bash
# A short tour: make a key, defer three self-paid visits (one of them bad),
# list them masked, verify the journal. Usage: examples/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
medshim="$build/tools/medshim"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== medshim keygen"
"$medshim" keygen "$work/hospital.key"

echo "== medshim defer --create (a new journal; the second line is refused, the others are stored)"
cat > "$work/claims.jsonl" <<'JSON'
{"visit_id":"MZ20220211-0001","service":"outpatient","insured_admdvs":"330102","treated_admdvs":"330106","visit_time":"2022-02-11T09:30:00+08:00","total_fen":23850,"self_paid_fen":23850,"invoice_no":"E330100-88812","patient":{"name":"张三","id_no":"330102198001011234","psn_no":"33000011112222","cert_type":"02"},"detail":{"items":[{"feedetl_sn":"1","med_list_codg":"XA01BCX123","det_item_fee_sumamt":"238.50","cnt":"1","pric":"238.50"}]}}
{"visit_id":"MZ20220211-0002","service":"outpatient","insured_admdvs":"33010","treated_admdvs":"330106","visit_time":"2022-02-11T10:00:00+08:00","total_fen":1200,"self_paid_fen":1200}
{"visit_id":"YD20220212-0007","service":"pharmacy","insured_admdvs":"330104","treated_admdvs":"330106","visit_time":"2022-02-12T16:05:00+08:00","total_fen":5600,"self_paid_fen":5600,"patient":{"name":"李四","id_no":"330104199205051111","cert_type":"02"}}
JSON
"$medshim" defer --create --journal "$work/journal" --key "$work/hospital.key" < "$work/claims.jsonl" || echo "(exit $? : some lines refused, as expected)"

echo "== medshim list (personal fields masked)"
"$medshim" list --journal "$work/journal" --key "$work/hospital.key"

echo "== medshim verify"
"$medshim" verify --journal "$work/journal" --key "$work/hospital.key"
