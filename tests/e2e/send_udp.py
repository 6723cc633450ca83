#!/usr/bin/env python3
"""Sends malformed datagrams to a vswitch, one kind per call (tests only).

Usage: send_udp.py HOST PORT KIND COUNT
KIND: random | truncated | bad_version | bad_flags | oversize | unknown_port
"""
import os
import socket
import struct
import sys

host, port, kind, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
frame = bytes.fromhex("ffffffffffff020000000099") + b"\x08\x00" + b"\x00" * 46
for i in range(count):
    if kind == "random":
        msg = os.urandom(1 + (i * 37) % 200)
    elif kind == "truncated":
        msg = struct.pack("!BBBBI", 1, 4, 0, 0, 1)[: 1 + i % 11]
    elif kind == "bad_version":
        msg = struct.pack("!BBBBIQ", 9, 4, 0, 0, 1, i) + frame
    elif kind == "bad_flags":
        msg = struct.pack("!BBBBIQ", 1, 4, 0x80, 0, 1, i) + frame
    elif kind == "oversize":
        msg = struct.pack("!BBBBIQ", 1, 4, 0, 0, 1, i) + frame + b"\x00" * 9000
    elif kind == "unknown_port":
        msg = struct.pack("!BBBBIQ", 1, 4, 0, 0, 0xDEAD0000 + i, i) + frame
    else:
        sys.exit("unknown kind " + kind)
    sock.sendto(msg, (host, port))
