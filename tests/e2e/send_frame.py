#!/usr/bin/env python3
"""Writes one raw Ethernet frame (hex) to an interface through AF_PACKET (tests only).

Usage: send_frame.py IFACE HEXFRAME [COUNT]
"""
import socket
import sys

iface, frame = sys.argv[1], bytes.fromhex(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((iface, 0))
for _ in range(count):
    sock.send(frame)
