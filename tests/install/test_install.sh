#!/usr/bin/env bash
# What `cmake --install` (and so the Debian package) ships, checked as a packager would: every
# file in place; every systemd unit passes `systemd-analyze verify` with nothing on stderr; every
# man page renders without a warning and documents every option the program has; the bash
# completion offers every option (a new option without completion fails here); the example
# config files parse. Usage: test_install.sh BUILD_DIR (configured with scdoc present).
set -u
BUILD=$(readlink -f "${1:?build dir}")
DEST=$(mktemp -d /tmp/vswitch-install.XXXXXX)
trap 'rm -rf "$DEST"' EXIT
PASSED=0
FAILED=0
pass() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

DESTDIR=$DEST cmake --install "$BUILD" >/dev/null || { echo "FAIL: cmake --install"; exit 1; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
sbin=$DEST$prefix/sbin
units=$DEST$prefix/lib/systemd/system
man=$DEST$prefix/share/man
completions=$DEST$prefix/share/bash-completion/completions
etc=$(find "$DEST" -type d -path '*/etc/vswitch' | head -n1)

for f in "$sbin/vswitch" "$sbin/vport" "$sbin/vswitchctl" "$units/vswitch.service" "$units/vport@.service" \
  "$units/vport.target" "$man/man8/vswitch.8" "$man/man8/vport.8" "$man/man8/vswitchctl.8" \
  "$man/man5/vswitch.conf.5" "$completions/vswitch" "$completions/vport" "$completions/vswitchctl" \
  "$etc/vswitch.conf" "$etc/members.conf" "$etc/vport/home.conf" "$DEST$prefix/share/vswitch/wireshark/vswitch.lua"; do
  check "installed: ${f#"$DEST"}" test -s "$f"
done

# Units: verified against the installed programs and man pages (their paths rewritten into the
# staging folder, as systemd-analyze checks that ExecStart exists and Documentation= resolves).
mkdir -p "$DEST/verify"
cp "$units/vport@.service" "$units/vport@home.service"
for u in vswitch.service vport@home.service vport.target; do
  sed "s|$prefix/sbin/|$sbin/|g" "$units/$u" >"$DEST/verify/$u"
  err=$(MANPATH=$man systemd-analyze verify "$DEST/verify/$u" 2>&1 >/dev/null)
  check "systemd-analyze verify $u: nothing on stderr${err:+ (got: $err)}" test -z "$err"
done
check "vswitch.service is Type=notify with a watchdog and reload" bash -c \
  "grep -qx Type=notify '$units/vswitch.service' && grep -q '^WatchdogSec=' '$units/vswitch.service' &&
   grep -q '^ExecReload=.*vswitchctl reload' '$units/vswitch.service'"

# Options of a program, from its --help (long options only, without --help and --version).
options_of() { "$sbin/$1" --help | grep -oE '^  (-h,)?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u; }
for prog in vswitch vport vswitchctl; do
  page=$man/man8/$prog.8
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  check "man $prog renders without warnings${warnings:+ (got: $warnings)}" test -z "$warnings"
  text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -E UTF-8 -l "$page" 2>/dev/null)
  missing=""
  for o in $(options_of "$prog"); do grep -qF -- "$o" <<<"$text" || missing+=" $o"; done
  check "man $prog documents every option${missing:+ (missing:$missing)}" test -z "$missing"
  # The completion: what it offers after "--".
  offered=$(bash -c ". '$completions/$prog'; COMP_WORDS=($prog --); COMP_CWORD=1; _$prog; printf '%s\n' \"\${COMPREPLY[@]}\"")
  missing=""
  for o in $(options_of "$prog"); do grep -qxF -- "$o" <<<"$offered" || missing+=" $o"; done
  check "bash completion offers every option of $prog${missing:+ (missing:$missing)}" test -z "$missing"
done
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$man/man5/vswitch.conf.5" 2>&1 >/dev/null)
check "man vswitch.conf renders without warnings" test -z "$warnings"
# vswitchctl's commands: the completion offers each one --help lists.
commands=$("$sbin/vswitchctl" bogus 2>&1 | grep -oE '\{[a-z,]+\}' | tr -d '{}' | tr ',' ' ')
offered=$(bash -c ". '$completions/vswitchctl'; COMP_WORDS=(vswitchctl ''); COMP_CWORD=1; _vswitchctl; printf '%s\n' \"\${COMPREPLY[@]}\"")
missing=""
for c in $commands; do grep -qxF -- "$c" <<<"$offered" || missing+=" $c"; done
check "bash completion offers every vswitchctl command ($commands)${missing:+ (missing:$missing)}" test -z "$missing"

# The example configs parse: whatever stops the programs, it is not the file (no FILE:LINE).
out=$("$sbin/vswitch" --config "$etc/vswitch.conf" --control "$DEST/x.sock" 2>&1)
check "the example vswitch.conf parses (stopped by: $(head -n1 <<<"$out" | cut -c1-80))" \
  bash -c "! grep -q 'vswitch.conf:[0-9]' <<<'$out'"
out=$("$sbin/vport" --config "$etc/vport/home.conf" 2>&1)
check "the example vport home.conf parses (stopped by: $(head -n1 <<<"$out" | cut -c1-80))" \
  bash -c "! grep -q 'home.conf:[0-9]' <<<'$out'"

echo "test_install: $PASSED passed, $FAILED failed"
((FAILED == 0))
