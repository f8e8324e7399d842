#!/bin/sh
# The cutover drill writes its HTML report where it is told and, when not
# told, into its work directory: never into the directory it is run from
# (the README runs it from the source tree). Usage: drill_report.sh DRILL SCHEDULE
set -eu
drill=$1
schedule=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/cwd"
cd "$tmp/cwd"
"$drill" "$schedule" "$tmp/work" > "$tmp/out"
grep -q "<svg" "$tmp/work/drill-report.html"
# its table says what each column counts
grep -q "claims in the journal by state at the end of the day" "$tmp/work/drill-report.html"
grep -q "HTML report: $tmp/work/drill-report.html" "$tmp/out"
if [ -n "$(ls -A "$tmp/cwd")" ]; then
  echo "the drill wrote into the current directory:" >&2
  ls -A "$tmp/cwd" >&2
  exit 1
fi
echo ok
