#!/usr/bin/env python3
"""Writes seed inputs for offload_fuzz: TAP reads (virtio-net header + frame) of TCP/UDP
super-frames over IPv4/IPv6, tagged and untagged, as the kernel hands them over."""
import os
import struct
import sys


def csum(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def frame(v6, tags, udp, payload):
    l2 = bytes.fromhex("020000000002020000000001")
    for t in range(tags):
        l2 += (b"\x88\xa8" if tags == 2 and t == 0 else b"\x81\x00") + struct.pack("!H", 10 + t)
    proto = 17 if udp else 6
    l4 = (struct.pack("!HHHH", 5000, 5001, 8 + payload, 0) if udp else
          struct.pack("!HHIIBBHHH", 40000, 5201, 1000, 7, 5 << 4, 0x18, 512, 0, 0))
    body = l4 + bytes((i * 7) & 0xFF for i in range(payload))
    if v6:
        src, dst = bytes(15) + b"\x01", bytes(15) + b"\x02"
        ip = struct.pack("!IHBB", 0x60000000, len(body), proto, 64) + src + dst
        l2 += b"\x86\xdd"
    else:
        src, dst = bytes([198, 19, 0, 1]), bytes([198, 19, 0, 2])
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(body), 1, 0x4000, 64, proto, 0) + src + dst
        ip = ip[:10] + struct.pack("!H", 0xFFFF - csum(ip)) + ip[12:]
        l2 += b"\x08\x00"
    pseudo = csum(src + dst, proto + len(body))
    field = 6 if udp else 16
    body = body[:field] + struct.pack("!H", pseudo) + body[field + 2:]
    f = l2 + ip + body
    csum_start = len(l2) + len(ip)
    return f, csum_start, field


def main(out):
    os.makedirs(out, exist_ok=True)
    n = 0
    for v6 in (False, True):
        for tags in (0, 1, 2):
            for udp in (False, True):
                for payload, gso in ((3000, 1348), (100, 0)):
                    f, start, off = frame(v6, tags, udp, payload)
                    gso_type = 0 if gso == 0 else (5 if udp else (4 if v6 else 1))
                    hdr = struct.pack("<BBHHHH", 1, gso_type, 0, gso, start, off)
                    with open(os.path.join(out, f"seed{n:02d}"), "wb") as fh:
                        fh.write(hdr + f)
                    n += 1


if __name__ == "__main__":
    main(sys.argv[1])
