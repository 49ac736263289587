"""The repository explains itself: the code and the docs cite only files that are in it."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SKIP = {".venv", "node_modules", ".git", "vendor", ".data", "artifacts", ".stamps"}
SUFFIXES = {".py", ".md", ".html", ".txt", ".sh", ".yml", ".toml", ".js", ".css"}
# A Markdown file named in the text: "docs/routing.md", "CONTRIBUTING.md", `README.md`.
CITED = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.md)\b")


def _texts():
    for path in sorted(ROOT.rglob("*")):
        if (
            path.is_file()
            and path.suffix in SUFFIXES
            and not SKIP & set(path.relative_to(ROOT).parts)
        ):
            yield path, path.read_text(encoding="utf-8")


def test_every_markdown_file_cited_is_in_the_repository():
    missing = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path, text in _texts()
        for name in set(CITED.findall(text))
        if not any((where / name).exists() for where in (ROOT, ROOT / "docs", path.parent))
    )
    assert missing == []


def test_the_checker_notices_a_file_that_is_not_there():
    absent = "PRODUCT" + ".md"  # spelt in two parts, so that this file does not cite it
    assert CITED.findall(f"see {absent} §5 and docs/routing.md") == [absent, "docs/routing.md"]
    assert not any((where / absent).exists() for where in (ROOT, ROOT / "docs"))
