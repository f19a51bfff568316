# The two commands the README promises:
#   make demo   build the library and run the C demo
#   make test   run every test (Rust unit, integration and doc tests; header
#               freshness; the C ABI test program, also under valgrind; the Go
#               binding against an installed copy through pkg-config; the
#               Python binding, pip-installed, against an installed copy; the
#               Node.js binding, npm-packed, against an installed copy; the
#               Java binding through JNA with Maven, likewise; the
#               cross-language conformance suite on every surface)
.PHONY: dist test-dist print-native-libs all build demo test test-install lint test-rust test-cli-schemas test-promlint test-c test-go test-python test-node test-java conformance header install uninstall clean

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
# What a program linking libwsprune.a also needs: rustc's --print native-static-libs for
# this target (Linux, glibc). -lgcc_s is for unwinding (the library is built with panic=unwind).
NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
MAJOR := $(firstword $(subst ., ,$(VERSION)))

all: build

# The shared library's SONAME is libwsprune.so.$(MAJOR): programs linked in the
# build tree (docs/c-api.md) need that name next to libwsprune.so.
build:
	cargo build --release
	ln -sf libwsprune.so target/release/libwsprune.so.$(MAJOR)

demo:
	bash examples/run_demo.sh

test: lint test-rust test-cli-schemas test-promlint test-c test-install test-go test-python test-node test-java conformance

lint:
	cargo fmt --check
	cargo clippy --all-targets --quiet -- -D warnings

test-rust:
	cargo test

# Every `wsprune ... --json` output (and --events json line) against docs/schemas/.
test-cli-schemas:
	bash tests/cli_schemas/run.sh

# wsprune's Prometheus metrics through client_golang's promlint (docs/metrics.md).
test-promlint:
	bash tests/promlint/run.sh

test-c:
	bash tests/c/run.sh

test-install:
	bash tests/install_check.sh

test-go:
	bash bindings/go/run_tests.sh

test-python:
	bash bindings/python/run_tests.sh

test-node:
	bash bindings/node/run_tests.sh

test-java:
	bash bindings/java/run_tests.sh

# The cross-language conformance suite (tests/conformance/, PROTOCOL.md):
# every scenario on every surface (C ABI, Go, Python, CLI, Node, Java),
# one line per surface; fails if any scenario failed. ARGS are passed to
# run.py, e.g. ARGS="--surface go --scenario 'prune-*'".
conformance:
	bash tests/conformance/run.sh $(ARGS)

# The benchmark suite (docs/benchmarks.md); not part of `make test`. Takes
# several minutes; `make bench ARGS=--quick` is a smoke test with small sizes.
.PHONY: bench
bench:
	bash benches/run.sh $(ARGS)

# Quality gates that `bash .ci/run` runs after `make test` (each installs the
# tools it needs on first use; see the scripts): line coverage of src/ over
# the Rust, C and Python tests (fails under 90%; COVERAGE_MIN=...), bounded
# cargo-fuzz runs (FUZZ_SECONDS=60 per target; docs/fuzzing.md), and
# `openspec validate --strict` of the OpenSpec change in openspec/.
.PHONY: coverage fuzz spec
coverage:
	bash .ci/coverage.sh

fuzz:
	bash .ci/fuzz.sh

spec:
	bash .ci/spec.sh

# Regenerate include/wsprune.h after changing src/ffi/.
header:
	WSPRUNE_BLESS=1 cargo test --test header

# Installs like a C library: versioned shared library with a SONAME, the
# static library, the header and a pkg-config file; and the `wsprune` tool. DESTDIR is honoured.
install: build
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/wsprune
	install -m 0755 target/release/wsprune $(DESTDIR)$(PREFIX)/bin/wsprune
	install -m 0755 target/release/libwsprune.so $(DESTDIR)$(LIBDIR)/libwsprune.so.$(VERSION)
	ln -sf libwsprune.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwsprune.so.$(MAJOR)
	ln -sf libwsprune.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libwsprune.so
	install -m 0644 target/release/libwsprune.a $(DESTDIR)$(LIBDIR)/libwsprune.a
	install -m 0644 include/wsprune.h $(DESTDIR)$(PREFIX)/include/wsprune.h
	install -m 0644 contrib/valgrind/wsprune.supp $(DESTDIR)$(PREFIX)/share/wsprune/wsprune.supp
	for pc in wsprune wsprune-static; do \
		sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
			-e 's|@NATIVE_LIBS@|$(NATIVE_LIBS)|' $$pc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/$$pc.pc; \
	done

# Release artifacts in target/dist/ for glibc 2.17 and up, from one build
# (packaging/dist.sh; docs/packaging.md), and the clean-room test that installs
# each with its own ecosystem's installer (packaging/test-dist.sh).
dist:
	bash packaging/dist.sh

test-dist:
	bash packaging/test-dist.sh

print-native-libs:
	@echo '$(NATIVE_LIBS)'

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libwsprune.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwsprune.so.$(MAJOR) \
		$(DESTDIR)$(LIBDIR)/libwsprune.so $(DESTDIR)$(LIBDIR)/libwsprune.a \
		$(DESTDIR)$(PREFIX)/include/wsprune.h $(DESTDIR)$(LIBDIR)/pkgconfig/wsprune.pc \
		$(DESTDIR)$(LIBDIR)/pkgconfig/wsprune-static.pc $(DESTDIR)$(PREFIX)/share/wsprune/wsprune.supp \
		$(DESTDIR)$(PREFIX)/bin/wsprune

clean:
	cargo clean
