#!/usr/bin/env python3
"""Independent check of Postern's payload cipher and SURB reply format (docs/PROTOCOL.md §2.6, §2.7).

Adiantum (XChaCha12, NH, Poly1305, AES-256) is written here from the Adiantum paper and the notes in
adiantum.json, not from Postern's Swift code; AES-256 comes from the `cryptography` package. The script
first reproduces every vector in adiantum.json, then writes Tests/PacketTests/Golden/surb-reply.json:

  surb      = first hop (51: link key 32 ‖ address type 1 ‖ port u16 BE ‖ address 16)
              ‖ reply key k̃ (32) ‖ header (opaque here: the answerer copies it)
  reply     = header ‖ Adiantum-Encrypt(k̃, tweak = empty, 0¹⁶ ‖ message ‖ 0…)       (the answerer)
  delivered = Adiantum-Encrypt(k_p[n-1], …, Adiantum-Encrypt(k_p[0], reply payload))   (each hop)
  secrets   = SURB id (16) ‖ k̃ (32) ‖ n (1) ‖ k_p[0] ‖ … ‖ k_p[n-1]                   (the creator)

The Swift tests check that SURB.reply produces `reply` byte for byte and SURBSecrets.open recovers the
message from `delivered`. Run: python3 tools/vectors/surb_reply.py (needs `cryptography`).
"""
import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASK32 = 0xFFFFFFFF


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & MASK32


def chacha_rounds(state, double_rounds):
    x = list(state)

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & MASK32; x[d] = rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & MASK32; x[b] = rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & MASK32; x[d] = rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & MASK32; x[b] = rotl(x[b] ^ x[c], 7)

    for _ in range(double_rounds):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return x


CONSTANTS = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]


def hchacha12(key, nonce16):
    state = CONSTANTS + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    x = chacha_rounds(state, 6)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def xchacha12_stream(key, nonce24, length):
    subkey = hchacha12(key, nonce24[:16])
    k = list(struct.unpack("<8I", subkey))
    n = list(struct.unpack("<2I", nonce24[16:24]))
    out = bytearray()
    block = 0
    while len(out) < length:
        state = CONSTANTS + k + [block & MASK32, block >> 32] + n
        x = chacha_rounds(state, 6)
        out += struct.pack("<16I", *[(a + b) & MASK32 for a, b in zip(x, state)])
        block += 1
    return bytes(out[:length])


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


P1305 = (1 << 130) - 5


def poly1305_raw(r_bytes, message):
    r = int.from_bytes(r_bytes, "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    h = 0
    for i in range(0, len(message), 16):
        chunk = message[i:i + 16]
        h = ((h + int.from_bytes(chunk, "little") + (1 << (8 * len(chunk)))) * r) % P1305
    return h


def nh(key, message):
    assert len(message) % 16 == 0 and 16 <= len(message) <= 1024
    m = struct.unpack("<%dI" % (len(message) // 4), message)
    k = struct.unpack("<%dI" % (len(key) // 4), key)
    out = b""
    for p in range(4):
        total = 0
        for i in range(0, len(m), 4):
            total += ((m[i] + k[i + 4 * p]) & MASK32) * ((m[i + 2] + k[i + 2 + 4 * p]) & MASK32)
            total += ((m[i + 1] + k[i + 1 + 4 * p]) & MASK32) * ((m[i + 3] + k[i + 3 + 4 * p]) & MASK32)
        out += struct.pack("<Q", total & 0xFFFFFFFFFFFFFFFF)
    return out


def nhpoly1305(key_m_n, message):
    k_m, k_n = key_m_n[:16], key_m_n[16:]
    if len(message) % 16:
        message = message + bytes(16 - len(message) % 16)
    hashes = b"".join(nh(k_n, message[i:i + 1024]) for i in range(0, len(message), 1024))
    return poly1305_raw(k_m, hashes)


class Adiantum:
    def __init__(self, key):
        self.key = key
        s = xchacha12_stream(key, b"\x01" + bytes(23), 1136)
        self.k_e, self.k_t, self.k_m, self.k_n = s[0:32], s[32:48], s[48:64], s[64:]
        self.subkeys = s

    def hash(self, tweak, left):
        t = poly1305_raw(self.k_t, (8 * len(left)).to_bytes(16, "little") + tweak)
        return (t + nhpoly1305(self.k_m + self.k_n, left)) % (1 << 128)

    def aes(self, block, decrypt=False):
        c = Cipher(algorithms.AES(self.k_e), modes.ECB())
        op = c.decryptor() if decrypt else c.encryptor()
        return op.update(block) + op.finalize()

    def encrypt(self, tweak, p):
        pl, pr = p[:-16], p[-16:]
        pm = ((int.from_bytes(pr, "little") + self.hash(tweak, pl)) % (1 << 128)).to_bytes(16, "little")
        cm = self.aes(pm)
        cl = xor(pl, xchacha12_stream(self.key, cm + b"\x01" + bytes(7), len(pl)))
        cr = ((int.from_bytes(cm, "little") - self.hash(tweak, cl)) % (1 << 128)).to_bytes(16, "little")
        return cl + cr

    def decrypt(self, tweak, c):
        cl, cr = c[:-16], c[-16:]
        cm = ((int.from_bytes(cr, "little") + self.hash(tweak, cl)) % (1 << 128)).to_bytes(16, "little")
        pl = xor(cl, xchacha12_stream(self.key, cm + b"\x01" + bytes(7), len(cl)))
        pm = self.aes(cm, decrypt=True)
        pr = ((int.from_bytes(pm, "little") - self.hash(tweak, pl)) % (1 << 128)).to_bytes(16, "little")
        return pl + pr


def check_reference_vectors():
    path = os.path.join(ROOT, "Tests/CryptoTests/Vectors/adiantum.json")
    v = json.load(open(path))
    h = bytes.fromhex
    for c in v["adiantum"]:
        a = Adiantum(h(c["key"]))
        assert a.encrypt(h(c["tweak"]), h(c["plaintext"])) == h(c["ciphertext"]), c["name"]
        assert a.decrypt(h(c["tweak"]), h(c["ciphertext"])) == h(c["plaintext"]), c["name"]
    for c in v["adiantum_subkeys"]:
        assert Adiantum(h(c["key"])).subkeys == h(c["stream"])
    for c in v["nh"]:
        assert nh(h(c["key"]), h(c["message"])) == h(c["hash"])
    for c in v["nhpoly1305"]:
        assert (nhpoly1305(h(c["key"]), h(c["message"])) % (1 << 128)).to_bytes(16, "little") == h(c["hash"])
    for c in v["xchacha12"]:
        assert xchacha12_stream(h(c["key"]), h(c["nonce"]), 128) == h(c["keystream"])
    print("adiantum.json: %d cipher vectors reproduced" % len(v["adiantum"]))


def shake(label, n):
    return hashlib.shake_256(("postern/surb-reply-vector/" + label).encode()).digest(n)


def main():
    check_reference_vectors()
    # Standard geometry: 5 hops, 2 048-byte payload, header = 4 + 32 + 16 + 5 × 108 = 592 bytes.
    header_bytes, payload_bytes = 592, 2048
    hops = 3
    # Packet format 3: the first hop by link key, IPv4 address 198.51.100.7, port 4242.
    first_hop = shake("first-hop", 32) + bytes([4]) + struct.pack(">H", 4242) + bytes([198, 51, 100, 7]) + bytes(12)
    reply_key, header = shake("reply-key", 32), shake("header", header_bytes)
    hop_keys = [shake("hop-key-%d" % i, 32) for i in range(hops)]
    surb_id = shake("surb-id", 16)
    message = b"delivered: stored (a Postern acknowledgement, or any reply up to 2 032 bytes)"

    payload = bytes(16) + message + bytes(payload_bytes - 16 - len(message))
    reply_payload = Adiantum(reply_key).encrypt(b"", payload)
    delivered = reply_payload
    for k in hop_keys:
        delivered = Adiantum(k).encrypt(b"", delivered)
    # The creator's side, here too: wrapping every layer back off gives the zero prefix and the message.
    opened = delivered
    for k in reversed(hop_keys):
        opened = Adiantum(k).decrypt(b"", opened)
    assert Adiantum(reply_key).decrypt(b"", opened) == payload

    out = {
        "comment": "Generated by tools/vectors/surb_reply.py (an independent Python implementation of "
                   "docs/PROTOCOL.md §2.6–2.7); geometry: maxHops 5, payload 2048.",
        "surb": (first_hop + reply_key + header).hex(),
        "message": message.hex(),
        "reply": (header + reply_payload).hex(),
        "secrets": (surb_id + reply_key + bytes([hops]) + b"".join(hop_keys)).hex(),
        "delivered": delivered.hex(),
    }
    path = os.path.join(ROOT, "Tests/PacketTests/Golden/surb-reply.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    sys.exit(main())
