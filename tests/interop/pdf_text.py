"""The text of a PDF the hub wrote (fpdf2, Type0 fonts with a ToUnicode map), read back with no
PDF library: each text-showing string's glyph codes are mapped through its font's ToUnicode map,
so a test asserts on what the page prints, accents included, not on what the code meant to
print."""

from __future__ import annotations

import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
_STREAM_START = re.compile(rb"stream\r?\n")
_LENGTH = re.compile(rb"/Length (\d+)(?! \d+ R)")
_FONTS = re.compile(rb"/Font\s*<<(.*?)>>", re.S)
_FONT_REF = re.compile(rb"/(F\d+)\s+(\d+) 0 R")
_TO_UNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_LITERAL = rb"\((?:\\.|[^\\)])*\)"
# A font chosen, a string shown (Tj), or an array of strings and kerning shown (TJ).
_OPERATION = re.compile(
    rb"/(F\d+) [\d.]+ Tf|(" + _LITERAL + rb") Tj|\[((?:" + _LITERAL + rb"|[-\d.\s])*)\] TJ", re.S
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _stream(body: bytes) -> bytes:
    """The object's stream, its /Length bytes exactly: compressed data may end in a carriage
    return, which a search for the end of line before ``endstream`` would take away."""
    start = _STREAM_START.search(body)
    assert start, "an object without a stream"
    length = _LENGTH.search(body[: start.start()])
    assert length, "a stream without a direct /Length"
    data = body[start.end() : start.end() + int(length.group(1))]
    return zlib.decompress(data) if b"/FlateDecode" in body[: start.start()] else data


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        char = literal[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        following = literal[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            i += 1 + len(octal.group(0))
        else:
            out += _ESCAPES.get(following, following)
            i += 2
    return bytes(out)


def pdf_lines(pdf: bytes) -> list[str]:
    """Each text-showing operation's text, in the order the page draws them (fpdf2 draws a line
    of a cell per operation)."""
    objects = {int(number): body for number, body in _OBJECT.findall(pdf)}
    maps: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for fonts in _FONTS.findall(body):
            for name, number in _FONT_REF.findall(fonts):
                to_unicode = _TO_UNICODE.search(objects[int(number)])
                assert to_unicode, "a font without a ToUnicode map"
                cmap = _stream(objects[int(to_unicode.group(1))])
                maps[name] = {
                    int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
                    for code, text in _BFCHAR.findall(cmap.split(b"beginbfchar", 1)[-1])
                }
    lines: list[str] = []
    for body in objects.values():
        if b"/Contents" in body or b"stream" not in body or b"/Length" not in body:
            continue
        try:
            content = _stream(body)
        except zlib.error:
            continue  # a font file or an image, not a page's content
        font: dict[int, str] = {}
        for name, shown, array in _OPERATION.findall(content):
            if name:
                font = maps.get(name, {})
                continue
            literals = [shown] if shown else re.findall(_LITERAL, array)
            codes = b"".join(_unescape(literal[1:-1]) for literal in literals)
            lines.append(
                "".join(
                    font.get(int.from_bytes(codes[i : i + 2], "big"), "\ufffd")
                    for i in range(0, len(codes), 2)
                )
            )
    return [line for line in lines if line]
