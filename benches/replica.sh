#!/bin/sh
# Writing through a replica against writing locally (issue 13), through the binary, on
# loopback: `record --batch` of N lines locally and through a replica of `vouch serve`, then
# the round trip of one `vouch record` on a replica (pull, sign, send, durable commit on the
# server, pull back): the median of 21, on a small replica and on the big one.
#
# Run: cargo build --release && sh benches/replica.sh [N] [VOUCH_BINARY]
#   N defaults to 100000; the binary to target/release/vouch (or $CARGO_TARGET_DIR's).
set -eu
N=${1:-100000}
BIN=${2:-${CARGO_TARGET_DIR:-target}/release/vouch}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
MATRIX=$(cd "$(dirname "$0")/.." && pwd)/schema/matrices/cloudtemple-vm-instances.toml
DIR=$(mktemp -d "${REPLICA_DIR:-.}/vouch-replica-XXXXXX")
cd "$DIR"
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; cd /; rm -rf "$DIR"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

mkdir data local replica small
"$BIN" keygen provider >/dev/null
"$BIN" keygen customer >/dev/null
"$BIN" serve --data data --listen 127.0.0.1:0 --admin keys/provider.pub > serve.out 2>/dev/null &
SERVER=$!
while ! grep -q listening serve.out 2>/dev/null; do sleep 0.05; done
URL=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' serve.out)

# A ledger with the customer registered and the matrix adopted: locally, and on the server
# with the customer's replica.
setup() { # DIR [--remote URL]
    d=$1; shift
    ( cd "$d" && cp -r ../keys . &&
      "$BIN" init "$@" --party cloudtemple --name "Cloud Temple" --role provider --key provider >/dev/null &&
      "$BIN" party add acme --name Acme --role customer --new-key keys/customer.key --key provider >/dev/null &&
      "$BIN" matrix adopt "$MATRIX" --bind provider=cloudtemple --bind customer=acme --key provider >/dev/null )
}
setup local
setup replica --remote "$URL"
setup small --remote "$URL"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"item\":\"backup.restore-tests\",\"kind\":\"restore-test\",\"outcome\":\"pass\",\"performed_at\":\"2026-07-01T10:00:00Z\",\"fields\":{\"backup_id\":\"bk-%d\",\"rto_minutes\":45,\"data_verified\":true}}\n", i }' > batch.jsonl

t0=$(now); (cd local && "$BIN" record --batch ../batch.jsonl --key customer >/dev/null); t1=$(now)
LOCAL=$(secs "$t0" "$t1")
t0=$(now); (cd replica && "$BIN" record --batch ../batch.jsonl --key customer >/dev/null); t1=$(now)
REMOTE=$(secs "$t0" "$t1")
printf '| record --batch of %d lines, local | %.2f s = %.0f/s |\n' "$N" "$LOCAL" "$(echo "$N / $LOCAL" | bc -l)"
printf '| record --batch of %d lines through a replica (one request, one transaction) | %.2f s = %.0f/s = %.0f %% of local (target >= 50 %%) |\n' \
    "$N" "$REMOTE" "$(echo "$N / $REMOTE" | bc -l)" "$(echo "100 * $LOCAL / $REMOTE" | bc -l)"

# One record on a replica, 21 times: the median round trip.
median() { # DIR
    for i in $(seq 1 21); do
        t0=$(now)
        (cd "$1" && "$BIN" record --item backup.restore-tests --kind restore-test --outcome pass \
            --performed-at 2026-07-01 --field backup_id=rt-$i --field rto_minutes=45 --field data_verified=true \
            --key customer >/dev/null)
        t1=$(now)
        secs "$t0" "$t1"
    done | sort -n | sed -n 11p
}
SMALL=$(median small)
BIG=$(median replica)
printf '| one `vouch record` on a replica of %d entries, round trip with durable commit (median of 21) | %.1f ms (target <= 15 ms) |\n' \
    "$("$BIN" --ledger small/ledger.db log | wc -l)" "$(echo "1000 * $SMALL" | bc -l)"
printf '| the same on the replica of %d entries (the write runs on a copy of the replica file) | %.1f ms |\n' \
    "$("$BIN" --ledger replica/ledger.db log | tail -1 | awk '{print $1}')" "$(echo "1000 * $BIG" | bc -l)"
