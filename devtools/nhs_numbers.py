"""Synthetic NHS numbers for demo data and tests (docs/reference.md "Identifiers and formats").

They come only from the range ``999 000 0000`` to ``999 999 9999``, which is reserved for testing
and never issued, so generated records can never be mistaken for, or matched to, a real person.
Every number is valid by ``patients.nhs_number.normalise_nhs_number``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

from stdnum.gb import nhs

__all__ = ["SYNTHETIC_CAPACITY", "synthetic_nhs_number", "synthetic_nhs_numbers"]

# docs/reference.md: 999 000 0000 - 999 999 9999 is reserved for testing and never issued. The first
# nine digits fix the tenth, so the range holds at most one valid number per nine-digit prefix
# 999000000-999999999: 1,000,000 prefixes, of which about 1 in 11 have no check digit. The range
# therefore holds SYNTHETIC_CAPACITY (909,091) valid numbers, not millions.
#
# Valid numbers are numbered 0, 1, 2, ... in ascending order. To find the n-th without walking
# the range, the six free digits (d4-d9) are split into a "block" (d4-d7) and a "tail" (d8-d9).
# Whether a tail is valid depends only on the block's weighted sum mod 11, so there are just 11
# tail lists; a cumulative count per block (10,000 ints) then locates any index by bisection.

_SYNTHETIC_PREFIX = "999"
_BLOCKS = 10_000  # d4-d7: four free digits
_TAILS = 100  # d8-d9: two free digits


def _check_digit(first_nine: str) -> int | None:
    """The check digit for nine ASCII digits, or ``None`` when no check digit exists.

    NHS Data Dictionary, NHS NUMBER (modulus 11), as ``stdnum.gb.nhs`` computes it: the weighted
    sum of all ten digits is 0 mod 11, the check digit weighing 1; a needed check digit of 10
    means the first nine digits can never form a valid NHS number.
    """
    check = -nhs.checksum(first_nine + "0") % 11
    return None if check == 10 else check


def _block_residue(block: int) -> int:
    """The weighted sum mod 11 of ``999`` and the block's four digits (the other digits zero)."""
    return nhs.checksum(f"{_SYNTHETIC_PREFIX}{block:04d}000")


def _tail_suffixes(block: int) -> tuple[str, ...]:
    """Valid "d8 d9 check" endings of ``block``, ascending; the same for every block whose
    :func:`_block_residue` is the same."""
    head = f"{_SYNTHETIC_PREFIX}{block:04d}"
    suffixes = []
    for tail in range(_TAILS):
        check = _check_digit(f"{head}{tail:02d}")
        if check is not None:
            suffixes.append(f"{tail:02d}{check}")
    return tuple(suffixes)


_BLOCK_RESIDUES = tuple(_block_residue(block) for block in range(_BLOCKS))
# One block of each residue stands for them all; every residue 0-10 occurs among the blocks.
_SUFFIXES_BY_RESIDUE = tuple(
    _tail_suffixes(_BLOCK_RESIDUES.index(residue)) for residue in range(11)
)
# _BLOCK_STARTS[b] = how many valid numbers come before block b; the last entry is the total.
_BLOCK_STARTS = (0, *accumulate(len(_SUFFIXES_BY_RESIDUE[r]) for r in _BLOCK_RESIDUES))

SYNTHETIC_CAPACITY = _BLOCK_STARTS[-1]
"""How many valid NHS numbers the reserved test range holds (909,091)."""


def synthetic_nhs_number(seed: int) -> str:
    """The ``seed``-th valid NHS number of the reserved test range, in ascending order.

    Deterministic; seeds ``0 .. SYNTHETIC_CAPACITY - 1`` give distinct numbers, larger (and
    negative) seeds wrap around, because the range holds no more valid numbers than that.
    """
    index = seed % SYNTHETIC_CAPACITY
    block = bisect_right(_BLOCK_STARTS, index) - 1
    suffix = _SUFFIXES_BY_RESIDUE[_BLOCK_RESIDUES[block]][index - _BLOCK_STARTS[block]]
    return f"{_SYNTHETIC_PREFIX}{block:04d}{suffix}"


def synthetic_nhs_numbers(count: int, start: int = 0) -> Iterator[str]:
    """Yield ``synthetic_nhs_number(start)``, ``synthetic_nhs_number(start + 1)``, ... ``count`` of them.

    All distinct, all valid, all in the reserved test range, and fast enough for bulk demo data
    (the whole range in well under a second). Raises :class:`ValueError` when ``count`` is
    negative or exceeds :data:`SYNTHETIC_CAPACITY`: more distinct test numbers do not exist, and
    the caller must then decide what the other records carry (for example no NHS number and a
    "trace required" status) rather than silently receive duplicates.
    """
    if count < 0:
        raise ValueError(f"count must not be negative; got {count}.")
    if count > SYNTHETIC_CAPACITY:
        raise ValueError(
            f"The reserved test range 999 000 0000-999 999 9999 holds only "
            f"{SYNTHETIC_CAPACITY:,} valid NHS numbers; {count:,} were asked for."
        )
    return _walk(count, start % SYNTHETIC_CAPACITY)


def _walk(count: int, index: int) -> Iterator[str]:
    block = bisect_right(_BLOCK_STARTS, index) - 1
    offset = index - _BLOCK_STARTS[block]
    while count > 0:
        head = f"{_SYNTHETIC_PREFIX}{block:04d}"
        suffixes = _SUFFIXES_BY_RESIDUE[_BLOCK_RESIDUES[block]][offset : offset + count]
        for suffix in suffixes:
            yield head + suffix
        count -= len(suffixes)
        block = (block + 1) % _BLOCKS
        offset = 0
