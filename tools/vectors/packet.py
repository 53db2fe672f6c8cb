#!/usr/bin/env python3
"""Independent check of Postern's packet format 3 (docs/PROTOCOL.md §2.1–2.5): builds packets from the
spec alone and writes Tests/PacketTests/Golden/packet-v3.json.

X25519, ChaCha20 and Poly1305 come from the `cryptography` package, BLAKE2b from hashlib, Adiantum from
surb_reply.py (which first reproduces the reference vectors). Every random choice of the sender (each
hop's ephemeral secret x_i, the last slot's padding) is written into the vector, so the Swift tests feed
the same choices to PacketBuilder, compare the packet byte for byte, and unwrap it hop by hop with
PacketProcessor. Run: python3 tools/vectors/packet.py (needs `cryptography`).
"""
import hashlib
import ipaddress
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.poly1305 import Poly1305
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from surb_reply import Adiantum, check_reference_vectors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
R, P, SLOT = 5, 2048, 108                     # standard geometry
BETA = R * SLOT                               # 540
LABEL = b"postern/packet/v3"


def shake(label, n):
    return hashlib.shake_256(("postern/packet-vector/" + label).encode()).digest(n)


def public(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def hop_stream(secret, peer_public, alpha, length):
    """K = BLAKE2b-256(s ‖ label ‖ α); the hop's ChaCha20 stream (nonce "postern-hop\\0", counter 0)."""
    s = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(peer_public))
    k = hashlib.blake2b(s + LABEL + alpha, digest_size=32).digest()
    nonce = struct.pack("<I", 0) + b"postern-hop\0"
    return Cipher(algorithms.ChaCha20(k, nonce), mode=None).encryptor().update(bytes(length))


def mac(key, data):
    p = Poly1305(key)
    p.update(data)
    return p.finalize()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def next_hop(link):
    """link = (link key, "ip" or None, port): address type ‖ port BE, and the 16 address bytes."""
    key, ip, port = link
    if ip is None:
        return key, 0, 0, bytes(16)
    a = ipaddress.ip_address(ip)
    return key, a.version, port, a.packed + bytes(16 - len(a.packed))


def forward_slot(link, delay, epoch, alpha, gamma):
    key, kind, port, addr = next_hop(link)
    return (bytes([1, kind]) + struct.pack(">H", port) + struct.pack("<I", delay) + key + addr
            + struct.pack("<I", epoch) + alpha + gamma)


def final_slot(destination):
    if destination[0] == "deliver":
        return bytes([2, 0, 0, 0, 0, 0, 0, 0]) + destination[1] + bytes(16) + bytes(52)
    return bytes([3, 0, 0, 0, 0, 0, 0, 0]) + destination[1] + destination[2] + bytes(52)


def build(hops, destination, message, epoch):
    """hops: dicts with node public key, ephemeral secret x, link, delay. §2.5, step by step."""
    n = len(hops)
    alphas = [public(h["x"]) for h in hops]
    streams = [hop_stream(h["x"], h["node_public"], alphas[i], 80 + BETA + SLOT) for i, h in enumerate(hops)]
    k_mac = [s[0:32] for s in streams]
    k_p = [s[48:80] for s in streams]
    mask = [s[80:] for s in streams]          # BETA + SLOT bytes each

    # Filler φ: φ_i = (φ_{i−1} ‖ 0^108) XOR mask_i[R·108 − (i−1)·108 ..< R·108 + 108], i = 1 … n−1.
    phi = b""
    for i in range(1, n):
        phi = xor(phi + bytes(SLOT), mask[i - 1][BETA - (i - 1) * SLOT: BETA + SLOT])

    # β_n = ((slot_n ‖ padding) XOR mask_n)[first R·108 − (n−1)·108 bytes] ‖ φ_{n−1}.
    open_bytes = BETA - (n - 1) * SLOT
    padding = shake("padding-%d" % n, open_bytes - SLOT)
    beta = xor(final_slot(destination) + padding, mask[n - 1][:open_bytes]) + phi
    gamma = mac(k_mac[n - 1], beta)
    for i in range(n - 2, -1, -1):
        nxt = hops[i + 1]
        slot = forward_slot(nxt["link"], hops[i]["delay"], epoch, alphas[i + 1], gamma)
        beta = xor(slot + beta[:BETA - SLOT], mask[i][:BETA])
        gamma = mac(k_mac[i], beta)
    header = struct.pack("<I", epoch) + alphas[0] + gamma + beta

    payload = bytes(16) + message + bytes(P - 16 - len(message))
    for i in range(n - 1, -1, -1):
        payload = Adiantum(k_p[i]).decrypt(b"", payload)
    return header + payload, padding


def main():
    check_reference_vectors()
    epoch = 7
    links = [
        ("192.0.2.1", 7000),
        (None, 0),
        ("2001:db8::3", 443),
        ("198.51.100.4", 65535),
        ("::ffff:192.0.2.5", 9),
    ]
    cases = []
    for name, n, destination, message in [
        ("deliver-5hop", 5, ("deliver", shake("mailbox", 32)), b"five hops, every address type"),
        ("reply-3hop", 3, ("reply", shake("reply-mailbox", 32), shake("surb-id", 16)), b"a reply"),
    ]:
        hops = []
        for i in range(n):
            node_secret = shake("node-%d" % i, 32)
            hops.append({
                "node_secret": node_secret, "node_public": public(node_secret),
                "x": shake("%s-x-%d" % (name, i), 32),
                "link": (shake("link-key-%d" % i, 32),) + links[i],
                "delay": 1000 * (i + 1),
            })
        packet, padding = build(hops, destination, message, epoch)
        cases.append({
            "name": name,
            "epoch": epoch,
            "hops": [{"node_secret": h["node_secret"].hex(), "ephemeral_secret": h["x"].hex(),
                      "link_key": h["link"][0].hex(), "ip": h["link"][1], "port": h["link"][2],
                      "delay_us": h["delay"]} for h in hops],
            "padding": padding.hex(),
            "destination": destination[0],
            "mailbox": destination[1].hex(),
            "surb_id": destination[2].hex() if len(destination) > 2 else None,
            "message": message.hex(),
            "packet": packet.hex(),
        })
    out = {"comment": "Generated by tools/vectors/packet.py, an independent Python implementation of "
                      "docs/PROTOCOL.md §2 (packet format 3); geometry: maxHops 5, payload 2048.",
           "cases": cases}
    path = os.path.join(ROOT, "Tests/PacketTests/Golden/packet-v3.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    sys.exit(main())
