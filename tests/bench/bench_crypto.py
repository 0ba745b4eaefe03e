"""Benchmark: ECDSA verify and sign throughput on one core, ours against the raw libraries.

Run by hand: ``.venv/bin/python tests/bench/bench_crypto.py [--seconds S]``. The process
is pinned to one CPU. Within each group the contenders are measured *interleaved*: every
repeat times each contender for about ``S`` seconds (default 0.3) in turn, over 7
repeats, and each contender's best repeat is reported. On a shared machine this keeps
the ratios fair even when absolute numbers move. Messages are 200 bytes (about an
unsigned commit); one key per curve, as when checking a stream of commits from one repo.

Groups, all in the same run:

- K-256 verify: ours (``PublicKey.verify``: length/range checks + SHA-256 + libsecp256k1
  on the cached parsed key); ``verify_signature(did_key, ...)`` (did:key parse memoised);
  ours with a fresh ``PublicKey`` per verify (worst case, no key cache); raw coincurve
  (``coincurve.PublicKey.verify`` over DER, its public API); raw ``cryptography`` on
  secp256k1 (OpenSSL, DER).
- K-256 sign: ours (compact low-S), coincurve (DER), cryptography (DER, may be high-S).
- P-256 verify and sign: ours against raw ``cryptography`` (signing: with deterministic
  RFC 6979 nonces, as we sign, and with random nonces, its default).
- MarshalX ``atproto`` (``atproto_crypto.verify.verify_signature``) if installed; it is
  never a dependency, and is skipped with a message when missing.

Ratios are ours / peer (above 1 means we are faster). The issue's target is at least
20,000 K-256 verifies/s on one core.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable

import coincurve
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from lexforge.runtime.crypto import K256Keypair, P256Keypair, PublicKey, verify_signature

REPEATS = 7
MESSAGE = hashlib.sha512(b"lexforge").digest() * 3 + b"\x00" * 8  # 200 bytes
K256_TARGET = 20_000

Row = tuple[str, Callable[[], object]]


def _batch_for(func: Callable[[], object], seconds: float) -> int:
    """Calls per timed run so one run lasts about ``seconds``."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            func()
        elapsed = time.perf_counter() - start
        if elapsed > 0.03:
            return max(1, int(batch * seconds / elapsed))
        batch *= 2


def measure(rows: list[Row], seconds: float) -> list[tuple[str, float]]:
    """Best-of-REPEATS ops/s per row, the rows timed in turn within each repeat."""
    batches = [_batch_for(func, seconds) for _, func in rows]
    best = [0.0] * len(rows)
    for _ in range(REPEATS):
        for index, (_, func) in enumerate(rows):
            count = batches[index]
            start = time.perf_counter()
            for _ in range(count):
                func()
            best[index] = max(best[index], count / (time.perf_counter() - start))
    return [(name, rate) for (name, _), rate in zip(rows, best, strict=True)]


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"  # pragma: no cover


def report(title: str, results: list[tuple[str, float]]) -> float:
    """Print a group; the first row is ours. Returns our rate."""
    print(f"\n{title}")
    ours = results[0][1]
    for name, rate in results:
        # Ratios compare our main row with each peer, not with our own variants.
        ratio = "" if name.startswith("lexforge") else f"  ours/peer = {ours / rate:5.2f}x"
        print(f"  {name:<46} {rate:>10,.0f} ops/s {1e6 / rate:>8.1f} us{ratio}")
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description="ECDSA verify/sign ops/s, ours vs peers")
    parser.add_argument("--seconds", type=float, default=0.3, help="time per timed run")
    seconds = parser.parse_args().seconds
    print(f"bench_crypto: {pin_one_core()}, best of {REPEATS} interleaved runs of ~{seconds}s")
    print(f"coincurve {getattr(coincurve, '__version__', '?')}, 200-byte message")

    # ---- K-256 ------------------------------------------------------------------------
    k256 = K256Keypair.generate()
    k_pub = k256.public_key
    k_did = k256.did_key()
    k_sig = k256.sign(MESSAGE)
    k_der = encode_dss_signature(
        int.from_bytes(k_sig[:32], "big"), int.from_bytes(k_sig[32:], "big")
    )
    k_point = k_pub.compressed_bytes
    cc_priv = coincurve.PrivateKey(k256.private_bytes())
    cc_pub = coincurve.PublicKey(k_point)
    cr_priv = ec.derive_private_key(int.from_bytes(k256.private_bytes(), "big"), ec.SECP256K1())
    cr_pub = cr_priv.public_key()
    ecdsa = ec.ECDSA(hashes.SHA256())
    ecdsa_deterministic = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)

    assert k_pub.verify(MESSAGE, k_sig)
    assert verify_signature(k_did, MESSAGE, k_sig)
    assert cc_pub.verify(k_der, MESSAGE)
    cr_pub.verify(k_der, MESSAGE, ecdsa)

    def cr_k256_verify() -> None:
        cr_pub.verify(k_der, MESSAGE, ecdsa)

    verify_rows: list[Row] = [
        ("lexforge PublicKey.verify", lambda: k_pub.verify(MESSAGE, k_sig)),
        ("lexforge verify_signature(did:key str)", lambda: verify_signature(k_did, MESSAGE, k_sig)),
        (
            "lexforge fresh PublicKey.from_bytes + verify",
            lambda: PublicKey.from_bytes(k_pub.curve, k_point).verify(MESSAGE, k_sig),
        ),
        ("coincurve PublicKey.verify (DER)", lambda: cc_pub.verify(k_der, MESSAGE)),
        ("cryptography secp256k1 verify (DER)", cr_k256_verify),
    ]
    try:
        from atproto_crypto.verify import (  # type: ignore[import-not-found,unused-ignore]
            verify_signature as marshalx_verify,
        )

        assert marshalx_verify(k_did, MESSAGE, k_sig)
        verify_rows.append(
            (
                "MarshalX atproto verify_signature(did:key)",
                lambda: marshalx_verify(k_did, MESSAGE, k_sig),
            )
        )
    except ImportError:
        print("(MarshalX atproto not installed: skipping that peer)")
    k_ours = report("K-256 verify", measure(verify_rows, seconds))
    verdict = "meets" if k_ours >= K256_TARGET else "MISSES"
    print(f"  -> {verdict} the target of {K256_TARGET:,} K-256 verifies/s on one core")

    sign_rows: list[Row] = [
        ("lexforge K256Keypair.sign (compact, low-S)", lambda: k256.sign(MESSAGE)),
        ("coincurve PrivateKey.sign (DER)", lambda: cc_priv.sign(MESSAGE)),
        ("cryptography secp256k1 sign (DER, any S)", lambda: cr_priv.sign(MESSAGE, ecdsa)),
    ]
    report("K-256 sign", measure(sign_rows, seconds))

    # ---- P-256 ------------------------------------------------------------------------
    p256 = P256Keypair.generate()
    p_pub = p256.public_key
    p_sig = p256.sign(MESSAGE)
    p_der = encode_dss_signature(
        int.from_bytes(p_sig[:32], "big"), int.from_bytes(p_sig[32:], "big")
    )
    pr_priv = ec.derive_private_key(int.from_bytes(p256.private_bytes(), "big"), ec.SECP256R1())
    pr_pub = pr_priv.public_key()
    assert p_pub.verify(MESSAGE, p_sig)
    pr_pub.verify(p_der, MESSAGE, ecdsa)

    def cr_p256_verify() -> None:
        pr_pub.verify(p_der, MESSAGE, ecdsa)

    p_verify_rows: list[Row] = [
        ("lexforge PublicKey.verify", lambda: p_pub.verify(MESSAGE, p_sig)),
        ("cryptography verify (DER)", cr_p256_verify),
    ]
    report("P-256 verify", measure(p_verify_rows, seconds))
    p_sign_rows: list[Row] = [
        ("lexforge P256Keypair.sign (compact, low-S)", lambda: p256.sign(MESSAGE)),
        (
            "cryptography sign (DER, RFC 6979 nonce)",
            lambda: pr_priv.sign(MESSAGE, ecdsa_deterministic),
        ),
        ("cryptography sign (DER, random nonce)", lambda: pr_priv.sign(MESSAGE, ecdsa)),
    ]
    report("P-256 sign", measure(p_sign_rows, seconds))


if __name__ == "__main__":
    main()
