"""What the hub's CSV imports share (``import_admissions``, ``import_deprivation``): the header
check and the command's way of reading a file and reporting rejected rows by line number."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TextIO, TypeVar

from django.core.management.base import BaseCommand, CommandError


class HasRejected(Protocol):
    # (line number, message) for every rejected row; nothing is saved when there is any.
    rejected: list[tuple[int, str]]


R = TypeVar("R", bound=HasRejected)


def csv_reader(
    lines: Iterable[str], *, columns: Sequence[str], rejected: list[tuple[int, str]]
) -> csv.DictReader[str] | None:
    """A reader of the rows, or None (with line 1 rejected) when the header lacks a column."""
    reader = csv.DictReader(lines)
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        rejected.append(
            (1, f"Missing column(s): {', '.join(missing)}. Expected: {', '.join(columns)}.")
        )
        return None
    return reader


def csv_import_file(command: BaseCommand, path: str, run: Callable[[TextIO], R]) -> R:
    """Run an import over the UTF-8 file at ``path`` (a byte-order mark is allowed). Raises
    CommandError when the file cannot be read, or, after writing each rejected row's line and
    message to stderr, when any row was rejected (the import then saved nothing)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            result = run(handle)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not UTF-8 text.") from exc
    if result.rejected:
        for line, message in result.rejected:
            command.stderr.write(f"line {line}: {message}")
        raise CommandError(f"{len(result.rejected)} row(s) rejected; nothing imported.")
    return result
