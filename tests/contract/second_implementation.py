"""A second implementation of the e-licence, written from docs/credential.md alone.

Mints issuer keys, a trust list, credentials, status lists and presentations with cbor2 and
cryptography (no code of ours), then asks our verifier (`licence verify`) about each: the
genuine presentation must be valid, and each forgery refused with the verdict the document
gives for it. Run by `cargo xtask test contract`:

    python second_implementation.py path/to/licence
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zlib

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

LICENCE = sys.argv[1]
# 2026-11-24 10:00:00 +08:00
NOW = 1_795_485_600
NOW_TEXT = "2026-11-24T10:00:00+08:00"
DAY = 86_400
# The order of P-256's group, for low-S signatures.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def dumps(value):
    """Deterministic CBOR (the document's one encoding)."""
    return cbor2.dumps(value, canonical=True)


def head(major, argument):
    """A CBOR head in its shortest form."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | info]) + argument.to_bytes(width, "big")
    raise ValueError(argument)


def raw_map(entries):
    """A map with its entries exactly in the order given (a forger's encoder)."""
    return head(5, len(entries)) + b"".join(dumps(k) + dumps(v) for k, v in entries)


def base45(data):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [alphabet[n % 45], alphabet[n // 45 % 45], alphabet[n // 2025]]
    if len(data) % 2:
        n = data[-1]
        out += [alphabet[n % 45], alphabet[n // 45]]
    return "".join(out)


def deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def es256(key, message, high_s=False):
    """ECDSA P-256 over SHA-256(message), r || s, low S unless asked otherwise."""
    r, s = utils.decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    if s > N // 2:
        s = N - s
    if high_s:
        s = N - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def compressed(key):
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )


def cose_sign1(payload, kid, key, high_s=False):
    protected = dumps({1: -7, 4: kid.encode()})
    to_be_signed = dumps(["Signature1", protected, b"", payload])
    return dumps([protected, {}, payload, es256(key, to_be_signed, high_s)])


def id_number(seventeen):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(seventeen, weights))
    return seventeen + "10X98765432"[total % 11]


def credential_entries(device_key, points=0, not_before=NOW - DAY, not_after=NOW + 30 * DAY):
    return [
        (1, id_number("11010519900307123")),
        (2, "张伟"),
        (3, "中国"),
        (4, "北京市朝阳区建国路88号"),
        (5, "2012-06-18"),
        (6, "C1"),
        (7, "2018-06-18至2028-06-18"),
        (8, points),
        (9, "A"),
        (10, "北京市公安局公安交通管理局"),
        (11, "110100123456"),
        (12, bytes(range(200))),
        (13, compressed(device_key)),
        (14, not_before),
        (15, not_after),
        (16, 41),
    ]


def presentation(credential, device_key, at=NOW, high_s=False):
    digest = hashlib.sha256(
        b"licence-presentation-v1"
        + len(credential).to_bytes(8, "big")
        + credential
        + at.to_bytes(8, "big", signed=True)
    ).digest()
    return dumps([1, credential, at, es256(device_key, digest, high_s)])


def qr_text(presentation_cbor):
    return "DL1:" + base45(deflate(presentation_cbor))


def status_list(kid, key, standing_at_41, codes, issued_at=NOW - 60):
    bits = bytearray(16)  # 64 entries, two bits each, LSB first
    bits[41 // 4] |= standing_at_41 << (41 % 4 * 2)
    payload = dumps({1: issued_at, 2: DAY, 3: deflate(bytes(bits)), 4: codes})
    return cose_sign1(payload, kid, key)


class World:
    def __init__(self, folder):
        self.folder = folder
        self.issuer = ec.generate_private_key(ec.SECP256R1())
        self.other = ec.generate_private_key(ec.SECP256R1())
        self.retired = ec.generate_private_key(ec.SECP256R1())
        self.device = ec.generate_private_key(ec.SECP256R1())
        self.root = ec.generate_private_key(ec.SECP256R1())
        entry = lambda kid, key, start, end: {
            "kid": kid,
            "authority": "北京市公安局公安交通管理局",
            "public_key": compressed(key),
            "valid_from": start,
            "valid_until": end,
        }
        trust = {
            "issuers": [
                entry("py-1", self.issuer, NOW - 365 * DAY, NOW + 365 * DAY),
                entry("py-2", self.other, NOW - 365 * DAY, NOW + 365 * DAY),
                # 2020-01-01 … 2021-01-01 (+08:00)
                entry("py-2020", self.retired, 1_577_808_000, 1_609_430_400),
            ],
            "sequence": 1,
            "issued_at": NOW - DAY,
        }
        # Signed by the trust root, whose public key the verifier is given as a text file.
        self.trust_payload = dumps(trust)
        self.trust = self.write("trust.cose", cose_sign1(self.trust_payload, "py-root", self.root))
        self.root_pub = self.write(
            "root.pub",
            f"kid = py-root\nroot_public_key = {compressed(self.root).hex()}\n".encode(),
        )
        self.normal = self.write("normal.cose", status_list("py-1", self.issuer, 0, {}))
        self.others_normal = self.write("other.cose", status_list("py-2", self.other, 0, {}))

    def write(self, name, data):
        path = os.path.join(self.folder, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def run(self, text, status, trust=None):
        return subprocess.run(
            [LICENCE, "verify", "-", "--trust", trust or self.trust, "--root", self.root_pub,
             "--status", status, "--now", NOW_TEXT, "--json"],
            input=text.encode(), capture_output=True, timeout=60,
        )

    def verify(self, text, status):
        run = self.run(text, status)
        if run.returncode not in (0, 1):
            raise AssertionError(f"licence verify exited {run.returncode}: {run.stderr.decode()}")
        report = json.loads(run.stdout)
        assert (run.returncode == 0) == report["valid"], report
        return report


def main():
    with tempfile.TemporaryDirectory() as folder:
        w = World(folder)
        genuine_payload = dumps(dict(credential_entries(w.device)))
        genuine_credential = cose_sign1(genuine_payload, "py-1", w.issuer)
        genuine = presentation(genuine_credential, w.device)

        cases = []

        def case(name, text, status, verdict):
            cases.append((name, text, status, verdict))

        case("genuine", qr_text(genuine), w.normal, "valid")

        # A second name right after the first, signed by the issuer: decoders would disagree.
        entries = credential_entries(w.device)
        duplicated = entries[:2] + [(2, "李四")] + entries[2:]
        forged = cose_sign1(raw_map(duplicated), "py-1", w.issuer)
        case("duplicate key", qr_text(presentation(forged, w.device)), w.normal,
             "non_canonical_encoding (duplicate_key)")

        # The presentation as an indefinite-length array, and with a byte after it.
        case("indefinite length", qr_text(b"\x9f" + genuine[1:] + b"\xff"), w.normal,
             "non_canonical_encoding (indefinite_length)")
        case("trailing bytes", qr_text(genuine + b"\x00"), w.normal,
             "non_canonical_encoding (trailing_bytes)")

        # The device's signature in its high-S form.
        case("high S", qr_text(presentation(genuine_credential, w.device, high_s=True)),
             w.normal, "non_canonical_signature")

        # Another phone's key.
        thief = ec.generate_private_key(ec.SECP256R1())
        case("copied", qr_text(presentation(genuine_credential, thief)), w.normal,
             "bad_device_signature")

        # The name changed after signing.
        tampered = genuine_credential.replace("张伟".encode(), "张三".encode())
        case("tampered", qr_text(presentation(tampered, w.device)), w.normal,
             "bad_issuer_signature")

        # Only the other issuer's list, which says normal at the same index.
        case("another issuer's list", qr_text(genuine), w.others_normal, "status_unknown")

        # A retired key signs for ten years.
        retired = cose_sign1(
            dumps(dict(credential_entries(w.device, not_before=1_593_561_600,
                                          not_after=1_593_561_600 + 3653 * DAY))),
            "py-2020", w.retired)
        case("retired key", qr_text(presentation(retired, w.device)), w.normal,
             "issuer_key_out_of_period")

        # 12 points on the credential's own record; the list says normal.
        twelve = cose_sign1(dumps(dict(credential_entries(w.device, points=12))), "py-1",
                            w.issuer)
        case("12 points", qr_text(presentation(twelve, w.device)), w.normal, "status_abnormal")

        # Revoked (吊销) in the issuer's list.
        revoked = w.write("revoked.cose", status_list("py-1", w.issuer, 2, {41: "F"}))
        case("revoked", qr_text(genuine), revoked, "status_invalid")

        failures = []
        # Trust lists the verifier must refuse outright (exit 2): unsigned, or signed by a key
        # that is not the root.
        stranger = ec.generate_private_key(ec.SECP256R1())
        for name, trust in [
            ("unsigned trust list", w.write("unsigned.cbor", w.trust_payload)),
            ("trust list signed by another key",
             w.write("forged.cose", cose_sign1(w.trust_payload, "py-root", stranger))),
        ]:
            run = w.run(qr_text(genuine), w.normal, trust)
            mark = "ok" if run.returncode == 2 else "FAILED"
            print(f"    {mark:6} {name}: exit {run.returncode} (expected 2, refused)")
            if run.returncode != 2:
                failures.append(name)
        for name, text, status, expected in cases:
            report = w.verify(text, status)
            got = report["verdict"] + (f" ({report['detail']})" if report.get("detail") else "")
            mark = "ok" if got == expected else "FAILED"
            print(f"    {mark:6} {name}: {got} (expected {expected})")
            if got != expected:
                failures.append(name)
        if failures:
            sys.exit(f"the second implementation and licence verify disagree: {failures}")
        print(f"    {len(cases)} presentations made from docs/credential.md alone: all as documented")


if __name__ == "__main__":
    main()
