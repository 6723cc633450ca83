#!/usr/bin/env bash
# Builds the Debian package dist/vswitch_<version>-1_<arch>.deb: a Release build installed
# under /usr with `cmake --install` (the same files a user's own install gets), plus the
# maintainer scripts, copyright and changelog of contrib/debian. Then runs lintian on it.
# Usage: scripts/package.sh   (after scripts/setup-deps.sh; prints the .deb's path last)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^project(vswitch VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)-1
arch=$(dpkg --print-architecture)
build=build-package
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc \
  -DVSWITCH_SYSTEMD_UNIT_DIR=/lib/systemd/system -DVSWITCH_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target vswitch vport vswitchctl man
stage=$(mktemp -d /tmp/vswitch-package.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/vswitch_${version}_$arch
DESTDIR=$root cmake --install "$build" --strip >/dev/null

# Debian's layout: compressed man pages and documents, the changelog and copyright beside them.
doc=$root/usr/share/doc/vswitch
find "$root/usr/share/man" -type f -exec gzip -9n {} +
gzip -9n "$doc"/*.md
cp contrib/debian/copyright "$doc/copyright"
gzip -9nc contrib/debian/changelog >"$doc/changelog.Debian.gz"

mkdir -p "$root/DEBIAN"
install -m 0755 contrib/debian/postinst contrib/debian/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
# The shared libraries the programs need, by the packages that ship them.
depends=$(objdump -p "$root"/usr/sbin/* | awk '/NEEDED/ {print $2}' | sort -u |
  while read -r lib; do dpkg -S "*/$lib" 2>/dev/null | head -n1 | cut -d: -f1; done | sort -u | paste -sd, | sed 's/,/, /g')
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: vswitch
Version: $version
Architecture: $arch
Maintainer: vswitch developers <vswitch@example.org>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Homepage: https://github.com/vswitch/vswitch
Description: layer-2 VPN: a virtual Ethernet switch across the internet
 Hosts anywhere join a vswitch network and their operating systems see one
 LAN: ARP, DHCP, IPv6 neighbour discovery and broadcasts work as on a local
 switch. Members authenticate with their own keys (Noise IK sessions,
 WireGuard's key format) and every frame is encrypted.
 .
 The server (vswitch) forwards in AF_XDP sockets fed by an XDP program where
 the NIC has XDP, through batched UDP sockets elsewhere; each client (vport)
 is a TAP device with TCP and UDP offloads. vswitchctl shows ports, the MAC
 table and counters, and makes keys.
CONTROL
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
mkdir -p dist
deb=dist/vswitch_${version}_$arch.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
# Errors fail the build; warnings are printed for the reader.
lintian --fail-on error --tag-display-limit 0 "$deb" >&2
echo "$deb"
