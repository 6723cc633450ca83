#!/usr/bin/env python3
"""Reads a pcap file of Ethernet frames (tests only).

  pcap_tool.py count FILE HEX       packets whose bytes contain HEX anywhere
  pcap_tool.py replay FILE HOST PORT  sends every UDP payload (IPv4 over Ethernet) to HOST:PORT
                                      from this host; prints how many
"""
import socket
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        header = f.read(24)
        if len(header) < 24:
            return
        endian = "<" if struct.unpack("<I", header[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            _, _, incl, _ = struct.unpack(endian + "IIII", rec)
            yield f.read(incl)


def udp_payload(frame):
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 17:
        return None
    udp = 14 + ihl
    length = struct.unpack("!H", frame[udp + 4:udp + 6])[0]
    return frame[udp + 8:udp + length]


if sys.argv[1] == "count":
    needle = bytes.fromhex(sys.argv[3])
    print(sum(1 for p in packets(sys.argv[2]) if needle in p))
elif sys.argv[1] == "replay":
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for p in packets(sys.argv[2]):
        payload = udp_payload(p)
        if payload:
            sock.sendto(payload, (sys.argv[3], int(sys.argv[4])))
            sent += 1
    print(sent)
else:
    sys.exit("usage: pcap_tool.py count FILE HEX | replay FILE HOST PORT")
