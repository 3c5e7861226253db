"""Reference for :func:`flowgraph.hits.hit_ids` and :mod:`flowgraph._kernels.sha1`: one
``hashlib`` call per hit, on the hit's text built by Python string formatting."""

from __future__ import annotations

import hashlib


def sha1_leading64(value: bytes) -> int:
    """The first 8 bytes of the SHA-1 digest, as a big-endian integer."""
    return int.from_bytes(hashlib.sha1(value).digest()[:8], "big")


def hit_id(detector: str, typology: str, params_id: str, anchor_id: str, run_first_day: str, key) -> str:
    """SPEC §5: the first 16 hexadecimal digits of the SHA-1 of the hit's text."""
    text = f'["{detector}","{typology}","{params_id}","{anchor_id}","{run_first_day}",{key}]'
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
