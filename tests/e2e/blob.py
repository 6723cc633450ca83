#!/usr/bin/env python3
"""Test traffic for the offload scenarios; every call is bounded by a timeout.

  blob.py serve ADDR PORT            accept one TCP connection, print sha256 and byte count
  blob.py send ADDR PORT FILE        send FILE over TCP
  blob.py udp-recv ADDR PORT N       receive N datagrams, print their sizes' sum and sha256
  blob.py udp-gso-send ADDR PORT N SIZE
                                     send N datagrams of SIZE bytes as one UDP_SEGMENT
                                     sendmsg (the TAP hands it over as one USO frame)
ADDR may be an IPv6 link-local address with %IFACE.
"""
import hashlib
import socket
import sys

TIMEOUT = 60


def addrinfo(addr, port, kind):
    return socket.getaddrinfo(addr, int(port), 0, kind)[0]


def serve(addr, port):
    fam, _, _, _, sa = addrinfo(addr, port, socket.SOCK_STREAM)
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(TIMEOUT)
        s.bind(sa)
        s.listen(1)
        print("listening", flush=True)
        conn, _ = s.accept()
        conn.settimeout(TIMEOUT)
        h, n = hashlib.sha256(), 0
        while True:
            b = conn.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        print(h.hexdigest(), n)


def send(addr, port, path):
    fam, _, _, _, sa = addrinfo(addr, port, socket.SOCK_STREAM)
    with socket.socket(fam, socket.SOCK_STREAM) as s, open(path, "rb") as f:
        s.settimeout(TIMEOUT)
        s.connect(sa)  # the full sockaddr keeps a link-local scope
        s.sendfile(f)


def udp_recv(addr, port, count):
    fam, _, _, _, sa = addrinfo(addr, port, socket.SOCK_DGRAM)
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.bind(sa)
        print("listening", flush=True)
        h, n, got = hashlib.sha256(), 0, 0
        try:
            while got < int(count):
                b = s.recv(65536)
                h.update(b)
                n += len(b)
                got += 1
        except socket.timeout:
            pass
        print(got, n, h.hexdigest())


def udp_gso_send(addr, port, count, size):
    fam, _, _, _, sa = addrinfo(addr, port, socket.SOCK_DGRAM)
    count, size = int(count), int(size)
    data = bytes((i * 7 + i // size) & 0xFF for i in range(count * size))
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_UDP, 103, size)  # UDP_SEGMENT
        s.sendto(data, sa)
    print(count, len(data), hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "send": send, "udp-recv": udp_recv, "udp-gso-send": udp_gso_send}[cmd](*args)
