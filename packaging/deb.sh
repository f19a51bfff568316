#!/usr/bin/env bash
# The operators' Debian package, from the files `make dist` built (called by
# packaging/dist.sh): bash packaging/deb.sh STAGE DIST VERSION LIB TOOL NATIVE_LIBS
# The tool, the library with its SONAME links, header, static library and
# .pc files, man pages, completions, and the systemd units, installed but
# not enabled (no maintainer scripts). `lintian` reports no errors (make test-dist).
set -euo pipefail
stage=$1 dist=$2 version=$3 lib=$4 tool=$5 native_libs=$6
major=${version%%.*}
multiarch=x86_64-linux-gnu
root=$stage/deb/wsprune
rm -rf "$stage/deb"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/$multiarch/pkgconfig" "$root/usr/include" \
    "$root/usr/share/man/man1" "$root/usr/share/doc/wsprune" "$root/usr/share/wsprune" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/lib/systemd/system"
install -m 0755 "$tool" "$root/usr/bin/wsprune"
install -m 0644 "$lib" "$root/usr/lib/$multiarch/libwsprune.so.$version"
ln -s "libwsprune.so.$version" "$root/usr/lib/$multiarch/libwsprune.so.$major"
ln -s "libwsprune.so.$major" "$root/usr/lib/$multiarch/libwsprune.so"
install -m 0644 "$(dirname "$lib")/libwsprune.a" "$root/usr/lib/$multiarch/libwsprune.a"
install -m 0644 include/wsprune.h "$root/usr/include/wsprune.h"
for pc in wsprune wsprune-static; do
    sed -e 's|@PREFIX@|/usr|' -e "s|@LIBDIR@|\${prefix}/lib/$multiarch|" -e "s|@VERSION@|$version|" \
        -e "s|@NATIVE_LIBS@|$native_libs|" "$pc.pc.in" >"$root/usr/lib/$multiarch/pkgconfig/$pc.pc"
    chmod 0644 "$root/usr/lib/$multiarch/pkgconfig/$pc.pc"
done
for page in "$stage"/cli-docs/man1/*.1; do
    gzip -9n <"$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
done
install -m 0644 "$stage/cli-docs/completions/wsprune" "$root/usr/share/bash-completion/completions/wsprune"
install -m 0644 "$stage/cli-docs/completions/_wsprune" "$root/usr/share/zsh/vendor-completions/_wsprune"
install -m 0644 "$stage/cli-docs/completions/wsprune.fish" "$root/usr/share/fish/vendor_completions.d/wsprune.fish"
# Every unit of contrib/systemd/, running the packaged tool; an operator
# enables one after setting the root (systemctl edit).
for path in contrib/systemd/*.service contrib/systemd/*.timer; do
    unit=$(basename "$path")
    sed -E -e 's|/usr/local/bin/wsprune|/usr/bin/wsprune|g' \
        -e "s|copy (both units )?to /etc/systemd/system/, edit|systemctl edit ${unit%.*}.service to set|" \
        "$path" >"$root/lib/systemd/system/$unit"
    chmod 0644 "$root/lib/systemd/system/$unit"
done
install -m 0644 contrib/valgrind/wsprune.supp "$root/usr/share/wsprune/wsprune.supp"
install -m 0644 README.md SECURITY.md "$root/usr/share/doc/wsprune/"
gzip -9n "$root/usr/share/doc/wsprune/README.md" "$root/usr/share/doc/wsprune/SECURITY.md"
{
    sed "s|^Copyright: |Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) |" packaging/debian/copyright
    echo
    echo "License: MIT"
    sed -e 's/^$/./' -e 's/^/ /' LICENSE-MIT
    echo
    echo "License: Apache-2.0"
    echo " On Debian systems, the full text of the Apache License, Version 2.0"
    echo " can be found in /usr/share/common-licenses/Apache-2.0."
} >"$root/usr/share/doc/wsprune/copyright"
date=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
printf 'wsprune (%s) unstable; urgency=medium\n\n  * Release %s; see CHANGELOG.md in the source.\n\n -- The wsprune developers <wsprune@users.noreply.github.com>  %s\n' \
    "$version" "$version" "$date" | gzip -9n >"$root/usr/share/doc/wsprune/changelog.gz"
size=$(du -k -s --apparent-size "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@SIZE@|$size|" packaging/debian/control.in >"$root/DEBIAN/control"
echo "libwsprune $major wsprune (>= $version)" >"$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | LC_ALL=C sort | xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$root"/DEBIAN/*
find "$root" -type d -exec chmod 0755 {} +
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$dist/wsprune_${version}_amd64.deb" >/dev/null
