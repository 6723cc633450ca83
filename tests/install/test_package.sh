#!/usr/bin/env bash
# The Debian package as a user meets it: `dpkg -i` installs it (programs, units, man pages,
# completion, example configs as conffiles, /etc/vswitch 0700 with a server key 0600), each
# program answers --version, the installed units verify, and `dpkg --purge` leaves nothing of
# it behind. Needs root; installs on this machine and always purges (trap).
# Usage: test_package.sh DEB
set -u
deb=$(readlink -f "${1:?the .deb}")
PASSED=0
FAILED=0
pass() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
if dpkg-query -W -f='${Status}' vswitch 2>/dev/null | grep -q installed; then
  echo "FAIL: a vswitch package is installed already; this test would remove it"; exit 1
fi
[[ -e /etc/vswitch ]] && { echo "FAIL: /etc/vswitch exists already; this test would remove it"; exit 1; }
trap 'dpkg --purge vswitch >/dev/null 2>&1 || true' EXIT

check "dpkg -i installs the package" dpkg -i "$deb"
for prog in vswitch vport vswitchctl; do
  check "$prog --version" bash -c "/usr/sbin/$prog --version | grep -qx '$prog [0-9.]*'"
done
check "/etc/vswitch is 0700" test "$(stat -c %a /etc/vswitch)" == 700
check "a server key was made, mode 0600, and has a public key" bash -c \
  "test \$(stat -c %a /etc/vswitch/server.key) == 600 && vswitchctl pubkey < /etc/vswitch/server.key | grep -qE '^[A-Za-z0-9+/]{43}=\$'"
check "the example configs are conffiles" bash -c \
  "dpkg-query -W -f='\${Conffiles}' vswitch | grep -q /etc/vswitch/vswitch.conf &&
   dpkg-query -W -f='\${Conffiles}' vswitch | grep -q /etc/vswitch/vport/home.conf"
check "man vswitch is installed" bash -c "man -w vswitch | grep -q '/usr/share/man/man8/vswitch.8.gz'"
units=/lib/systemd/system
cp "$units/vport@.service" /tmp/vport@pkgtest.service
for u in "$units/vswitch.service" /tmp/vport@pkgtest.service "$units/vport.target"; do
  err=$(systemd-analyze verify "$u" 2>&1 >/dev/null)
  check "systemd-analyze verify $(basename "$u"): nothing on stderr${err:+ (got: $err)}" test -z "$err"
done
rm -f /tmp/vport@pkgtest.service
files=$(dpkg -L vswitch | grep -v '/\.$')
check "dpkg --purge removes it" dpkg --purge vswitch
left=""
for f in $files; do [[ -f $f ]] && left+=" $f"; done
check "nothing of the package is left${left:+ (left:$left)}" test -z "$left"
check "/etc/vswitch is gone" test ! -e /etc/vswitch
echo "test_package: $PASSED passed, $FAILED failed"
((FAILED == 0))
