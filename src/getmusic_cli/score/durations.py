"""The 16 duration codes of GETScore (reference §2.6): code → length in 16th notes, and back."""

from __future__ import annotations

import bisect

# Code 0 is "shorter than a 16th" and has no token; codes 1..15 are the tokens T1..T15.
DURATION_16THS: tuple[int, ...] = (0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 36, 44, 52)
MAX_CODE = len(DURATION_16THS) - 1


def encode_duration(n16: int) -> int:
    """The code whose bucket holds a length of ``n16`` 16ths (buckets start at each table entry)."""
    if n16 <= 0:
        return 0
    return bisect.bisect_right(DURATION_16THS, n16) - 1


def decode_duration(code: int) -> int:
    return DURATION_16THS[code]
