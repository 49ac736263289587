"""The tests' PDF reader (tests/interop/pdf_text.py) reads a stream by its /Length: compressed
data that happens to end in a carriage return is read whole (about one letter in 256 did)."""

import zlib

from tests.interop.pdf_text import _stream


def test_a_stream_ending_in_a_carriage_return_is_read_whole():
    content = next(
        text
        for text in (f"BT /F1 12 Tf (REF-{n:06d}) Tj ET".encode() for n in range(100_000))
        if zlib.compress(text).endswith(b"\r")
    )
    data = zlib.compress(content)
    body = b"<< /Filter /FlateDecode /Length %d >>\nstream\n%b\nendstream" % (len(data), data)
    assert _stream(body) == content
