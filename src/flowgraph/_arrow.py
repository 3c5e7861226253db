"""Arrow text as the plain numpy arrays the kernels and digests read."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def text_buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets of an Arrow string or large string array (``len(text) + 1`` of them,
    where its slice starts: positions into the data) and its data bytes (the whole
    buffer), as numpy views without a copy; empty data when the array has none."""
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], width)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    return offsets, np.zeros(0, np.uint8) if data is None else np.frombuffer(data, np.uint8)
