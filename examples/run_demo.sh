#!/usr/bin/env bash
# Builds the library and the C demo, then runs it: `bash examples/run_demo.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
mkdir -p target/demo
# The library's SONAME is libwsprune.so.0 (what `make install` creates); give
# the build tree that name too.
ln -sf libwsprune.so target/release/libwsprune.so.0
cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples/demo.c \
    -Ltarget/release -lwsprune -Wl,-rpath,"$PWD/target/release" -o target/demo/demo
./target/demo/demo
