#!/bin/sh
# Peak memory and time of the streaming paths (issue 11 items 6 and 8), through the binary:
#   record --batch of N lines (peak RSS must not grow with N), then
#   verify of the ledger against verify --bundle of its export (time, peak RSS, and no
#   temporary file: TMPDIR is an empty directory that must stay empty).
#
# Run: cargo build --release && sh benches/stream.sh [N] [VOUCH_BINARY]
#   N defaults to 1000000; the binary to target/release/vouch (or $CARGO_TARGET_DIR's).
# Needs GNU time (/usr/bin/time -v). The scratch directory (about 1.5 KB per line: the
# batch, the ledger and the bundle) is made under $STREAM_DIR or the current directory.
set -eu
N=${1:-1000000}
BIN=${2:-${CARGO_TARGET_DIR:-target}/release/vouch}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DIR=$(mktemp -d "${STREAM_DIR:-.}/vouch-stream-XXXXXX")
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
mkdir tmp

# Run vouch under GNU time: prints "wall-seconds peak-MiB" of the run.
measure() {
    /usr/bin/time -v -o time.txt env TMPDIR="$DIR/tmp" "$BIN" "$@" >/dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
                /Maximum resident set size/ { kb = $2 }
                END { printf "%.2f s, peak %.0f MiB", s, kb / 1024 }' time.txt
}

"$BIN" keygen provider >/dev/null
"$BIN" keygen customer >/dev/null
"$BIN" init --party cloudtemple --name "Cloud Temple" --role provider --key keys/provider.key >/dev/null
"$BIN" party add acme --name Acme --role customer --new-key keys/customer.key --key keys/provider.key >/dev/null
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"item\":\"backup.restore-tests\",\"kind\":\"restore-test\",\"outcome\":\"pass\",\"performed_at\":\"2026-07-01T10:00:00Z\",\"fields\":{\"backup_id\":\"bk-%d\",\"rto_minutes\":45,\"data_verified\":true}}\n", i }' > batch.jsonl
echo "| record --batch of $N lines ($(du -m batch.jsonl | cut -f1) MiB) | $(measure record --batch batch.jsonl --key keys/customer.key) |"
rm batch.jsonl
"$BIN" export --bundle bundle --key keys/provider.key >/dev/null
echo "| verify of the $((N + 2))-entry ledger | $(measure verify) |"
# The largest TMPDIR seen while verify --bundle runs (sampled every 0.2 s).
( max=0; while :; do k=$(du -sk tmp | cut -f1); [ "$k" -gt "$max" ] && max=$k && echo "$max" > tmpmax.txt; sleep 0.2; done ) &
WATCH=$!
echo "| verify --bundle of its export | $(measure verify --bundle bundle) |"
kill "$WATCH"
echo "| largest TMPDIR during verify --bundle | $(cat tmpmax.txt 2>/dev/null || echo 0) KiB (an empty directory is 4) |"
if [ -n "$(ls -A tmp)" ]; then
    echo "verify --bundle left files in TMPDIR:" && ls -la tmp && exit 1
fi
