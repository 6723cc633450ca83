#!/usr/bin/env bash
# Keys: vswitchctl genkey and pubkey against wireguard-tools' wg, key file modes, bad input.
# No topology and no server: only vswitchctl and wg run, in a scratch directory.
#
#   vswitchctl genkey --> wg pubkey          \  the same public key
#                     --> vswitchctl pubkey  /
#   wg genkey         --> (both again)
set -u
. "$(dirname "$0")/lib.sh"
CTL=$BIN_DIR/vswitchctl
[[ -x $CTL ]] || { echo "FAIL: no $CTL (build first)"; exit 1; }
command -v wg >/dev/null || { echo "SKIP: $SCENARIO needs wg (wireguard-tools)"; exit 77; }
trap cleanup EXIT

expect_error() {  # expect_error "description" "expected message part" command...: stdin from caller
  local what=$1 want=$2 out rc; shift 2
  out=$("$@" 2>&1); rc=$?
  if ((rc != 0)) && grep -q -- "$want" <<<"$out"; then
    pass "$what (exit $rc: $(head -n1 <<<"$out" | cut -c1-90))"
  else
    fail "$what: exit $rc, output: $out"
  fi
}
is_key() { [[ $1 =~ ^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$ ]]; }  # 44 chars, canonical
mode_of() { stat -c %a "$1"; }

# Test that our private keys give wg's public keys, and wg's private keys give ours.
for i in 1 2 3 4 5; do
  key=$("$CTL" genkey)
  ours=$("$CTL" pubkey <<<"$key")
  theirs=$(wg pubkey <<<"$key")
  if is_key "$key" && is_key "$ours" && [[ $ours == "$theirs" ]]; then
    pass "vswitchctl genkey #$i: vswitchctl pubkey == wg pubkey == $ours"
  else
    fail "vswitchctl genkey #$i: ours '$ours', wg's '$theirs'"
  fi
done
for i in 1 2 3 4 5; do
  key=$(wg genkey)
  ours=$("$CTL" pubkey <<<"$key")
  theirs=$(wg pubkey <<<"$key")
  if is_key "$ours" && [[ $ours == "$theirs" ]]; then
    pass "wg genkey #$i: vswitchctl pubkey == wg pubkey == $ours"
  else
    fail "wg genkey #$i: ours '$ours', wg's '$theirs'"
  fi
done
# wg genpsk is not clamped: both still agree, since X25519 clamps on use.
key=$(wg genpsk)
check "an unclamped key (wg genpsk) gives the same public key" \
  test "$("$CTL" pubkey <<<"$key")" == "$(wg pubkey <<<"$key")"
unset key

# Test that genkey prints one line: 44 characters and a newline, each time a new key.
check "genkey prints one line of 45 bytes" test "$("$CTL" genkey | wc -c)" == 45
check "two genkeys differ" test "$("$CTL" genkey)" != "$("$CTL" genkey)"

# Test that a key file ends up mode 600 whatever the umask, with a warning when it was open.
(umask 022 && "$CTL" genkey >"$WORK/server.key" 2>"$WORK/genkey.err")
check "genkey under umask 022 leaves mode 600" test "$(mode_of "$WORK/server.key")" == 600
check "genkey under umask 022 warns" grep -q "warning: .*mode 0644" "$WORK/genkey.err"
check "the key file holds a key wg reads" \
  test "$(wg pubkey <"$WORK/server.key")" == "$("$CTL" pubkey <"$WORK/server.key")"
(umask 077 && "$CTL" genkey >"$WORK/quiet.key" 2>"$WORK/quiet.err")
check "genkey under umask 077: mode 600, no warning" \
  bash -c "[[ \$(stat -c %a '$WORK/quiet.key') == 600 && ! -s '$WORK/quiet.err' ]]"
"$CTL" genkey 2>"$WORK/pipe.err" | cat >/dev/null
check "genkey into a pipe does not warn" test ! -s "$WORK/pipe.err"

# Test that pubkey accepts trailing blank lines, as wg does, and refuses anything else.
key=$("$CTL" genkey)
check "pubkey ignores trailing blanks" \
  test "$(printf '%s \r\n\n' "$key" | "$CTL" pubkey)" == "$("$CTL" pubkey <<<"$key")"
expect_error "pubkey of garbage" "does not hold a private key" "$CTL" pubkey <<<"not a key"
expect_error "pubkey of nothing" "does not hold a private key" "$CTL" pubkey </dev/null
expect_error "pubkey of a key with a character after it" "does not hold a private key" \
  "$CTL" pubkey <<<"${key}x"
expect_error "pubkey of two keys" "does not hold a private key" "$CTL" pubkey <<<"$key$key"
odd=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=  # unused bits set: non-canonical
expect_error "pubkey of a non-canonical key" "does not hold a private key" "$CTL" pubkey <<<"$odd"
check "wg refuses the same non-canonical key" bash -c "! wg pubkey <<<$odd 2>/dev/null"
expect_error "pubkey of a key with a byte outside base64" "does not hold a private key" \
  "$CTL" pubkey < <(printf '%s\xe9%s' "${key:0:20}" "${key:21}")
zero=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
expect_error "pubkey of the all-zero key" "all-zero" "$CTL" pubkey <<<"$zero"
expect_error "pubkey of a huge input" "does not hold a private key" "$CTL" pubkey < <(head -c 100000 /dev/zero)
unset key

# Test that the server commands still need a server, and still say so.
expect_error "ports without a server" "cannot connect" "$CTL" --control "$WORK/none.sock" ports
expect_error "an unknown command lists the commands" "genkey" "$CTL" bogus

finish
