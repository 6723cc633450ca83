#!/usr/bin/env python3
"""Listens on a datagram socket as systemd does for Type=notify services (tests only) and
prints each message as '<monotonic seconds> <message with newlines as |>', flushed per line.

Usage: notify_listen.py PATH SECONDS
"""
import socket
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print("listening", flush=True)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        data = sock.recv(4096)
    except socket.timeout:
        continue
    print(f"{time.monotonic():.3f} {data.decode(errors='replace').replace(chr(10), '|')}", flush=True)
