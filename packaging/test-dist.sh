#!/usr/bin/env bash
# `make test-dist` (after `make dist`; .ci/run runs both): the clean room.
# Each artifact in target/dist/ is installed with its own ecosystem's
# installer and runs its README's first program, in an environment with no
# Rust toolchain on PATH, an empty HOME and no WSPRUNE_LIBRARY:
#   tarball   unpacked, moved elsewhere; docs/c-api.md's C program through its
#             pkg-config files (shared, static); bin/wsprune --version; man -l
#   wheel     pip install --no-index into a fresh venv; import wsprune.sessions;
#             the Python README's first program
#   npm       npm install of the .tgz into an empty project (koffi from the
#             npm registry); the Node README's first program (ESM) and CommonJS
#   jar       installed into a temporary local Maven repository; a consumer
#             project depending on dev.wsprune:wsprune alone (JNA and Maven's
#             plugins from Maven Central) runs the Java README's first program
#   Go        `go get` from target/dist/goproxy in a module outside the
#             repository, library found through the tarball's pkg-config
#   .deb      dpkg-deb -x, its tool run; lintian reports no errors
# and every install line of the README's "Install" section, as written.
# Then, outside the clean room: the glibc 2.17 baseline (objdump -T), the
# wheel's tag (auditwheel show), the sdist building where Rust is, and
# reproducibility (a second `make dist`
# in another target directory gives the same SHA256 for each artifact).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
name=wsprune-$version-x86_64-linux-gnu
dist=$repo/target/dist
wheel=wsprune-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
[ -f "$dist/SHA256SUMS" ] || { echo "test-dist: run make dist first" >&2; exit 2; }
tmp=$(mktemp -d /tmp/wsprune-test-dist.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
pass() { echo "== test-dist: $*"; }
fail() { echo "test-dist: FAILED: $*" >&2; exit 1; }

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match target/dist/"
pass "SHA256SUMS matches every file"

# The clean room: a PATH with the ecosystems' tools and no Rust, an empty HOME.
toolbin=$tmp/toolbin
mkdir -p "$toolbin" "$tmp/home"
ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$toolbin/python3"
for t in go node npm java javac mvn; do
    p=$(command -v "$t" || true)
    [ -n "$p" ] && [ "$(dirname "$p")" != /usr/bin ] && ln -s "$(realpath "$p")" "$toolbin/$t"
done
[ -x "$toolbin/go" ] || { [ -x /usr/local/go/bin/go ] && ln -s /usr/local/go/bin/go "$toolbin/go"; }
clean=(env -i "PATH=$toolbin:/usr/bin:/bin:/usr/sbin:/sbin" "HOME=$tmp/home" "TMPDIR=$tmp" LANG=C.UTF-8)
for t in cargo rustc rustup; do
    if "${clean[@]}" sh -c "command -v $t" >/dev/null; then fail "$t is on the clean room's PATH"; fi
done
in_clean() { "${clean[@]}" bash -euo pipefail -c "$1"; }
pass "clean room: PATH=$toolbin:/usr/bin:/bin:/usr/sbin:/sbin, HOME empty, no cargo/rustc/rustup, no WSPRUNE_LIBRARY"

# A README's Nth fenced block of a language, its /tmp/ws workspace moved into $tmp.
block() { # block FILE LANG N
    awk -v lang="$2" -v n="$3" '$0 == "```" lang {c++; if (c == n) {p = 1; next}} p && /^```$/ {exit} p' "$1" |
        sed -e "s#/tmp/wsprune-demo#$tmp/ws-node#g" -e "s#/tmp/ws#$tmp/ws#g"
}

# --- the tarball, moved after unpacking --------------------------------------
mkdir -p "$tmp/unpack" "$tmp/elsewhere"
tar -xzf "$dist/$name.tar.gz" -C "$tmp/unpack"
mv "$tmp/unpack/$name" "$tmp/elsewhere/wsprune"
rmdir "$tmp/unpack"
tree=$tmp/elsewhere/wsprune
block docs/c-api.md c 1 >"$tmp/app.c"
grep -q wsprune_session_create "$tmp/app.c" || fail "docs/c-api.md's first C program not found"
in_clean "
export PKG_CONFIG_PATH='$tree/lib/pkgconfig'
test \"\$(pkg-config --variable=prefix wsprune)\" -ef '$tree'
test \"\$(pkg-config --modversion wsprune)\" = '$version'
cd '$tmp'
cc -std=c99 -Wall -Werror app.c \$(pkg-config --cflags --libs wsprune) -Wl,-rpath,\"\$(pkg-config --variable=libdir wsprune)\" -o app-shared
./app-shared >out.txt && grep -q 'Would prune' out.txt
readelf -d app-shared >out.txt && grep -q 'NEEDED.*libwsprune.so.0' out.txt
cc -std=c99 -Wall -Werror app.c \$(pkg-config --cflags --libs wsprune-static) -o app-static
readelf -d app-static >out.txt && ! grep -q 'NEEDED.*libwsprune' out.txt
./app-static >out.txt && grep -q 'Would prune' out.txt
test \"\$('$tree/bin/wsprune' --version)\" = 'wsprune $version'
for page in '$tree'/share/man/man1/*.1; do MANWIDTH=80 man -l \"\$page\" 2>&1 >/dev/null | (! grep .) ; done
MANWIDTH=80 man -l '$tree/share/man/man1/wsprune.1' >out.txt && grep -q 'wsprune' out.txt
MANWIDTH=80 man -l '$tree/share/man/man1/wsprune-prune.1' >out.txt && grep -q -- '--older-than' out.txt
bash -c 'source \"$tree/share/bash-completion/completions/wsprune\" && complete -p wsprune' >/dev/null
"
pass "tarball moved to another directory: C program through pkg-config shared and static, wsprune --version, man -l of $(ls "$tree/share/man/man1" | wc -l) pages, bash completion"

# --- the wheel ---------------------------------------------------------------
block bindings/python/README.md python 1 >"$tmp/first.py"
in_clean "
python3 -m venv '$tmp/venv'
'$tmp/venv/bin/pip' install --quiet --no-index '$dist/$wheel'
cd '$tmp'
'$tmp/venv/bin/python' -c 'import wsprune.sessions, wsprune; print(\"wsprune\", wsprune.version())' >out.txt && grep -qx 'wsprune $version' out.txt
'$tmp/venv/bin/python' first.py >out.txt && grep -q 'Would prune' out.txt
"
pass "wheel: pip install --no-index into a fresh venv, import wsprune.sessions, the README's first program"

# --- the npm package ---------------------------------------------------------
mkdir -p "$tmp/npm-app"
block bindings/node/README.md js 1 >"$tmp/npm-app/first.mjs"
cat >"$tmp/npm-app/first.cjs" <<EOF
const w = require('wsprune');
const id = w.createSession('$tmp/ws-cjs');
console.log(w.version(), id === w.listSessions('$tmp/ws-cjs')[0].sessionId);
EOF
in_clean "
cd '$tmp/npm-app'
echo '{\"name\": \"app\", \"version\": \"1.0.0\", \"private\": true}' >package.json
npm install --silent --no-audit --no-fund '$dist/wsprune-$version.tgz'
test -f node_modules/wsprune/libwsprune.so
node first.mjs >out.txt && grep -q 'Would prune' out.txt
node first.cjs >out.txt && grep -qx '$version true' out.txt
"
pass "npm: npm install of the .tgz into an empty project, the README's first program (ESM) and CommonJS"

# --- the jar -----------------------------------------------------------------
m2=$tmp/m2repo
mkdir -p "$tmp/java-app/src/main/java"
block bindings/java/README.md java 1 >"$tmp/java-app/src/main/java/FirstProgram.java"
cat >"$tmp/java-app/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>app</artifactId>
  <version>1</version>
  <properties><maven.compiler.source>17</maven.compiler.source><maven.compiler.target>17</maven.compiler.target></properties>
  <dependencies>
    <dependency><groupId>dev.wsprune</groupId><artifactId>wsprune</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
EOF
in_clean "
mvn -q -B -Dmaven.repo.local='$m2' -Dstyle.color=never install:install-file -Dfile='$dist/wsprune-$version.jar' \
    -DpomFile='$dist/wsprune-$version.pom' -Dsources='$dist/wsprune-$version-sources.jar' \
    -Djavadoc='$dist/wsprune-$version-javadoc.jar'
cd '$tmp/java-app'
mvn -q -B -Dmaven.repo.local='$m2' -Dstyle.color=never package dependency:build-classpath -Dmdep.outputFile=cp.txt -DincludeScope=runtime
grep -q 'jna' cp.txt
java -cp \"target/app-1.jar:\$(cat cp.txt)\" FirstProgram '$tmp/ws-java' >out.txt && grep -q 'Would prune' out.txt
"
pass "jar: installed into a temporary local Maven repository; a consumer with only the dependency runs the README's first program"

# --- Go ----------------------------------------------------------------------
mkdir -p "$tmp/go-app"
block bindings/go/README.md go 1 >"$tmp/go-app/main.go"
in_clean "
export GOPATH='$tmp/gopath' GOCACHE='$tmp/gocache' GOFLAGS=-mod=mod GOTOOLCHAIN=local
export GOPROXY='file://$dist/goproxy' GOSUMDB=off
export PKG_CONFIG_PATH='$tree/lib/pkgconfig'
export CGO_LDFLAGS=\"-Wl,-rpath,\$(pkg-config --variable=libdir wsprune)\"
cd '$tmp/go-app'
go mod init example.com/app >/dev/null 2>&1
go get github.com/wsprune/wsprune/bindings/go@v$version >/dev/null 2>&1
go run . >out.txt && grep -q 'Would prune' out.txt
"
pass "Go: go get from goproxy/ in a module outside the repository, the library through the tarball's pkg-config"

# --- the .deb ----------------------------------------------------------------
in_clean "
dpkg-deb -x '$dist/wsprune_${version}_amd64.deb' '$tmp/deb'
test \"\$(LD_LIBRARY_PATH='$tmp/deb/usr/lib/x86_64-linux-gnu' '$tmp/deb/usr/bin/wsprune' --version)\" = 'wsprune $version'
test -L '$tmp/deb/usr/lib/x86_64-linux-gnu/libwsprune.so.0'
test -f '$tmp/deb/lib/systemd/system/wsprune-prune.timer'
"
if command -v lintian >/dev/null; then
    lintian --fail-on error "$dist/wsprune_${version}_amd64.deb" >"$tmp/lintian.txt" || { cat "$tmp/lintian.txt" >&2; fail "lintian reports errors"; }
    pass ".deb: unpacked with dpkg-deb -x, its tool runs; lintian: no errors ($(grep -c '^W:' "$tmp/lintian.txt" || true) warnings)"
else
    fail "lintian is not installed (apt-get install lintian)"
fi

# --- the README's Install lines, as written (one per ecosystem) ----------------
awk '/^## Install/{f=1;next} f&&/^## /{exit} f&&/^```sh$/{p=1;next} p&&/^```$/{p=0} p' README.md |
    grep -v '^#' | grep -v '^$' >"$tmp/install-lines.sh"
grep -q 'target/dist' "$tmp/install-lines.sh" || fail "README.md's Install section names no target/dist/ file"
mkdir -p "$tmp/install-readme" "$tmp/home/.m2" "$tmp/dpkg-root/var/lib/dpkg/info" "$tmp/dpkg-root/var/lib/dpkg/updates"
ln -s "$repo/target" "$tmp/install-readme/target"
touch "$tmp/dpkg-root/var/lib/dpkg/status"
# Maven's plugins were fetched into $m2 above; "in your module" for go get;
# dpkg -i installs into a throwaway root (--root), not this machine.
ln -s "$m2" "$tmp/home/.m2/repository"
printf 'module example.com/readme\n\ngo 1.22\n' >"$tmp/install-readme/go.mod"
in_clean "cd '$tmp/install-readme' && python3 -m venv venv && . venv/bin/activate
export GOPATH='$tmp/gopath' GOCACHE='$tmp/gocache' GOTOOLCHAIN=local
dpkg() { command dpkg --root='$tmp/dpkg-root' --force-depends \"\$@\"; }
set -x
. '$tmp/install-lines.sh'
set +x
test -x ~/.local/bin/wsprune && ~/.local/bin/wsprune --version
python -c 'import wsprune.sessions'
node -e 'require(\"wsprune\").version()'
test -f '$m2/dev/wsprune/wsprune/$version/wsprune-$version.jar'
grep -q 'github.com/wsprune/wsprune/bindings/go v$version' go.mod
test -x '$tmp/dpkg-root/usr/bin/wsprune'
" >"$tmp/install-readme.log" 2>&1 || { cat "$tmp/install-readme.log" >&2; fail "README.md's Install lines"; }
pass "README.md's Install section: $(wc -l <"$tmp/install-lines.sh") lines run as written"

# --- outside the clean room ----------------------------------------------------
newest() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1; }
for f in "$tree/bin/wsprune" "$tree/lib/libwsprune.so.$version"; do
    v=$(newest "$f")
    [ "$(printf '%s\n2.17\n' "$v" | sort -V | tail -n1)" = 2.17 ] || fail "$(basename "$f") needs GLIBC_$v (> 2.17)"
done
pass "glibc baseline: no symbol newer than GLIBC_2.17 in the tool or the library"

"$repo/target/dist-venv/bin/auditwheel" show "$dist/$wheel" >"$tmp/auditwheel.txt" 2>&1
grep -q '"manylinux_2_17_x86_64"' "$tmp/auditwheel.txt" || { cat "$tmp/auditwheel.txt" >&2; fail "auditwheel does not call the wheel manylinux_2_17_x86_64"; }
pass "auditwheel show: manylinux_2_17_x86_64"

# The sdist builds where Rust is (its own target directory, kept between runs).
python3 -m venv "$tmp/sdist-venv"
CARGO_TARGET_DIR=$repo/target/sdist-build "$tmp/sdist-venv/bin/pip" install --quiet "$dist/wsprune-$version.tar.gz"
(cd "$tmp" && env -u WSPRUNE_LIBRARY "$tmp/sdist-venv/bin/python" -c 'import wsprune.sessions, wsprune; print(wsprune.version())') |
    grep -qx "$version" || fail "the sdist's build does not import"
pass "sdist: pip install builds it with Rust, imports"

# Reproducible: a second make dist, in another target and output directory.
# The cargo target directory starts empty, so the Rust build is redone too.
rm -rf "$repo/target/repro"
DIST_DIR=$tmp/dist2 DIST_STAGE=$tmp/stage2 CARGO_TARGET_DIR=$repo/target/repro bash packaging/dist.sh >"$tmp/dist2.log" 2>&1 ||
    { tail -n 30 "$tmp/dist2.log" >&2; fail "second make dist"; }
(cd "$tmp/dist2" && sha256sum -c "$dist/SHA256SUMS") >"$tmp/repro.txt" 2>&1 || true
grep -q "^$name.tar.gz: OK" "$tmp/repro.txt" || { cat "$tmp/repro.txt" >&2; fail "the tarball is not reproducible"; }
differs=$(grep -v ': OK$' "$tmp/repro.txt" | sed 's/: FAILED.*//' | grep -v '^sha256sum:' || true)
[ -z "$differs" ] || { echo "$differs" >&2; fail "not reproducible: the files above differ between two builds"; }
pass "reproducible: a second make dist (fresh cargo target directory) gives the same SHA256 for all $(wc -l <"$dist/SHA256SUMS") files"
echo "test-dist: all passed"
