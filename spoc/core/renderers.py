"""The API's JSON, written by orjson (drf-orjson-renderer) instead of the standard library's
encoder: the same bytes, six to seven times faster to write a page of a list
(docs/performance.md, "API lists").

orjson writes what it knows natively (dicts, lists, strings, numbers, booleans, None, UUIDs)
itself. Everything else goes through DRF's own encoder, as before: dates and times (passed
through, since orjson would write "+00:00" where DRF writes "Z"), Decimals, lazy translation
strings, querysets, sets. A value neither knows is a TypeError, as it was, never a silent null
(the library's own fallback returns None for it). Keys that are not strings (the list index
of a field error) become strings, and the line and paragraph separators are escaped, as DRF's
renderer does, so the JSON is also valid JavaScript.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_drf_default = JSONEncoder().default


class ApiJsonRenderer(ORJSONRenderer):
    """``REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]``'s JSON renderer (the browsable API's
    indented view included): the library's class, with a ``render`` of its own for the keys
    and the separators, each paid for only by an answer that has them."""

    options: ClassVar[int] = orjson.OPT_PASSTHROUGH_DATETIME

    @staticmethod
    def default(obj: Any) -> Any:
        return _drf_default(obj)

    def render(
        self, data: Any, media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        options = self.options
        if media_type and self.html_media_type in media_type:  # the browsable API
            options |= orjson.OPT_INDENT_2
        try:
            body = orjson.dumps(data, default=self.default, option=options)
        except orjson.JSONEncodeError:
            # A key that is not a string (a field error of a list item is keyed by its index)
            # becomes a string, as the standard library's encoder makes it. Only then: the
            # option slows every answer down.
            options |= orjson.OPT_NON_STR_KEYS
            body = orjson.dumps(data, default=self.default, option=options)
        # U+2028 and U+2029 start with the byte E2, which one memchr finds (a search for the
        # three bytes costs more than writing the page); most answers have none.
        if b"\xe2" in body:
            body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return body
