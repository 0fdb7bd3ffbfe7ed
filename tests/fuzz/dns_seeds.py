#!/usr/bin/env python3
"""dns_seeds.py - write the seed packets of fuzz_dns_bpf into corpus/fuzz_dns_bpf/.

Each seed is the harness's input format (see fuzz_dns_bpf.c): a mode byte, two bytes of
port or TCP length prefix, a TCP flags byte, then the DNS message. Run it again only to
change the seeds: python3 tests/fuzz/dns_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_dns_bpf")

INGRESS, V6, TCP, PREFIX, OPTS = 1, 2, 4, 8, 0x40
QR, RD, RA, TC = 0x8000, 0x0100, 0x0080, 0x0200


def name(dotted):
    out = b""
    for label in dotted.split(".") if dotted else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def hdr(ident, flags, qd, an, ns=0, ar=0):
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def question(dotted, qtype):
    return name(dotted) + struct.pack(">HH", qtype, 1)


def rr(owner, rtype, ttl, rdata):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


PTR_Q = b"\xc0\x0c"  # the question name

seeds = {
    "query-a": (0, hdr(0x1234, RD, 1, 0) + question("example.com", 1)),
    "answer-a": (INGRESS, hdr(0x1234, QR | RD | RA, 1, 2) + question("example.com", 1)
                 + rr(PTR_Q, 1, 300, bytes([93, 184, 216, 34]))
                 + rr(PTR_Q, 1, 60, bytes([93, 184, 216, 35]))),
    "answer-cname-chain": (INGRESS, hdr(7, QR | RD | RA, 1, 3) + question("www.github.com", 1)
                           + rr(PTR_Q, 5, 3600, name("github.com"))
                           + rr(b"\xc0\x2c", 1, 60, bytes([140, 82, 112, 3]))
                           + rr(b"\xc0\x2c", 28, 60, bytes(15) + b"\x01")),
    "answer-aaaa-v6": (INGRESS | V6, hdr(9, QR | RA, 1, 1) + question("v6.test", 28)
                       + rr(PTR_Q, 28, 30, bytes([0x20, 0x01, 0x0d, 0xb8]) + bytes(11) + b"\x01")),
    "answer-nxdomain": (INGRESS, hdr(3, QR | RA | 3, 1, 0) + question("nope.test", 1)),
    "answer-ptr-loop": (INGRESS, hdr(4, QR, 1, 1) + question("loop.test", 1)
                        + rr(b"\xc0\x1b", 1, 1, bytes(4))),
    "answer-tc-v4-options": (INGRESS | OPTS, hdr(5, QR | TC, 1, 0) + question("big.test", 16)),
    "query-tcp": (TCP, hdr(6, RD, 1, 0) + question("tcp.test", 1)),
    "answer-tcp-v6-hopopts": (INGRESS | TCP | V6 | OPTS, hdr(6, QR, 1, 1) + question("tcp.test", 1)
                              + rr(PTR_Q, 1, 5, bytes([10, 0, 0, 9]))),
}

os.makedirs(OUT, exist_ok=True)
for label, (mode, msg) in seeds.items():
    flags = 0x18 if mode & TCP else 0  # PSH|ACK
    with open(os.path.join(OUT, label), "wb") as f:
        f.write(bytes([mode, 0, 53, flags]) + msg)
# Raw frame after Ethernet: an IPv4 header claiming more than there is.
with open(os.path.join(OUT, "raw-short-ipv4"), "wb") as f:
    f.write(bytes([0x80, 0x45, 0, 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
                   0x9c, 0x40, 0, 53, 0, 20, 0, 0]))
