import pytest
from django.core.exceptions import ValidationError

from services.services import coverage_areas_parse


@pytest.mark.parametrize(
    ("raw", "areas"),
    [
        ("L9", ["L9"]),
        ("l9, l10\nL11 2", ["L10", "L11 2", "L9"]),
        ("L9 L10 ; L9", ["L10", "L9"]),
        ("  ch41  ", ["CH41"]),
        ("", []),
    ],
)
def test_coverage_areas_parse(raw, areas):
    assert coverage_areas_parse(raw) == areas


def test_coverage_areas_parse_names_every_bad_entry():
    with pytest.raises(ValidationError) as exc:
        coverage_areas_parse("L9, XYZ, 12")
    text = " ".join(exc.value.messages)
    assert "'XYZ'" in text and "'12'" in text
