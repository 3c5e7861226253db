"""Reference for :mod:`flowgraph._kernels.strings`: string hashes and repeated strings."""

from __future__ import annotations

MASK64 = (1 << 64) - 1


def hash_string(value: bytes) -> int:
    """FNV-1a over the bytes, then the splitmix64 finaliser, in 64-bit arithmetic."""
    h = 14695981039346656037
    for byte in value:
        h = ((h ^ byte) * 1099511628211) & MASK64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK64
    return h ^ (h >> 31)


def repeated(values: list) -> list[bool]:
    """True for every value already seen in an earlier position."""
    seen = set()
    out = []
    for v in values:
        out.append(v in seen)
        seen.add(v)
    return out
