#!/bin/sh
# examples/replay_adapter.c does what its comment says: the first attempt's
# 2204 is refused as busy and undone (2202), the second attempt's 2207
# answer is lost, the probe reverses it (2601) and undoes the registration
# (5201, 2205, 2202), and the third attempt settles, exactly once.
# usage: example_replay_adapter.sh MEDSHIM REPLAY_ADAPTER
set -eu
medshim=$1
example=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$medshim" keygen "$tmp/key"
"$example" "$tmp/journal" "$tmp/key" "$tmp/ledger" > "$tmp/out"
# the requests as sent, without their msgids
sed -E 's/ H33010200001[0-9]{18}$//' "$tmp/out" > "$tmp/walk"
cat > "$tmp/want" <<'WALK'
MZ20220211-0077 attempt 1
  1101
  2201
  2204
  2202
MZ20220211-0077 attempt 2
  1101
  2201
  2204
  2206
  2207
       answer lost
MZ20220211-0077 in doubt: probing
  2601
  5201
  2205
  2202
MZ20220211-0077 attempt 3
  1101
  2201
  2204
  2206
  2207
settled 1, in doubt 0, double-settlement attempts 0
WALK
diff -u "$tmp/want" "$tmp/walk"
# what the journal kept agrees: the claim is settled
"$medshim" list --journal "$tmp/journal" --key "$tmp/key" | grep -q '"state":"settled"'
echo "replay_adapter: the walk its comment describes"
