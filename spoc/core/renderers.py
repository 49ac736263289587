"""The API's JSON, written by orjson (drf-orjson-renderer) instead of the standard library's
encoder: the same bytes, about ten times faster to write a page of a list (docs/performance.md,
"API lists").

orjson writes what it knows natively (dicts, lists, strings, numbers, booleans, None, UUIDs)
itself. Everything else goes through DRF's own encoder, as before: dates and times (passed
through, since orjson would write "+00:00" where DRF writes "Z"), Decimals, lazy translation
strings, querysets, sets. A value neither knows is a TypeError, as it was, never a silent null
(the library's own fallback returns None for it). The line and paragraph separators are escaped,
as DRF's renderer escapes them, so the JSON is also valid JavaScript.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_drf_default = JSONEncoder().default


class ApiJsonRenderer(ORJSONRenderer):
    """``REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]``'s JSON renderer (the browsable API's
    indented view included)."""

    # Keys that are not strings (the list index of a field error, {0: [...]}) become strings,
    # as the standard library's encoder makes them.
    options: ClassVar[int] = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    @staticmethod
    def default(obj: Any) -> Any:
        return _drf_default(obj)

    def render(
        self, data: Any, media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        body: bytes = super().render(data, media_type, renderer_context)
        # U+2028 and U+2029 in UTF-8.
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
