#!/usr/bin/env bash
# Checks that every normal (non-dev) dependency in the resolved graph
# declares a rust-version no newer than this crate's. Only the Rust
# toolchain is needed (cargo metadata + sed). Usage: bash scripts/check_msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ours=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
[ -n "$ours" ] || { echo "Cargo.toml declares no rust-version"; exit 1; }
ver_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }
# Normal dependencies of the library, transitively (dev-dependencies excluded).
# Every feature that keeps the crate's rust-version: all but `perpetual`,
# which needs Rust 1.85 (perpetual 2.x is edition 2024; see Cargo.toml), and
# `burn` (burn 0.22 needs Rust 1.95).
deps=$(cargo tree -e normal --prefix none --format '{p}' --features rayon | sed 's/ (.*//' | sort -u)
bad=0
while read -r name ver; do
  [ -n "$name" ] || continue
  [ "$name" = "focal-loss" ] && continue
  ver=${ver#v}
  manifest=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "$name-$ver" 2>/dev/null | head -n1)
  rv=""
  [ -n "$manifest" ] && rv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$manifest/Cargo.toml" | head -n1)
  if [ -n "$rv" ] && ! ver_le "$rv" "$ours"; then
    echo "  $name $ver needs Rust $rv > $ours"; bad=1
  else
    echo "  $name $ver: rust-version ${rv:-unset} <= $ours"
  fi
done <<< "$deps"
exit $bad
