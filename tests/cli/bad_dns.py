#!/usr/bin/env python3
"""A misbehaving DNS server on loopback UDP for cli_test.sh.

    bad_dns.py MODE[,MODE...] PORT_FILE

Binds 127.0.0.1 on a kernel-chosen port, writes the port to PORT_FILE, and answers every query
with one datagram per MODE, in order:
  echo      the query sent back unchanged (QR=0)
  wrongid   a good answer with the ID plus one
  wrongq    a good answer for another question name (wrong-question.invalid.)
  garbage   16 bytes that are no DNS message (ID 0xdead, QR=0)
  malformed the right ID, QR and question, ANCOUNT=1 but no answer bytes (does not parse)
  good      an authoritative answer: one A record 127.0.0.9 (TTL 60), or, for SRV, one SRV record
            1 1 8080 to the name itself with that A record in the additional section
Runs until killed.
"""
import os
import socket
import struct
import sys


def question_end(q):
    i = 12
    while i < len(q) and q[i] != 0:
        i += 1 + q[i]
    return i + 1 + 4  # the root label, QTYPE, QCLASS


def good(q, qid=None, qname_wire=None):
    qid = struct.unpack("!H", q[:2])[0] if qid is None else qid
    end = question_end(q)
    qname = q[12:end - 4] if qname_wire is None else qname_wire
    qtype = struct.unpack("!H", q[end - 4:end - 2])[0]
    flags = 0x8400 | (struct.unpack("!H", q[2:4])[0] & 0x0100)  # QR, AA, RD copied
    a_rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 9])
    if qtype == 33:  # SRV: the target is the owner itself, its A in the additional section
        srv = struct.pack("!HHH", 1, 1, 8080) + b"\xc0\x0c"
        srv_rr = b"\xc0\x0c" + struct.pack("!HHIH", 33, 1, 60, len(srv)) + srv
        head = struct.pack("!HHHHHH", qid, flags, 1, 1, 0, 1)
        return head + qname + q[end - 4:end] + srv_rr + a_rr
    head = struct.pack("!HHHHHH", qid, flags, 1, 1 if qtype == 1 else 0, 0, 0)
    return head + qname + q[end - 4:end] + (a_rr if qtype == 1 else b"")


def reply(mode, q):
    qid = struct.unpack("!H", q[:2])[0]
    if mode == "echo":
        return q
    if mode == "wrongid":
        return good(q, qid=(qid + 1) & 0xFFFF)
    if mode == "wrongq":
        return good(q, qname_wire=b"\x0ewrong-question\x07invalid\x00")
    if mode == "garbage":
        return b"\xde\xad\x00\x00" + b"garbage!garbage!"[:12]
    if mode == "malformed":
        end = question_end(q)
        return struct.pack("!HHHHHH", qid, 0x8400, 1, 1, 0, 0) + q[12:end]
    if mode == "good":
        return good(q)
    raise SystemExit("unknown mode " + mode)


def main():
    modes = sys.argv[1].split(",")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    while True:
        q, peer = s.recvfrom(65535)
        if len(q) < 12:
            continue
        for m in modes:
            s.sendto(reply(m, q), peer)


if __name__ == "__main__":
    main()
