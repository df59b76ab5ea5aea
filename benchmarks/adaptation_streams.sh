#!/usr/bin/env bash
# Issue 18's adaptation benchmark on every stream, from a clean clone (after the README's set-up):
#
#   bash benchmarks/adaptation_streams.sh [--limit N] [more benchmarks.adaptation arguments]
#
# The streams:
# - debian-reference, debian-handbook: the two texts the issue asks for, which the default model
#   never trained on: Debian manuals that no recipe stage reads (`pinhan fetch`, pinned in
#   src/pinhan/data/corpora/sources.lock.json). Prepared with nearly every line sent to dev
#   (dev_ratio 0.98, test_ratio 0.01), so that a stream is the document in its own order, the
#   held-out rule applied as to every fetched source.
# - pd1998, reviews (data/bundled's dev split), manpages, libreoffice-help (the dev splits of two
#   sources whose train splits the default's third stage read): dev lines of domains it knows.
#
# libime's rows need its harness (bash benchmarks/engines/install.sh); without it they are left out.
# Results: benchmarks/out/adaptation-<stream>.json and the tables on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${PINHAN_BENCH:-../shared/bench}
py=.venv/bin/python
pinhan=.venv/bin/pinhan
args=("$@")
[[ " ${args[*]-} " == *" --limit "* ]] || args=(--limit 1000 "${args[@]}")

$pinhan fetch debian-reference debian-handbook manpages libreoffice-help --cache data/cache/sources
prepare() {  # NAME DIR [PrepareConfig overrides]
    local name=$1 dir=$2
    shift 2
    [[ -f $dir/dev.jsonl ]] || $pinhan prepare "$name" --out "$dir" --quiet sources_cache=data/cache/sources \
        "heldout=$bench/heldout-clauses.txt" "$@"
}
prepare debian-reference data/adapt/debian-reference dev_ratio=0.98 test_ratio=0.01
prepare debian-handbook data/adapt/debian-handbook dev_ratio=0.98 test_ratio=0.01
prepare manpages data/adapt/manpages
prepare libreoffice-help data/adapt/libreoffice-help
[[ -f data/bundled/dev.jsonl ]] || $pinhan prepare bundled --out data/bundled --quiet

run() {  # STREAM DEV
    OMP_NUM_THREADS=1 $py -m benchmarks.adaptation --streams "$1" --dev "$2" --out "benchmarks/out/adaptation-$1.json" "${args[@]}"
}
run debian-reference data/adapt/debian-reference/dev.jsonl
run debian-handbook data/adapt/debian-handbook/dev.jsonl
run pd1998 data/bundled/dev.jsonl
run reviews data/bundled/dev.jsonl
run manpages data/adapt/manpages/dev.jsonl
run libreoffice-help data/adapt/libreoffice-help/dev.jsonl
