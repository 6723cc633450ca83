#!/usr/bin/env python3
"""Join attempts from spoofed underlay addresses (tests only): COUNT UDP datagrams to
SERVER:PORT at RATE a second, each from a random address in SOURCE_PREFIX (IPv4, a /8 to /30),
through a raw socket. Bounded in count and in time (60 s).

Usage: join_flood.py SERVER PORT COUNT RATE SOURCE_PREFIX SERVER_PUBLIC_KEY|v1
With the server's public key (base64): protocol v2 initiations whose mac1 is valid (anyone who
knows the key can compute it) and whose Noise part is random, so a server under no load spends
a Diffie-Hellman on each before it fails. With "v1": HELLOs without a token. Prints the number
sent.
"""
import base64
import hashlib
import ipaddress
import os
import random
import socket
import struct
import sys
import time

server, port, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
prefix, key = ipaddress.ip_network(sys.argv[5]), sys.argv[6]
if prefix.prefixlen < 8 or prefix.prefixlen > 30:
    sys.exit("SOURCE_PREFIX must be a /8 to /30")


def initiation(server_public):
    # version 2, type 1 (initiation), flags, reserved, sender index; then the Noise part.
    body = struct.pack(">BBBBI", 2, 1, 0, 0, random.getrandbits(32) | 1) + os.urandom(120)
    mac1_key = hashlib.blake2b(b"mac1----" + server_public, digest_size=32).digest()
    return body + hashlib.blake2b(body, digest_size=16, key=mac1_key).digest() + bytes(16)


def hello():
    # version 1, type 1 (HELLO), flags, reserved, sender index, network 1, MTU 1400, token 0.
    return struct.pack(">BBBBIQH6xQ", 1, 1, 0, 0, random.getrandbits(32) | 1, 1, 1400, 0)


messages = [hello() if key == "v1" else initiation(base64.b64decode(key)) for _ in range(256)]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # we write the IP header
dst = socket.inet_aton(server)
base, span = int(prefix.network_address), prefix.num_addresses - 2
start = time.monotonic()
sent = 0
for i in range(count):
    msg = messages[i % len(messages)]
    src = struct.pack(">I", base + 1 + random.randrange(span))
    udp = struct.pack(">HHHH", random.randrange(1024, 65535), port, 8 + len(msg), 0) + msg
    # The kernel fills in the total length, the ID and the header checksum.
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
    try:
        sock.sendto(ip + udp, (server, 0))
        sent += 1
    except OSError:
        pass
    if sent % 200 == 0:
        ahead = sent / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
        if time.monotonic() - start > 60:
            break
print(sent)
