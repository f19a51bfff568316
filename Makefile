# The two commands the README promises:
#   make demo   build the library and run the C demo
#   make test   run every test (Rust unit, integration and doc tests; the C ABI
#               test program, also under valgrind; header freshness)
.PHONY: all build demo test test-rust test-c header clean

all: build

build:
	cargo build --release

demo:
	bash examples/run_demo.sh

test: test-rust test-c

test-rust:
	cargo test

test-c:
	bash tests/c/run.sh

# Regenerate include/wsprune.h after changing src/ffi.rs.
header:
	WSPRUNE_BLESS=1 cargo test --test header

clean:
	cargo clean
