#!/usr/bin/env bash
# `make dist`: every release artifact in target/dist/, from ONE build of the
# library and the tool (docs/packaging.md, RELEASING.md):
#
#   wsprune-V-x86_64-linux-gnu.tar.gz          tool, .so (+ SONAME links), .a, header,
#                                              relocatable .pc files, man pages,
#                                              completions, systemd units, valgrind
#                                              suppressions, licences, README, SECURITY.md
#   wsprune-V-x86_64-linux-gnu-debuginfo.tar.gz  the debug info stripped from the above
#   wsprune-V-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl, wsprune-V.tar.gz (sdist)
#   wsprune-V.tgz                              npm package carrying libwsprune.so
#   wsprune-V.jar, -sources.jar, -javadoc.jar, wsprune-V.pom   (linux-x86-64/libwsprune.so inside)
#   wsprune_V_amd64.deb                        for operators
#   wsprune-V.crate                            what `cargo publish` uploads
#   goproxy/                                   the Go module as a GOPROXY=file:// tree
#   SHA256SUMS
#
# The build targets glibc 2.17 (manylinux2014) with cargo-zigbuild and zig
# from PyPI, installed (pinned) on first use into target/dist-venv with the
# Python build tools and auditwheel.
# Reproducible: SOURCE_DATE_EPOCH (default: the last commit's time) for every
# time stamp, sorted archive entries, owner root, build paths remapped.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}
triple=x86_64-unknown-linux-gnu
glibc=2.17
name=wsprune-$version-x86_64-linux-gnu
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export TZ=UTC LC_ALL=C
umask 022
# DIST_DIR, DIST_STAGE and CARGO_TARGET_DIR let make test-dist build a
# second time elsewhere and compare (reproducibility).
dist=$(realpath -m "${DIST_DIR:-$repo/target/dist}")
stage=$(realpath -m "${DIST_STAGE:-$repo/target/dist-stage}")
cargo_target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
rm -rf "$dist" "$stage"
mkdir -p "$dist" "$stage"
step() { echo "== dist: $*"; }

# Deterministic archives: sorted, owner root, every time SOURCE_DATE_EPOCH.
tgz() { # tgz OUT DIR ENTRY...
    local out=$1 dir=$2
    shift 2
    tar -C "$dir" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        --format=gnu -cf - "$@" | gzip -9n >"$out"
}
clamp_times() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# 1. One build of the library (.so, .a) and the tool, linked against glibc 2.17.
step "cargo zigbuild --release --target $triple.$glibc"
venv=$repo/target/dist-venv
if [ ! -x "$venv/bin/auditwheel" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "ziglang==0.17.1" "cargo-zigbuild==0.24.1" "auditwheel==6.8.2" \
        "setuptools>=77" "setuptools-rust>=1.9" wheel build
fi
# cargo-zigbuild runs zig as `python3 -m ziglang`: the venv's python3 first.
export PATH="$venv/bin:$PATH"
# zig's caches under target/, not in $HOME.
export ZIG_GLOBAL_CACHE_DIR=$repo/target/zig-cache ZIG_LOCAL_CACHE_DIR=$repo/target/zig-cache
export CARGO_ZIGBUILD_CACHE_DIR=$repo/target/zig-cache/cargo-zigbuild
# Line tables for backtraces and debuggers, split off below; no build path,
# cargo home or toolchain path in the output.
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none
export RUSTFLAGS="--remap-path-prefix=$repo=/build/wsprune --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo --remap-path-prefix=$(rustc --print sysroot)=/rustc-sysroot -C link-arg=-Wl,--build-id=sha1"
cargo zigbuild --quiet --release --locked --target "$triple.$glibc"
unset RUSTFLAGS
out=$cargo_target/$triple/release

# 2. Strip what users need not download; keep the debug info apart.
step "split debug info"
bin=$stage/bin
mkdir -p "$bin" "$stage/debug/$name/debug"
cp "$out/wsprune" "$bin/wsprune"
cp "$out/libwsprune.so" "$bin/libwsprune.so.$version"
cp "$out/libwsprune.a" "$bin/libwsprune.a"
for f in wsprune "libwsprune.so.$version"; do
    objcopy --only-keep-debug "$bin/$f" "$stage/debug/$name/debug/$f.debug"
    strip --strip-debug --strip-unneeded "$bin/$f"
    objcopy --add-gnu-debuglink="$stage/debug/$name/debug/$f.debug" "$bin/$f"
done
# The static library: debug sections of the standard library's objects
# make up most of it; a C program's own build adds what it needs.
strip --strip-debug -D "$bin/libwsprune.a"
lib=$bin/libwsprune.so.$version

# 3. Man pages and completions from the tool's clap definition.
step "man pages and completions"
bash packaging/cli-docs.sh "$stage/cli-docs"

# 4. The tarball.
step "$name.tar.gz"
t=$stage/tar/$name
mkdir -p "$t/bin" "$t/lib/pkgconfig" "$t/include" "$t/share/man/man1" "$t/share/wsprune" \
    "$t/share/bash-completion/completions" "$t/share/zsh/site-functions" "$t/share/fish/vendor_completions.d" \
    "$t/lib/systemd/system"
install -m 0755 "$bin/wsprune" "$t/bin/wsprune"
install -m 0755 "$lib" "$t/lib/libwsprune.so.$version"
ln -s "libwsprune.so.$version" "$t/lib/libwsprune.so.$major"
ln -s "libwsprune.so.$major" "$t/lib/libwsprune.so"
install -m 0644 "$bin/libwsprune.a" "$t/lib/libwsprune.a"
install -m 0644 include/wsprune.h "$t/include/wsprune.h"
install -m 0644 "$stage"/cli-docs/man1/*.1 "$t/share/man/man1/"
install -m 0644 "$stage/cli-docs/completions/wsprune" "$t/share/bash-completion/completions/wsprune"
install -m 0644 "$stage/cli-docs/completions/_wsprune" "$t/share/zsh/site-functions/_wsprune"
install -m 0644 "$stage/cli-docs/completions/wsprune.fish" "$t/share/fish/vendor_completions.d/wsprune.fish"
# Every unit of contrib/systemd/ (make test-dist checks that none is left out).
install -m 0644 contrib/systemd/*.service contrib/systemd/*.timer "$t/lib/systemd/system/"
install -m 0644 contrib/valgrind/wsprune.supp "$t/share/wsprune/wsprune.supp"
install -m 0644 LICENSE-MIT LICENSE-APACHE README.md SECURITY.md "$t/"
# pkg-config files that work wherever the tree is unpacked: the prefix is
# derived from the .pc file's own directory.
native_libs=$(make -s --no-print-directory print-native-libs)
for pc in wsprune wsprune-static; do
    sed -e 's|@PREFIX@|${pcfiledir}/../..|' -e 's|@LIBDIR@|${prefix}/lib|' -e "s|@VERSION@|$version|" \
        -e "s|@NATIVE_LIBS@|$native_libs|" "$pc.pc.in" >"$t/lib/pkgconfig/$pc.pc"
done
clamp_times "$stage/tar"
tgz "$dist/$name.tar.gz" "$stage/tar" "$name"
install -m 0644 LICENSE-MIT LICENSE-APACHE "$stage/debug/$name/"
clamp_times "$stage/debug"
tgz "$dist/$name-debuginfo.tar.gz" "$stage/debug" "$name"

# 5. The crate (also the Rust sources of the Python sdist).
step "wsprune-$version.crate"
cargo package --quiet --locked --no-verify --allow-dirty
cp "$cargo_target/package/wsprune-$version.crate" "$dist/"

# 6. Python: a manylinux2014 wheel carrying the library, and an sdist that
# builds it from the crate's sources where Rust is.
step "Python wheel and sdist"
py=$stage/python
mkdir -p "$py"
# The tracked files (tests aside), symlinks (the licence files) resolved.
git ls-files --cached --others --exclude-standard bindings/python | grep -v '^bindings/python/tests/' | while read -r f; do
    mkdir -p "$py/$(dirname "${f#bindings/python/}")"
    cp -L "$f" "$py/${f#bindings/python/}"
done
mkdir -p "$py/rust"
tar -xzf "$dist/wsprune-$version.crate" -C "$py/rust" --strip-components=1
clamp_times "$py"
(cd "$py" && WSPRUNE_PREBUILT_LIBRARY="$lib" WSPRUNE_WHEEL_PLATFORM=manylinux_2_17_x86_64.manylinux2014_x86_64 \
    "$venv/bin/python" -m build --wheel --no-isolation --outdir "$dist" >/dev/null)
rm -rf "$py/build" "$py"/src/*.egg-info
(cd "$py" && "$venv/bin/python" -m build --sdist --no-isolation --outdir "$stage" >/dev/null)
# setuptools dates the files it generates (PKG-INFO, egg-info) now: repack
# the sdist like the other archives.
mkdir -p "$stage/sdist"
tar -xzf "$stage/wsprune-$version.tar.gz" -C "$stage/sdist"
clamp_times "$stage/sdist"
tgz "$dist/wsprune-$version.tar.gz" "$stage/sdist" "wsprune-$version"

# 7. npm: the package with the prebuilt library inside (bindings/node/README.md says why).
step "npm package"
npm_dir=$stage/npm
mkdir -p "$npm_dir"
mkdir -p "$npm_dir/lib"
cp bindings/node/package.json bindings/node/index.cjs bindings/node/index.mjs bindings/node/index.d.ts \
    bindings/node/README.md "$npm_dir/"
cp bindings/node/lib/*.cjs "$npm_dir/lib/"
node -e '
const fs = require("fs");
const file = process.argv[1] + "/package.json";
const p = JSON.parse(fs.readFileSync(file));
p.files.push("libwsprune.so");
// One platform today; npm refuses the package elsewhere instead of failing at load.
p.os = ["linux"]; p.cpu = ["x64"]; p.libc = ["glibc"];
delete p.devDependencies; delete p.scripts;
fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n");
' "$npm_dir"
install -m 0644 LICENSE-MIT LICENSE-APACHE "$npm_dir/"
install -m 0755 "$lib" "$npm_dir/libwsprune.so"
(cd "$npm_dir" && npm pack --silent --pack-destination "$dist" >/dev/null)

# 8. Java: the jar with linux-x86-64/libwsprune.so (JNA's own resource path),
# sources and javadoc jars, and the pom, built apart from bindings/java/target.
step "Java jars"
mkdir -p "$stage/java-native/linux-x86-64"
install -m 0755 "$lib" "$stage/java-native/linux-x86-64/libwsprune.so"
mvn -q -B -f bindings/java/pom.xml -P dist -DskipTests \
    -Dwsprune.native.dir="$stage/java-native" -Dproject.build.outputTimestamp="$SOURCE_DATE_EPOCH" package
for j in "" -sources -javadoc; do cp "bindings/java/target/dist/wsprune-$version$j.jar" "$dist/"; done
cp bindings/java/pom.xml "$dist/wsprune-$version.pom"

# 9. The Debian package.
step "wsprune_${version}_amd64.deb"
bash packaging/deb.sh "$stage" "$dist" "$version" "$lib" "$bin/wsprune" "$native_libs"

# 10. Go: the module as a proxy serves it (GOPROXY=file://target/dist/goproxy).
step "Go module (goproxy/)"
python3 packaging/gomodzip.py bindings/go "github.com/wsprune/wsprune/bindings/go" "v$version" "$dist/goproxy"

step "SHA256SUMS"
(cd "$dist" && find . -type f ! -name SHA256SUMS | sed 's#^\./##' | sort | xargs sha256sum >SHA256SUMS)
(cd "$dist" && ls -l --time-style=+ | sed 1d)
