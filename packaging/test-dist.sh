#!/usr/bin/env bash
# `make test-dist` (after `make dist`; .ci/run runs both): the clean room.
# Each artifact in target/dist/ is installed with its own ecosystem's
# installer and runs its README's first program, in an environment with no
# Rust toolchain on PATH, an empty HOME and no WSPRUNE_LIBRARY:
#   tarball   unpacked, moved elsewhere; docs/c-api.md's C program through its
#             pkg-config files (shared, static), and from a Makefile in a
#             directory whose name has a space and non-ASCII letters;
#             bin/wsprune --version; man -l of every page; a man page and a
#             completion for every command the tool's --help lists
#   wheel     pip install --no-index into a fresh venv; import wsprune.sessions;
#             the Python README's first program, on the wheel's own library
#   npm       npm install of the .tgz into an empty project (koffi from the
#             npm registry); the Node README's first program (ESM) and CommonJS,
#             on the package's own library
#   jar       installed into a temporary local Maven repository; a consumer
#             project depending on dev.wsprune:wsprune alone (JNA and Maven's
#             plugins from Maven Central) runs the Java README's first program
#             with JNA loading linux-x86-64/libwsprune.so from the jar
#   Go        `go get` from target/dist/goproxy in a module outside the
#             repository, library found through the tarball's pkg-config
#   .deb      dpkg-deb -x, its tool run; lintian reports no errors
# and every install line of the README's "Install" section, as written.
# Then, outside the clean room: the licences in every artifact, the glibc
# 2.17 baseline (objdump -T), the wheel's tag (auditwheel show), the sdist
# building where Rust is, `cargo publish --dry-run` and the .crate's file
# list, `cargo install --git <repo>` naming no package (one binary), and
# reproducibility (a second `make dist` in another target directory gives
# the same SHA256 for each artifact).
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
# A libwsprune the dynamic loader finds by itself would stand in for the one
# an artifact carries, and the clean room would prove nothing.
if ldconfig -p | grep -q 'libwsprune\.so'; then
    fail "a system-wide libwsprune is installed (ldconfig -p); remove it to test what the artifacts carry"
fi
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
        sed -E "s#/tmp/(wsprune-demo|ws)\b#$tmp/\1#g"
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

# Every command the tool's --help lists, nested ones too, has its man page
# (wsprune-CMD.1, wsprune-CMD-SUB.1), named in its parent's page, and is
# offered by the completions; and no page is left for a command that is gone.
# Prints "PARENT_PAGE PAGE NAME" for each command under the given arguments.
commands() { # commands TOOL PAGE ARGS...
    local tool=$1 page=$2
    shift 2
    "$tool" "$@" --help | awk '/^Commands:$/ {c = 1; next} c && /^$/ {exit} c && /^  [a-z]/ && $1 != "help" {print $1}' |
        while read -r sub; do
            echo "$page $page-$sub $sub"
            commands "$tool" "$page-$sub" "$@" "$sub"
        done
}
check_cli_docs() { # check_cli_docs TREE: the first thing missing, on stderr
    local t=$1 list parent page sub n
    list=$(commands "$t/bin/wsprune" wsprune)
    [ "$(echo "$list" | wc -l)" -ge 10 ] || { echo "wsprune --help lists $(echo "$list" | wc -l) commands" >&2; return 1; }
    while read -r parent page sub; do
        [ -f "$t/share/man/man1/$page.1" ] || { echo "no man page $page.1 for \`${page//-/ }\`" >&2; return 1; }
        grep -qF "${page//-/\\-}(1)" "$t/share/man/man1/$parent.1" || { echo "$parent.1 does not name $page(1)" >&2; return 1; }
        grep -qF -- "-a \"$sub\"" "$t/share/fish/vendor_completions.d/wsprune.fish" || { echo "the fish completion lacks $sub" >&2; return 1; }
        grep -qF "'$sub:" "$t/share/zsh/site-functions/_wsprune" || { echo "the zsh completion lacks $sub" >&2; return 1; }
        if [ "$parent" = wsprune ]; then
            grep -qF "wsprune,$sub)" "$t/share/bash-completion/completions/wsprune" || { echo "the bash completion lacks $sub" >&2; return 1; }
        fi
    done <<<"$list"
    n=$(ls "$t/share/man/man1" | wc -l)
    [ "$n" -eq $(($(echo "$list" | wc -l) + 1)) ] || { echo "$n man pages for $(echo "$list" | wc -l) commands and wsprune.1" >&2; return 1; }
}
check_cli_docs "$tree" || fail "the tarball's man pages or completions do not match the tool's commands"
# The check fails when a page is missing (it would be worth nothing otherwise).
cp -a "$tree" "$tmp/tree-without-page"
rm "$tmp/tree-without-page/share/man/man1/wsprune-prune.1"
if check_cli_docs "$tmp/tree-without-page" 2>"$tmp/check.txt"; then fail "check_cli_docs passed without wsprune-prune.1"; fi
grep -q 'no man page wsprune-prune.1' "$tmp/check.txt" || fail "check_cli_docs: $(cat "$tmp/check.txt")"
rm -rf "$tmp/tree-without-page"
pass "a man page and bash, zsh and fish completions for each of the $(commands "$tree/bin/wsprune" wsprune | wc -l) commands wsprune --help lists (and the check fails without wsprune-prune.1)"

# An odd place: a space and non-ASCII letters in the directory name. pkg-config
# escapes them with backslashes, which a shell undoes where it reads the output
# as words of a command (make's recipes, eval), as for every .pc file.
odd="$tmp/odd dir/ünï"
mkdir -p "$odd"
tar -xzf "$dist/$name.tar.gz" -C "$odd"
mkdir -p "$tmp/make-app"
cp "$tmp/app.c" "$tmp/make-app/app.c"
cat >"$tmp/make-app/Makefile" <<'EOF'
app: app.c
	cc -std=c99 -Wall -Werror -o $@ $< $(shell pkg-config --cflags --libs wsprune) -Wl,-rpath,$(shell pkg-config --variable=libdir wsprune)
app-static: app.c
	cc -std=c99 -Wall -Werror -o $@ $< $(shell pkg-config --cflags --libs wsprune-static)
EOF
in_clean "
export PKG_CONFIG_PATH='$odd/$name/lib/pkgconfig'
cd '$tmp/make-app'
make -s app app-static
./app >out.txt && grep -q 'Would prune' out.txt
ldd ./app | grep -qF '$odd/$name/lib/pkgconfig/../../lib/libwsprune.so.0'
./app-static >out.txt && grep -q 'Would prune' out.txt
"
rm -rf "$tmp/odd dir"
pass "tarball in '.../odd dir/ünï/': a Makefile builds the C program through pkg-config, shared (rpath from libdir) and static"

# --- the wheel ---------------------------------------------------------------
block bindings/python/README.md python 1 >"$tmp/first.py"
in_clean "
python3 -m venv '$tmp/venv'
'$tmp/venv/bin/pip' install --quiet --no-index '$dist/$wheel'
cd '$tmp'
'$tmp/venv/bin/python' -c 'import wsprune.sessions, wsprune; print(\"wsprune\", wsprune.version())' >out.txt && grep -qx 'wsprune $version' out.txt
'$tmp/venv/bin/python' first.py >out.txt && grep -q 'Would prune' out.txt
'$tmp/venv/bin/python' -c 'import wsprune; wsprune.version(); print(open(\"/proc/self/maps\").read())' >maps.txt
grep libwsprune maps.txt | grep -q '$tmp/venv/lib/python3[^/]*/site-packages/wsprune/libwsprune.so'
"
pass "wheel: pip install --no-index into a fresh venv, import wsprune.sessions, the README's first program, on the wheel's own libwsprune.so"

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
node -e 'require(\"wsprune\").version(); process.stdout.write(require(\"fs\").readFileSync(\"/proc/self/maps\"))' >maps.txt
grep libwsprune maps.txt | grep -q '$tmp/npm-app/node_modules/wsprune/libwsprune.so'
"
pass "npm: npm install of the .tgz into an empty project, the README's first program (ESM) and CommonJS, on the package's own libwsprune.so"

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
tr ':' '\\n' <cp.txt | sed 's#.*/##' | sort >jars.txt
grep -qx 'wsprune-$version.jar' jars.txt && grep -qx 'jna-[0-9.]*.jar' jars.txt && test \"\$(wc -l <jars.txt)\" = 2
java -Djna.debug_load=true -cp \"target/app-1.jar:\$(cat cp.txt)\" FirstProgram '$tmp/ws-java' >out.txt 2>jna.txt && grep -q 'Would prune' out.txt
grep -q 'Found library resource at jar:file:.*/wsprune-$version.jar!/linux-x86-64/libwsprune.so' jna.txt
"
pass "jar: installed into a temporary local Maven repository; a consumer with only the dependency (class path: it and JNA) runs the README's first program, JNA loading linux-x86-64/libwsprune.so from the jar"

# --- Go ----------------------------------------------------------------------
# The Go README's commands ("From the release tarball") as written, with
# /opt and /path/to/wsprune pointing here, in a module outside the repository.
mkdir -p "$tmp/go-app" "$tmp/opt"
block bindings/go/README.md go 1 >"$tmp/go-app/main.go"
block bindings/go/README.md sh 1 | sed -e "s#/opt\b#$tmp/opt#g" -e "s#/path/to/wsprune\b#$repo#g" >"$tmp/go-readme.sh"
grep -q 'PKG_CONFIG_PATH' "$tmp/go-readme.sh" && grep -q 'go run' "$tmp/go-readme.sh" || fail "the Go README's tarball commands not found"
ln -s "$dist/$name.tar.gz" "$tmp/go-app/$name.tar.gz"
in_clean "
export GOPATH='$tmp/gopath' GOCACHE='$tmp/gocache' GOTOOLCHAIN=local
cd '$tmp/go-app'
go mod init example.com/app >/dev/null 2>&1
. '$tmp/go-readme.sh' >out.txt 2>go.txt || { cat go.txt >&2; exit 1; }
grep -q 'Would prune' out.txt
! grep -q replace go.mod
grep -q 'github.com/wsprune/wsprune/bindings/go v$version' go.mod
"
pass "Go: the Go README's commands in a module outside the repository (go get from goproxy/, no replace directive; the library through the tarball's pkg-config, moved to $tmp/opt)"

# --- the .deb ----------------------------------------------------------------
in_clean "
dpkg-deb -x '$dist/wsprune_${version}_amd64.deb' '$tmp/deb'
test \"\$(LD_LIBRARY_PATH='$tmp/deb/usr/lib/x86_64-linux-gnu' '$tmp/deb/usr/bin/wsprune' --version)\" = 'wsprune $version'
test -L '$tmp/deb/usr/lib/x86_64-linux-gnu/libwsprune.so.0'
test -f '$tmp/deb/lib/systemd/system/wsprune-prune.timer'
"
# Every systemd unit of contrib/ in the tarball as is, and in the .deb
# running /usr/bin/wsprune.
for unit in contrib/systemd/*.service contrib/systemd/*.timer; do
    u=$(basename "$unit")
    cmp -s "$unit" "$tree/lib/systemd/system/$u" || fail "the tarball lacks $unit"
    [ -f "$tmp/deb/lib/systemd/system/$u" ] || fail "the .deb lacks $unit"
    ! grep -q /usr/local "$tmp/deb/lib/systemd/system/$u" || fail "the .deb's $u names /usr/local"
    if grep -q '^ExecStart=' "$unit"; then grep -q '^ExecStart=/usr/bin/wsprune ' "$tmp/deb/lib/systemd/system/$u" || fail "the .deb's $u runs another tool"; fi
done
if command -v lintian >/dev/null; then
    lintian --fail-on error "$dist/wsprune_${version}_amd64.deb" >"$tmp/lintian.txt" || { cat "$tmp/lintian.txt" >&2; fail "lintian reports errors"; }
    pass ".deb: unpacked with dpkg-deb -x, its tool runs; every unit of contrib/systemd/ in it (running /usr/bin/wsprune) and in the tarball; lintian: no errors ($(grep -c '^W:' "$tmp/lintian.txt" || true) warnings)"
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

# One library build: the wheel, npm package, jar and .deb carry the very
# file the tarball does (so the checks above hold for each).
so_sum=$(sha256sum <"$tree/lib/libwsprune.so.$version")
zip_member() { python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$@"; }
[ "$(zip_member "$dist/$wheel" wsprune/libwsprune.so | sha256sum)" = "$so_sum" ] || fail "the wheel's libwsprune.so is another build"
[ "$(tar -xzOf "$dist/wsprune-$version.tgz" package/libwsprune.so | sha256sum)" = "$so_sum" ] || fail "the npm package's libwsprune.so is another build"
[ "$(zip_member "$dist/wsprune-$version.jar" linux-x86-64/libwsprune.so | sha256sum)" = "$so_sum" ] || fail "the jar's libwsprune.so is another build"
[ "$(sha256sum <"$tmp/deb/usr/lib/x86_64-linux-gnu/libwsprune.so.$version")" = "$so_sum" ] || fail "the .deb's libwsprune.so is another build"
pass "one library: the wheel, the npm package, the jar and the .deb carry the tarball's libwsprune.so.$version, byte for byte"

"$repo/target/dist-venv/bin/auditwheel" show "$dist/$wheel" >"$tmp/auditwheel.txt" 2>&1
grep -q '"manylinux_2_17_x86_64"' "$tmp/auditwheel.txt" || { cat "$tmp/auditwheel.txt" >&2; fail "auditwheel does not call the wheel manylinux_2_17_x86_64"; }
pass "auditwheel show: manylinux_2_17_x86_64"

# The sdist builds where Rust is (its own target directory, kept between runs).
python3 -m venv "$tmp/sdist-venv"
CARGO_TARGET_DIR=$repo/target/sdist-build "$tmp/sdist-venv/bin/pip" install --quiet "$dist/wsprune-$version.tar.gz"
(cd "$tmp" && env -u WSPRUNE_LIBRARY "$tmp/sdist-venv/bin/python" -c 'import wsprune.sessions, wsprune; print(wsprune.version())') |
    grep -qx "$version" || fail "the sdist's build does not import"
pass "sdist: pip install builds it with Rust, imports"

# The licences in every artifact (the .deb: in its copyright file).
has_licences() { # has_licences LISTING: both licence files among the names
    grep -qE '(^|/)LICENSE-MIT$' "$1" && grep -qE '(^|/)LICENSE-APACHE$' "$1"
}
for f in "$name.tar.gz" "$name-debuginfo.tar.gz" "wsprune-$version.tar.gz" "wsprune-$version.tgz" "wsprune-$version.crate"; do
    tar -tzf "$dist/$f" >"$tmp/list.txt"
    has_licences "$tmp/list.txt" || fail "$f carries no LICENSE-MIT and LICENSE-APACHE"
done
for f in "$wheel" "wsprune-$version.jar" "wsprune-$version-sources.jar" "wsprune-$version-javadoc.jar" \
    "goproxy/github.com/wsprune/wsprune/bindings/go/@v/v$version.zip"; do
    python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$dist/$f" >"$tmp/list.txt"
    has_licences "$tmp/list.txt" || fail "$f carries no LICENSE-MIT and LICENSE-APACHE"
done
grep -q '<name>MIT</name>' "$dist/wsprune-$version.pom" && grep -q '<name>Apache-2.0</name>' "$dist/wsprune-$version.pom" ||
    fail "the pom names no licences"
copyright=$tmp/deb/usr/share/doc/wsprune/copyright
grep -q '^License: MIT or Apache-2.0$' "$copyright" && grep -q '^License: MIT$' "$copyright" && grep -q '^License: Apache-2.0$' "$copyright" ||
    fail "the .deb's copyright file lacks a licence"
pass "licences: LICENSE-MIT and LICENSE-APACHE in the tarballs, wheel, sdist, npm package, jars, .crate and Go module; the pom's <licenses>; the .deb's copyright"

# Rust: the registry's own check (it builds the packaged crate), and what the
# .crate holds: what builds the library and the tool, nothing else.
cargo publish --dry-run --locked --allow-dirty --quiet 2>"$tmp/publish.txt" ||
    { cat "$tmp/publish.txt" >&2; fail "cargo publish --dry-run"; }
tar -tzf "$dist/wsprune-$version.crate" | sed "s#^wsprune-$version/##" >"$tmp/crate.txt"
strays=$(grep -vE '^(Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json|build\.rs|src/.*\.rs|include/wsprune\.h|README\.md|docs/rust-api\.md|SECURITY\.md|LICENSE-MIT|LICENSE-APACHE)$' "$tmp/crate.txt" || true)
[ -z "$strays" ] || { echo "$strays" >&2; fail "the .crate holds files that build neither the library nor the tool"; }
grep -qx 'src/lib.rs' "$tmp/crate.txt" && grep -qx 'src/bin/wsprune/main.rs' "$tmp/crate.txt" || fail "the .crate lacks the library or the tool"
pass "cargo publish --dry-run passes; the .crate ($(wc -l <"$tmp/crate.txt") files, $(($(stat -c %s "$dist/wsprune-$version.crate") / 1024)) KiB) holds only sources, build.rs, the lock file, the header, README, SECURITY.md, docs/rust-api.md and the licences"

# `cargo install --git <repo>` without naming a package: exactly one
# candidate with binaries, and the one binary it installs is the tool.
# (The committed HEAD, as cargo fetches it; deps come from target/'s release build.)
cargo install --quiet --locked --git "file://$repo" --rev "$(git rev-parse HEAD)" --root "$tmp/cargo-root" \
    --target-dir "$repo/target" 2>"$tmp/install.txt" || { cat "$tmp/install.txt" >&2; fail "cargo install --git file://$repo"; }
[ "$(ls "$tmp/cargo-root/bin")" = wsprune ] || fail "cargo install --git installed: $(ls "$tmp/cargo-root/bin" | tr '\n' ' ')"
[ "$("$tmp/cargo-root/bin/wsprune" --version)" = "wsprune $version" ] || fail "cargo install --git: wrong --version"
pass "cargo install --git <repo>, naming no package: one binary, wsprune $version"

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
