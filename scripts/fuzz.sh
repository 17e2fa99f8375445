#!/usr/bin/env bash
# Runs every fuzz target in tests/fuzz.rs (one per family: softmax losses,
# sigmoid losses, class_weight + metrics), one after the other, each for
# FUZZ_SECONDS seconds (default 600), in release mode. Each prints its number
# of executions, the tallies of results and errors, and any failing seed.
#
#   scripts/fuzz.sh                      # 10 minutes per target
#   FUZZ_SECONDS=30 scripts/fuzz.sh      # a quick run
#   FUZZ_SEED=1234 scripts/fuzz.sh       # reproduce a run (seeds are printed)
#   scripts/fuzz.sh fuzz_softmax         # only the targets matching a filter
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS="${FUZZ_SECONDS:-600}"
exec cargo test --release --test fuzz -- --ignored --nocapture --test-threads 1 "$@"
