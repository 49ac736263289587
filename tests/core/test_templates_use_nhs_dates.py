"""No template formats a date or time by hand: they all use the hub filters (spoc/core/dates.py),
so every page says "2 December 2026", "2 Dec 2026" and "today 14:32" the same way."""

import re
from pathlib import Path

from django.conf import settings

DJANGO_DATE_FILTERS = re.compile(r"\|\s*(date|time)\b")


def _templates():
    roots = [
        Path(settings.BASE_DIR) / "templates",
        *Path(settings.BASE_DIR).glob("*/templates"),
        *Path(settings.BASE_DIR).glob("spoc/*/templates"),
    ]
    for root in roots:
        yield from root.rglob("*.html")
        yield from root.rglob("*.txt")


def test_the_check_finds_djangos_date_filter():
    assert DJANGO_DATE_FILTERS.search('{{ x.at|date:"d-M-Y" }}')
    assert DJANGO_DATE_FILTERS.search('{{ x.at | time:"H:i" }}')
    assert not DJANGO_DATE_FILTERS.search(
        "{{ x.at|nhs_date }} {{ x.at|nhs_time }} {{ x|timesince:now }}"
    )


def test_no_template_uses_djangos_date_or_time_filter():
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for path in _templates()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DJANGO_DATE_FILTERS.search(line)
    ]
    assert len(list(_templates())) > 50
    assert found == [], (
        "use nhs_date, nhs_date_short, nhs_time or nhs_datetime (spoc/core/templatetags/hub.py)"
    )
