"""Repeated strings: the kernels behind :func:`flowgraph.schema._repeated`.

Strings arrive as the two buffers of an Arrow ``large_string`` array: ``data`` (uint8, the
UTF-8 bytes of every string, one after another) and ``offsets`` (int64, string ``i`` is
``data[offsets[i]:offsets[i + 1]]``).

Finding repeated transaction ids through ``Series.duplicated`` builds one hash table of
10 M entries; every insert then misses the cache, and it took 2-4 s. Here the strings are
first hashed in one sequential pass, then split by the top bits of their hash into
partitions small enough that each partition's hash table stays in cache. Equal strings
have equal hashes, so they land in the same partition, and a stable split keeps row order
inside a partition, so "first occurrence" means the same as in the whole column. Equal
hashes are confirmed byte by byte: the answer is exact whatever the hash does.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

#: FNV-1a's 64-bit offset basis and prime.
FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@jit
def hash_strings(offsets, data):
    """64-bit hash of each string: FNV-1a over its bytes, then the splitmix64 finaliser,
    which spreads every input bit over the top bits used for partitioning.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n + 1,)
    data : ndarray of uint8

    Returns
    -------
    ndarray of uint64, shape (n,)
    """
    states = np.full(offsets.shape[0] - 1, FNV_OFFSET, dtype=np.uint64)
    fnv_feed(states, offsets, data, np.ones(0, dtype=np.bool_), -1)
    return fnv_finish(states)


@jit
def fnv_feed(states, offsets, data, valid, separator):
    """Go on hashing: feed string ``i`` to FNV-1a state ``states[i]``, in place, after
    the byte ``separator`` (none if negative); a string not ``valid[i]`` feeds one NUL
    byte (``valid`` empty: every string is). Feeding the columns of a row one after
    another hashes them as if joined by the separator, without building the joined text.

    Parameters
    ----------
    states : ndarray of uint64, shape (n,)
        Start at the FNV offset basis; :func:`fnv_finish` turns them into hashes.
    offsets : ndarray of int64, shape (n + 1,)
    data : ndarray of uint8
    valid : ndarray of bool, shape (n,) or (0,)
    separator : int
    """
    n = states.shape[0]
    for i in range(n):
        h = states[i]
        if separator >= 0:
            h = (h ^ np.uint64(separator)) * _FNV_PRIME
        if valid.shape[0] == 0 or valid[i]:
            for b in range(offsets[i], offsets[i + 1]):
                h = (h ^ np.uint64(data[b])) * _FNV_PRIME
        else:
            h = h * _FNV_PRIME  # a NUL byte: h ^ 0 == h
        states[i] = h


@jit
def fnv_finish(states):
    """The splitmix64 finaliser of each FNV-1a state (see :func:`hash_strings`)."""
    hashes = np.empty(states.shape[0], dtype=np.uint64)
    for i in range(states.shape[0]):
        h = states[i]
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        hashes[i] = h ^ (h >> np.uint64(31))
    return hashes


@jit
def _same_string(offsets, data, a, b):
    start_a, start_b = offsets[a], offsets[b]
    length = offsets[a + 1] - start_a
    if offsets[b + 1] - start_b != length:
        return False
    for k in range(length):
        if data[start_a + k] != data[start_b + k]:
            return False
    return True


@jit
def repeated_strings(offsets, data, hashes, partition_bits):
    """Which strings already appeared in an earlier row.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n + 1,)
    data : ndarray of uint8
    hashes : ndarray of uint64, shape (n,)
        Any function of the string's bytes (:func:`hash_strings`); equal strings must have
        equal hashes, unequal ones may collide.
    partition_bits : int
        The strings are processed in ``2**partition_bits`` partitions by the top bits of
        their hash (0 to 32); choose it so a partition holds some thousands of strings.

    Returns
    -------
    ndarray of bool, shape (n,)
        True where the same string occurs in an earlier row.
    """
    n = hashes.shape[0]
    n_parts = 1 << partition_bits
    shift = np.uint64(64 - partition_bits)
    part = np.zeros(n, dtype=np.int64)
    if partition_bits > 0:  # a shift by 64 would leave the hash unchanged on x86
        for i in range(n):
            part[i] = np.int64(hashes[i] >> shift)

    # stable counting sort of the rows by partition
    start = np.zeros(n_parts + 1, dtype=np.int64)
    for i in range(n):
        start[part[i] + 1] += 1
    for p in range(n_parts):
        start[p + 1] += start[p]
    rows = np.empty(n, dtype=np.int64)
    next_slot = start[:-1].copy()
    for i in range(n):
        rows[next_slot[part[i]]] = i
        next_slot[part[i]] += 1

    # one open-addressing table, at least twice the largest partition, reused by each
    largest = 0
    for p in range(n_parts):
        largest = max(largest, start[p + 1] - start[p])
    size = 1
    while size < 2 * largest:
        size *= 2
    slot_row = np.empty(size, dtype=np.int64)
    slot_hash = np.empty(size, dtype=np.uint64)
    mask = np.uint64(size - 1)

    repeated = np.zeros(n, dtype=np.bool_)
    for p in range(n_parts):
        slot_row[:] = -1
        for r in range(start[p], start[p + 1]):
            i = rows[r]
            h = hashes[i]
            s = h & mask
            while True:
                j = slot_row[s]
                if j < 0:  # first time this string is seen
                    slot_row[s] = i
                    slot_hash[s] = h
                    break
                if slot_hash[s] == h and _same_string(offsets, data, i, j):
                    repeated[i] = True
                    break
                s = (s + np.uint64(1)) & mask
    return repeated


#: pandas' key for hashing text (``pandas.core.util.hashing._default_hash_key``,
#: "0123456789123456"), as SipHash's two little-endian words
_PANDAS_K0 = np.uint64(int.from_bytes(b"01234567", "little"))
_PANDAS_K1 = np.uint64(int.from_bytes(b"89123456", "little"))


@jit
def _rotl(x, b):
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@jit
def _sipround(v0, v1, v2, v3):
    v0 += v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@jit
def pandas_text_hashes(offsets, data):
    """``pandas.util.hash_array`` of the strings (as Python ``str`` objects): SipHash-2-4
    of each string's UTF-8 bytes under pandas' key, then pandas' 64-bit mix; the same
    numbers without a Python object per string (the transaction store's index buckets
    are these hashes modulo 64, fixed by every store written).

    Parameters
    ----------
    offsets : ndarray of int64 or int32, shape (n + 1,)
    data : ndarray of uint8

    Returns
    -------
    ndarray of uint64, shape (n,)
    """
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        start, end = np.int64(offsets[i]), np.int64(offsets[i + 1])
        length = end - start
        v0 = np.uint64(0x736F6D6570736575) ^ _PANDAS_K0
        v1 = np.uint64(0x646F72616E646F6D) ^ _PANDAS_K1
        v2 = np.uint64(0x6C7967656E657261) ^ _PANDAS_K0
        v3 = np.uint64(0x7465646279746573) ^ _PANDAS_K1
        whole = start + (length // 8) * 8
        p = start
        while p < whole:
            m = np.uint64(0)
            for k in range(8):
                m |= np.uint64(data[p + k]) << np.uint64(8 * k)
            v3 ^= m
            v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
            v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
            v0 ^= m
            p += 8
        b = np.uint64(length) << np.uint64(56)
        for k in range(end - whole):
            b |= np.uint64(data[whole + k]) << np.uint64(8 * k)
        v3 ^= b
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0 ^= b
        v2 ^= np.uint64(0xFF)
        for _ in range(4):
            v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        h = v0 ^ v1 ^ v2 ^ v3
        # pandas' mix of the 64-bit values (pandas.core.util.hashing._hash_ndarray)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        out[i] = h
    return out
