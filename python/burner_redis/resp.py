"""Fallback for third-party code that sends raw RESP through ``send_packed_command``."""

from __future__ import annotations

from redis.exceptions import DataError


def parse_packed(packed) -> list[tuple[bytes, ...]]:
    """Splits RESP-encoded commands (bytes, str, or a list of chunks) into argument tuples."""
    if isinstance(packed, str):
        data = packed.encode()
    elif isinstance(packed, (bytes, bytearray, memoryview)):
        data = bytes(packed)
    else:
        data = b"".join(bytes(c) if not isinstance(c, str) else c.encode() for c in packed)
    out = []
    i = 0
    n = len(data)
    while i < n:
        if data[i : i + 1] != b"*":
            # Inline command: space-separated words up to CRLF.
            end = data.find(b"\r\n", i)
            end = n if end < 0 else end
            words = data[i:end].split()
            if words:
                out.append(tuple(words))
            i = end + 2
            continue
        end = data.find(b"\r\n", i)
        if end < 0:
            raise DataError("truncated RESP command")
        count = int(data[i + 1 : end])
        i = end + 2
        args = []
        for _ in range(count):
            if data[i : i + 1] != b"$":
                raise DataError("malformed RESP command")
            end = data.find(b"\r\n", i)
            size = int(data[i + 1 : end])
            start = end + 2
            args.append(data[start : start + size])
            i = start + size + 2
        out.append(tuple(args))
    return out
