#!/usr/bin/env python3
"""Golden bytes of every protocol v2 message, from fixed inputs, by an independent implementation.

Written from docs/protocol.md ("Version 2") and the Noise specification (revision 34,
https://noiseprotocol.org/noise.html), not from the C++: tests/unit/golden_test.cpp checks that
the C++ produces exactly what this script prints. Only Debian's packages are used: hashlib
(BLAKE2b) from the standard library and python3-cryptography (X25519, ChaCha20-Poly1305,
AES-256-GCM). XChaCha20-Poly1305 is built here from HChaCha20 (draft-irtf-cfrg-xchacha-03).

Before printing anything the script checks its own primitives against published vectors: the
HChaCha20 and AEAD_XChaCha20_Poly1305 examples of the XChaCha draft and the cacophony
Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b vector (the one tests/unit/noise_test.cpp also uses).

Regenerate: /usr/bin/python3 tests/unit/golden/v2_golden.py   (prints the constants of golden_test.cpp;
Debian 12: python3-cryptography 38; a newer cryptography from pip gives the same bytes)

Fixed inputs (X25519 private keys are clamped on use, as X25519 specifies):
  client static private    01 02 03 .. 20            (32 bytes counting up from 0x01)
  server static private    21 22 23 .. 40
  client ephemeral private 41 42 43 .. 60
  server ephemeral private 61 62 63 .. 80
  PSK                      32 zero bytes
  prologue                 "vswitch protocol 2" (18 ASCII bytes)
  timestamp (TAI64N)       400000006955b900 1d000000: a fixed value, 2^62 + 1767225600 s
                           (2026-01-01 UTC) and 486539264 ns (a multiple of 2^24)
  client sender index      0x1a2b3c4d
  server sender index      0x5e6f7081
  network id               0x00000000000004d2 (1234)
  suites offered           0x06 (ChaCha20-Poly1305 = bit 1 << 1, AES-256-GCM = bit 1 << 2)
  MTU asked                1420; granted 1400 with suite 1 (ChaCha20-Poly1305)
  cookie secret            81 82 83 .. a0            (32 bytes)
  cookie reply nonce       b0 b1 b2 .. c7            (24 bytes)
  source endpoint          198.18.0.11:4000          (cookie input: 4 address bytes || BE16 port)
  DATA frame (60 bytes)    dst 02:00:00:00:00:02, src 02:00:00:00:00:01, ethertype 0x88b5,
                           then 46 bytes 00 01 02 .. 2d
  counters                 client->server DATA: 0 (both suites, same split key)
                           server->client keepalive: 0, then CONTROL PING (sequence 7): 1
"""

import hashlib
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

# ---------------------------------------------------------------------------------------------
# Noise (specification revision 34), HASH = BLAKE2b, DH = 25519, cipher = ChaChaPoly.

HASHLEN = 64
BLOCKLEN = 128
DHLEN = 32
TAGLEN = 16


def blake2b(data, digest_size=64, key=b""):
    return hashlib.blake2b(data, digest_size=digest_size, key=key).digest()


def hmac_blake2b(key, data):
    # RFC 2104 over unkeyed BLAKE2b-512, block 128 bytes (Noise section 4.3).
    if len(key) > BLOCKLEN:
        key = blake2b(key)
    key = key.ljust(BLOCKLEN, b"\x00")
    inner = blake2b(bytes(b ^ 0x36 for b in key) + data)
    return blake2b(bytes(b ^ 0x5C for b in key) + inner)


def noise_hkdf(chaining_key, ikm, outputs):
    temp_key = hmac_blake2b(chaining_key, ikm)
    out1 = hmac_blake2b(temp_key, b"\x01")
    out2 = hmac_blake2b(temp_key, out1 + b"\x02")
    if outputs == 2:
        return out1, out2
    out3 = hmac_blake2b(temp_key, out2 + b"\x03")
    return out1, out2, out3


def x25519_public(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def x25519(private, public):
    return X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(public))


def chachapoly_nonce(n):
    return b"\x00" * 4 + struct.pack("<Q", n)  # Noise 12.3: 32 zero bits || little-endian n


def aesgcm_nonce(n):
    return b"\x00" * 4 + struct.pack(">Q", n)  # Noise 12.4: 32 zero bits || big-endian n


class CipherState:
    def __init__(self):
        self.k = None
        self.n = 0

    def initialize_key(self, k):
        self.k = k
        self.n = 0

    def encrypt_with_ad(self, ad, plaintext):
        if self.k is None:
            return plaintext
        out = ChaCha20Poly1305(self.k).encrypt(chachapoly_nonce(self.n), plaintext, ad)
        self.n += 1
        return out

    def decrypt_with_ad(self, ad, ciphertext):
        if self.k is None:
            return ciphertext
        out = ChaCha20Poly1305(self.k).decrypt(chachapoly_nonce(self.n), ciphertext, ad)
        self.n += 1
        return out


class SymmetricState:
    def __init__(self, protocol_name):
        # Section 5.2: a name no longer than HASHLEN is zero-padded, not hashed.
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name.ljust(HASHLEN, b"\x00")
        else:
            self.h = blake2b(protocol_name)
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, ikm):
        self.ck, temp_k = noise_hkdf(self.ck, ikm, 2)
        self.cipher.initialize_key(temp_k[:32])

    def mix_hash(self, data):
        self.h = blake2b(self.h + data)

    def mix_key_and_hash(self, ikm):
        self.ck, temp_h, temp_k = noise_hkdf(self.ck, ikm, 3)
        self.mix_hash(temp_h)
        self.cipher.initialize_key(temp_k[:32])

    def encrypt_and_hash(self, plaintext):
        ciphertext = self.cipher.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext):
        plaintext = self.cipher.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self):
        temp_k1, temp_k2 = noise_hkdf(self.ck, b"", 2)
        return temp_k1[:32], temp_k2[:32]


PROTOCOL_NAME = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
# IKpsk2: the responder's static key is a pre-message; psk2 puts "psk" at the end of message 2.
IK_PSK2_MESSAGES = [["e", "es", "s", "ss"], ["e", "ee", "se", "psk"]]


class HandshakeState:
    """Section 5.3, specialised to IKpsk2. Keys are raw 32-byte X25519 private/public keys."""

    def __init__(self, initiator, prologue, s, e, rs=None, psk=None):
        self.initiator = initiator
        self.sym = SymmetricState(PROTOCOL_NAME)
        self.s = s
        self.e = e
        self.rs = rs
        self.re = None
        self.psk = psk
        self.message = 0
        self.sym.mix_hash(prologue)
        # Pre-message "<- s": the responder's static public key.
        self.sym.mix_hash(rs if initiator else x25519_public(s))

    def _dh_token(self, token):
        # "es": initiator's e with responder's s, and so on; each side uses its own private half.
        first, second = token
        mine_first = self.initiator
        if first == second:
            private = self.e if first == "e" else self.s
            public = self.re if first == "e" else self.rs
        elif mine_first:
            private = self.e if first == "e" else self.s
            public = self.re if second == "e" else self.rs
        else:
            private = self.e if second == "e" else self.s
            public = self.re if first == "e" else self.rs
        self.sym.mix_key(x25519(private, public))

    def write_message(self, payload):
        out = b""
        for token in IK_PSK2_MESSAGES[self.message]:
            if token == "e":
                e_public = x25519_public(self.e)
                out += e_public
                self.sym.mix_hash(e_public)
                if self.psk is not None:
                    self.sym.mix_key(e_public)  # section 9.2
            elif token == "s":
                out += self.sym.encrypt_and_hash(x25519_public(self.s))
            elif token == "psk":
                self.sym.mix_key_and_hash(self.psk)
            else:
                self._dh_token(token)
        out += self.sym.encrypt_and_hash(payload)
        self.message += 1
        return out

    def read_message(self, message):
        for token in IK_PSK2_MESSAGES[self.message]:
            if token == "e":
                self.re, message = message[:DHLEN], message[DHLEN:]
                self.sym.mix_hash(self.re)
                if self.psk is not None:
                    self.sym.mix_key(self.re)
            elif token == "s":
                size = DHLEN + (TAGLEN if self.sym.cipher.k is not None else 0)
                self.rs = self.sym.decrypt_and_hash(message[:size])
                message = message[size:]
            elif token == "psk":
                self.sym.mix_key_and_hash(self.psk)
            else:
                self._dh_token(token)
        payload = self.sym.decrypt_and_hash(message)
        self.message += 1
        return payload


# ---------------------------------------------------------------------------------------------
# XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): HChaCha20 subkey, then the IETF AEAD with the
# nonce 0^4 || the last 8 bytes of the 24-byte nonce.

def _rotl32(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter_round(x, a, b, c, d):
    x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = _rotl32(x[d] ^ x[a], 16)
    x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = _rotl32(x[b] ^ x[c], 12)
    x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = _rotl32(x[d] ^ x[a], 8)
    x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = _rotl32(x[b] ^ x[c], 7)


def hchacha20(key, nonce16):
    state = list(struct.unpack("<4I", b"expand 32-byte k") + struct.unpack("<8I", key)
                 + struct.unpack("<4I", nonce16))
    for _ in range(10):
        _quarter_round(state, 0, 4, 8, 12)
        _quarter_round(state, 1, 5, 9, 13)
        _quarter_round(state, 2, 6, 10, 14)
        _quarter_round(state, 3, 7, 11, 15)
        _quarter_round(state, 0, 5, 10, 15)
        _quarter_round(state, 1, 6, 11, 12)
        _quarter_round(state, 2, 7, 8, 13)
        _quarter_round(state, 3, 4, 9, 14)
    return struct.pack("<8I", *(state[0:4] + state[12:16]))


def xchacha20poly1305_encrypt(key, nonce24, plaintext, ad):
    subkey = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(subkey).encrypt(b"\x00" * 4 + nonce24[16:], plaintext, ad)


# ---------------------------------------------------------------------------------------------
# vswitch protocol v2 framing (docs/protocol.md).

VERSION = 2
INITIATION, RESPONSE, COOKIE_REPLY, DATA, CONTROL = 1, 2, 3, 4, 5
PROLOGUE = b"vswitch protocol 2"
MAC_SIZE = 16


def mac1_key(receiver_public):
    return blake2b(b"mac1----" + receiver_public, digest_size=32)


def cookie_key(server_public):
    return blake2b(b"cookie--" + server_public, digest_size=32)


def add_macs(body, receiver_public, cookie):
    """body: the message up to mac1. mac1 always; mac2 with a cookie, else zeros."""
    mac1 = blake2b(body, digest_size=MAC_SIZE, key=mac1_key(receiver_public))
    mac2 = blake2b(body + mac1, digest_size=MAC_SIZE, key=cookie) if cookie else bytes(MAC_SIZE)
    return body + mac1 + mac2


def initiation_payload(timestamp, network, suites, mtu):
    return timestamp + struct.pack(">QBBH", network, suites, 0, mtu)


def response_payload(suite, mtu):
    return struct.pack(">BBH", suite, 0, mtu)


def cookie_of(secret, ipv4, port):
    return blake2b(bytes(int(part) for part in ipv4.split(".")) + struct.pack(">H", port),
                   digest_size=16, key=secret)


def data_message(msg_type, receiver, counter, payload, seal):
    header = struct.pack(">BBHIQ", VERSION, msg_type, 16 + len(payload) + 16, receiver, counter)
    return header + seal(counter, payload, header)


def chachapoly_seal(key):
    return lambda n, pt, ad: ChaCha20Poly1305(key).encrypt(chachapoly_nonce(n), pt, ad)


def aesgcm_seal(key):
    return lambda n, pt, ad: AESGCM(key).encrypt(aesgcm_nonce(n), pt, ad)


# ---------------------------------------------------------------------------------------------
# Self-checks against published vectors.

def self_check():
    h = bytes.fromhex
    assert hchacha20(bytes(range(32)), h("000000090000004a0000000031415927")) == h(
        "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"), "HChaCha20"
    sunscreen = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
                 b"future, sunscreen would be it.")
    sealed = xchacha20poly1305_encrypt(bytes(range(0x80, 0xA0)), bytes(range(0x40, 0x58)), sunscreen,
                                       h("50515253c0c1c2c3c4c5c6c7"))
    assert sealed[:16] == h("bd6d179d3e83d43b9576579493c0e939"), "XChaCha20-Poly1305 ciphertext"
    assert sealed[-16:] == h("c0875924c1c7987947deafd8780acf49"), "XChaCha20-Poly1305 tag"

    # cacophony, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b (messages 1 and 2, handshake hash, and the
    # first transport message each way).
    prologue = h("4a6f686e2047616c74")
    psk = h("54686973206973206d7920417573747269616e20706572737065637469766521")
    i_s = h("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1")
    i_e = h("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a")
    r_s = h("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893")
    r_e = h("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b")
    initiator = HandshakeState(True, prologue, i_s, i_e, rs=x25519_public(r_s), psk=psk)
    responder = HandshakeState(False, prologue, r_s, r_e, psk=psk)
    m1 = initiator.write_message(h("4c756477696720766f6e204d69736573"))
    assert m1 == h("ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944b6fe0240b839afac809de1630eaf99d8"
                   "f9b941394f0512c0554633bbb021d15176135c0a20e7fdb9a9ed066f22f054b47625b1d5061cb27d6a17f053273db7c2"
                   "5216a5addc506ee321bc0618feb5849d"), "cacophony message 1"
    assert responder.read_message(m1) == h("4c756477696720766f6e204d69736573")
    m2 = responder.write_message(h("4d757272617920526f746862617264"))
    assert m2 == h("95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088438f627e69fc120006f746b9d420bf4056"
                   "cf8481ab32d9e904ffaeeaa56a5290"), "cacophony message 2"
    assert initiator.read_message(m2) == h("4d757272617920526f746862617264")
    assert initiator.sym.h == h("ed837c9084f2f0333a7ec60b9bcacd9921394858de8ced118b5966d1147ba390"
                                "084dab42326c565a309c29317a6079be30aa1d790d25a517b43287426cb1d36a"), "cacophony hash"
    i_to_r, r_to_i = initiator.sym.split()
    assert chachapoly_seal(i_to_r)(0, h("462e20412e20486179656b"), b"") == h(
        "07fc0034398a5f1010322be193d62f94bebf2948a20b3e15d681fe"), "cacophony transport 1"
    assert chachapoly_seal(r_to_i)(0, h("4361726c204d656e676572"), b"") == h(
        "2ea5400f5b8a16971c8b67bde75aeb7987d454b1c0beeb2566932d"), "cacophony transport 2"


# ---------------------------------------------------------------------------------------------
# The golden messages.

CLIENT_STATIC = bytes(range(0x01, 0x21))
SERVER_STATIC = bytes(range(0x21, 0x41))
CLIENT_EPHEMERAL = bytes(range(0x41, 0x61))
SERVER_EPHEMERAL = bytes(range(0x61, 0x81))
PSK = bytes(32)
TIMESTAMP = bytes.fromhex("400000006955b9001d000000")
CLIENT_INDEX = 0x1A2B3C4D
SERVER_INDEX = 0x5E6F7081
NETWORK = 1234
SUITES = 0x06
MTU_ASKED = 1420
SUITE_CHOSEN = 1
MTU_GRANTED = 1400
COOKIE_SECRET = bytes(range(0x81, 0xA1))
COOKIE_NONCE = bytes(range(0xB0, 0xC8))
SOURCE = ("198.18.0.11", 4000)
FRAME = bytes.fromhex("020000000002" "020000000001" "88b5") + bytes(range(46))
PING_SEQUENCE = 7


def golden():
    client_public = x25519_public(CLIENT_STATIC)
    server_public = x25519_public(SERVER_STATIC)

    client = HandshakeState(True, PROLOGUE, CLIENT_STATIC, CLIENT_EPHEMERAL, rs=server_public, psk=PSK)
    noise1 = client.write_message(initiation_payload(TIMESTAMP, NETWORK, SUITES, MTU_ASKED))
    body = struct.pack(">BBBBI", VERSION, INITIATION, 0, 0, CLIENT_INDEX) + noise1
    initiation = add_macs(body, server_public, None)
    mac1 = initiation[128:144]

    cookie = cookie_of(COOKIE_SECRET, *SOURCE)
    cookie_reply = (struct.pack(">BBBBI", VERSION, COOKIE_REPLY, 0, 0, CLIENT_INDEX) + COOKIE_NONCE
                    + xchacha20poly1305_encrypt(cookie_key(server_public), COOKIE_NONCE, cookie, mac1))
    # The same attempt re-made by a client that holds the cookie: same Noise bytes, same mac1.
    initiation_with_cookie = add_macs(body, server_public, cookie)

    server = HandshakeState(False, PROLOGUE, SERVER_STATIC, SERVER_EPHEMERAL, psk=PSK)
    assert server.read_message(noise1) == initiation_payload(TIMESTAMP, NETWORK, SUITES, MTU_ASKED)
    assert server.rs == client_public
    noise2 = server.write_message(response_payload(SUITE_CHOSEN, MTU_GRANTED))
    response = add_macs(struct.pack(">BBBBII", VERSION, RESPONSE, 0, 0, SERVER_INDEX, CLIENT_INDEX) + noise2,
                        client_public, None)
    assert client.read_message(noise2) == response_payload(SUITE_CHOSEN, MTU_GRANTED)
    client_to_server, server_to_client = client.sym.split()
    assert (client_to_server, server_to_client) == server.sym.split()

    ping = struct.pack(">BBBBQ", 1, 0, 0, 0, PING_SEQUENCE)
    out = [
        ("kClientStaticPublic", client_public),
        ("kServerStaticPublic", server_public),
        ("kInitiation", initiation),
        ("kInitiationWithCookie", initiation_with_cookie),
        ("kCookieReply", cookie_reply),
        ("kResponse", response),
        ("kClientToServerKey", client_to_server),
        ("kServerToClientKey", server_to_client),
        ("kDataChaCha", data_message(DATA, SERVER_INDEX, 0, FRAME, chachapoly_seal(client_to_server))),
        ("kDataAesGcm", data_message(DATA, SERVER_INDEX, 0, FRAME, aesgcm_seal(client_to_server))),
        ("kKeepalive", data_message(DATA, CLIENT_INDEX, 0, b"", chachapoly_seal(server_to_client))),
        ("kPing", data_message(CONTROL, CLIENT_INDEX, 1, ping, chachapoly_seal(server_to_client))),
    ]
    sizes = {"kInitiation": 160, "kInitiationWithCookie": 160, "kCookieReply": 64, "kResponse": 96,
             "kDataChaCha": 92, "kDataAesGcm": 92, "kKeepalive": 32, "kPing": 44}
    for name, value in out:
        assert len(value) == sizes.get(name, 32), name
    return out


def print_cpp(constants):
    print("// Generated by tests/unit/golden/v2_golden.py; do not edit by hand.")
    for name, value in constants:
        text = value.hex()
        if len(text) <= 64:
            print(f'constexpr const char* {name} = "{text}";')
            continue
        print(f"constexpr const char* {name} =")
        lines = [text[i:i + 96] for i in range(0, len(text), 96)]
        for i, line in enumerate(lines):
            print(f'    "{line}"' + (";" if i == len(lines) - 1 else ""))


if __name__ == "__main__":
    self_check()
    print_cpp(golden())
