#!/usr/bin/env bash
# Build perfgate with profile-guided optimisation (PGO): an instrumented build checks a
# training set, and the release build is then laid out for the paths that run hot.
#
#     scripts/pgo-build.sh [TRAINING_DIR ...]
#
# The training set is the generated benchmark project (Python and Rust, written to
# target/pgo/corpus) and examples/, plus any directories given (your own code trains it
# best). The binary is left at target/pgo/perfgate; nothing else in target/ is touched.
# Needs rustup's llvm-tools component (installed here if missing) and about twice a
# release build's time. Reports are the same byte for byte: PGO changes code layout and
# inlining, never what the code does.
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    if ! command -v rustup >/dev/null; then
        echo "pgo: llvm-profdata is not at $profdata, and there is no rustup to install it" >&2
        echo "pgo: (rustup component add llvm-tools), so no PGO build here" >&2
        exit 2
    fi
    rustup component add llvm-tools
fi

work="$PWD/target/pgo"
rm -rf "$work/profiles" "$work/corpus"
mkdir -p "$work/profiles"

echo "pgo: instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$work/profiles" \
    cargo build --release --quiet --target-dir "$work/instrumented" -p perfgate

echo "pgo: training" >&2
cargo run --release --quiet -p perfgate --example gen_corpus -- "$work/corpus" 1100 >/dev/null
for dir in "$work/corpus" examples "$@"; do
    for format in json sarif text markdown html; do
        "$work/instrumented/release/perfgate" check "$dir" \
            --fail-on never --format "$format" --quiet >/dev/null
    done
done
"$profdata" merge -o "$work/perfgate.profdata" "$work/profiles"

echo "pgo: optimised build" >&2
RUSTFLAGS="-Cprofile-use=$work/perfgate.profdata" \
    cargo build --release --quiet --target-dir "$work/build" -p perfgate
cp "$work/build/release/perfgate" "$work/perfgate"
echo "$work/perfgate"
