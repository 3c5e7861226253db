"""SHA-1 of many short strings: the kernel behind :func:`flowgraph.hits.hit_ids`.

A hit id is the first 16 hexadecimal digits of the SHA-1 of a short text (SPEC §5). A
range scan names a few million hits; one ``hashlib`` call per hit, each with its text built
in Python, held the GIL for 1.5 s a million while the other detector thread waited. Here
every text arrives as the two buffers of an Arrow string array (as in :mod:`.strings`)
and is hashed in one compiled pass that lets go of the GIL.

SHA-1 as FIPS 180-4 §6.1 defines it, on 32-bit words kept in uint64 registers and masked
after every sum and rotation.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

_MASK32 = np.uint64(0xFFFFFFFF)
_H0 = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0], dtype=np.uint64)


@jit
def _rotl(x, n):
    return ((x << np.uint64(n)) | (x >> np.uint64(32 - n))) & _MASK32


@jit
def _compress(h, w, source, at):
    """Fold the 64-byte block ``source[at:at + 64]`` into the state ``h`` (``w``: the
    message schedule's room)."""
    for t in range(16):
        k = at + 4 * t
        w[t] = (np.uint64(source[k]) << np.uint64(24)) | (np.uint64(source[k + 1]) << np.uint64(16)) | \
            (np.uint64(source[k + 2]) << np.uint64(8)) | np.uint64(source[k + 3])
    for t in range(16, 80):
        w[t] = _rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
    a, b, c, d, e = h[0], h[1], h[2], h[3], h[4]
    for t in range(20):
        temp = (_rotl(a, 5) + ((b & c) | (~b & d & _MASK32)) + e + np.uint64(0x5A827999) + w[t]) & _MASK32
        e, d, c, b, a = d, c, _rotl(b, 30), a, temp
    for t in range(20, 40):
        temp = (_rotl(a, 5) + (b ^ c ^ d) + e + np.uint64(0x6ED9EBA1) + w[t]) & _MASK32
        e, d, c, b, a = d, c, _rotl(b, 30), a, temp
    for t in range(40, 60):
        temp = (_rotl(a, 5) + ((b & c) | (b & d) | (c & d)) + e + np.uint64(0x8F1BBCDC) + w[t]) & _MASK32
        e, d, c, b, a = d, c, _rotl(b, 30), a, temp
    for t in range(60, 80):
        temp = (_rotl(a, 5) + (b ^ c ^ d) + e + np.uint64(0xCA62C1D6) + w[t]) & _MASK32
        e, d, c, b, a = d, c, _rotl(b, 30), a, temp
    h[0] = (h[0] + a) & _MASK32
    h[1] = (h[1] + b) & _MASK32
    h[2] = (h[2] + c) & _MASK32
    h[3] = (h[3] + d) & _MASK32
    h[4] = (h[4] + e) & _MASK32


@jit
def sha1_leading64(offsets, data):
    """The first 64 bits of the SHA-1 digest of each string, as a big-endian integer.

    Parameters
    ----------
    offsets : ndarray of int32 or int64, shape (n + 1,)
        String ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
    data : ndarray of uint8

    Returns
    -------
    ndarray of uint64, shape (n,)
        ``int.from_bytes(hashlib.sha1(s).digest()[:8], "big")`` of each string ``s``.
    """
    n = len(offsets) - 1
    out = np.empty(n, np.uint64)
    w = np.empty(80, np.uint64)
    h = np.empty(5, np.uint64)
    padded = np.zeros(128, np.uint8)  # the string's last block or two: its tail, 0x80, zeros, its length
    for i in range(n):
        start = offsets[i]
        length = offsets[i + 1] - start
        n_full = length // 64  # blocks of the string alone
        n_tail = 1 if length % 64 < 56 else 2
        tail = length - n_full * 64
        padded[:] = 0
        padded[:tail] = data[start + n_full * 64:start + length]
        padded[tail] = 0x80
        bits = np.uint64(length) * np.uint64(8)
        for b in range(8):
            padded[n_tail * 64 - 1 - b] = (bits >> np.uint64(8 * b)) & np.uint64(0xFF)
        h[:] = _H0
        for block in range(n_full):
            _compress(h, w, data, start + block * 64)
        for block in range(n_tail):
            _compress(h, w, padded, block * 64)
        out[i] = (h[0] << np.uint64(32)) | h[1]
    return out
