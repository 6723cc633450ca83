#!/usr/bin/env python3
"""Sends COUNT broadcast frames, each from a different source MAC, out of IFACE at RATE frames a
second (tests only): a member flooding the switch's MAC table. Bounded in count and time.

Usage: mac_flood.py IFACE COUNT RATE [FIRST]
Source MACs are 06:xx:xx:xx:xx:xx (locally administered unicast) numbered from FIRST; the
EtherType 0x88b5 (local experimental) makes every receiving kernel ignore the frames.
Prints the number of frames sent.
"""
import socket
import struct
import sys
import time

iface, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
deadline = time.monotonic() + 120
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((iface, 0))
frame = bytearray(b"\xff" * 6 + b"\x06" + bytes(5) + b"\x88\xb5" + bytes(46))
start = time.monotonic()
sent = 0
for i in range(first, first + count):
    frame[7:12] = struct.pack(">Q", i)[3:]
    try:
        sock.send(frame)
        sent += 1
    except BlockingIOError:
        pass
    if sent % 1000 == 0:
        ahead = sent / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
        if time.monotonic() > deadline:
            break
print(sent)
