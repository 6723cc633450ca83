#!/usr/bin/env python3
"""Sends malformed datagrams to a vswitch, one kind per call (tests only).

Usage: send_udp.py HOST PORT KIND COUNT [VERSION]
KIND: random | truncated | bad_version | bad_flags | bad_length | oversize | unknown_session
VERSION: 1 (the insecure protocol's framing, default) or 2 (the secure protocol's).
"""
import os
import socket
import struct
import sys

host, port, kind, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
version = int(sys.argv[5]) if len(sys.argv) > 5 else 1
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
frame = bytes.fromhex("ffffffffffff020000000099") + b"\x08\x00" + b"\x00" * 46


def data(index, counter, body, length=None):
    """A DATA message: v1 flags/reserved, or v2's length field, then index and counter."""
    if version == 1:
        return struct.pack("!BBBBIQ", 1, 4, 0, 0, index, counter) + body
    size = 16 + len(body) + 16
    return struct.pack("!BBHIQ", 2, 4, size if length is None else length, index, counter) + body + os.urandom(16)


for i in range(count):
    if kind == "random":
        msg = os.urandom(1 + (i * 37) % 200)
    elif kind == "truncated":
        msg = data(1, i, b"")[: 1 + i % 11]
    elif kind == "bad_version":
        msg = struct.pack("!BBBBIQ", 9, 4, 0, 0, 1, i) + frame
    elif kind == "bad_flags":  # v1 only: v2 has a length where v1 has flags
        msg = struct.pack("!BBBBIQ", 1, 4, 0x80, 0, 1, i) + frame
    elif kind == "bad_length":  # v2 only: the length field disagrees with the datagram
        msg = data(1, i, frame, length=1000)
    elif kind == "oversize":
        msg = data(1, i, frame + b"\x00" * 9100)
    elif kind == "unknown_session":
        msg = data(0xDEAD0000 + i, i, frame)
    else:
        sys.exit("unknown kind " + kind)
    sock.sendto(msg, (host, port))
