"""patients.selectors: reading the one search box, finding patients and possible duplicates."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devtools.nhs_numbers import synthetic_nhs_number
from patients.models import Patient
from patients.names import search_form
from patients.selectors import (
    SEARCH_LIMIT,
    ParsedQuery,
    parse_patient_query,
    patient_possible_duplicates,
    patient_search,
)
from referrals.selectors import patients_visible_to
from referrals.transitions import ReferralStatus
from tests.factories import TeamFactory, UserFactory
from tests.plans import plan
from tests.referrals.factories import PatientFactory, ReferralFactory, member

NUMBER = synthetic_nhs_number(21)
SPACED = f"{NUMBER[:3]} {NUMBER[3:6]} {NUMBER[6:]}"
DOB = date(1948, 3, 14)


# --- parse_patient_query (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        NUMBER,
        SPACED,
        f"  {SPACED}  ",
        f"{NUMBER[:3]}-{NUMBER[3:6]}-{NUMBER[6:]}",
        f"{NUMBER[:3]}\u2013{NUMBER[3:6]}\u2013{NUMBER[6:]}",
        f"{NUMBER[:3]}  {NUMBER[3:6]}\t{NUMBER[6:]}",
    ],
    ids=["plain", "spaced", "padded", "hyphens", "en-dashes", "odd-spacing"],
)
def test_nhs_number_with_or_without_separators_is_read_as_a_number(query):
    assert parse_patient_query(query) == ParsedQuery(nhs_number=NUMBER)


def test_ten_digits_that_fail_the_check_still_search_by_number():
    bad = NUMBER[:9] + str((int(NUMBER[9]) + 1) % 10)
    assert parse_patient_query(bad).nhs_number == bad


def test_nine_digits_are_not_an_nhs_number():
    assert parse_patient_query(NUMBER[:9]).nhs_number is None


@pytest.mark.parametrize(
    "query",
    [
        "14/03/1948",
        "14-03-1948",
        "1948-03-14",
        "14-Mar-1948",
        "14 Mar 1948",
        "14 mar 1948",
        "14-MAR-1948",
        "14.03.1948",
        "14031948",
    ],
)
def test_date_of_birth_in_every_usual_format(query):
    assert parse_patient_query(query) == ParsedQuery(date_of_birth=DOB)


def test_date_of_birth_with_single_digit_day_and_month():
    assert parse_patient_query("4/3/1948").date_of_birth == date(1948, 3, 4)


@pytest.mark.parametrize(
    "query", ["sian 14 Mar 1948", "14 Mar 1948 sian", "sian 14/03/1948", "1948-03-14 SIAN"]
)
def test_date_of_birth_beside_a_name(query):
    assert parse_patient_query(query) == ParsedQuery(date_of_birth=DOB, name_parts=("sian",))


def test_an_impossible_date_is_not_a_date_of_birth():
    assert parse_patient_query("31/02/1948").date_of_birth is None


@pytest.mark.parametrize("query", ["l9 7al", "L9 7AL", "L97AL", "l97al", " L9  7AL "])
def test_postcode_alone(query):
    assert parse_patient_query(query) == ParsedQuery(postcode="L9 7AL")


@pytest.mark.parametrize(
    "query", ["nguyen l9 7al", "l9 7al nguyen", "nguyen L97AL", "L97AL Nguyen"]
)
def test_postcode_inside_a_query_with_a_name(query):
    assert parse_patient_query(query) == ParsedQuery(postcode="L9 7AL", name_parts=("nguyen",))


def test_postcode_with_a_four_character_outward_code():
    assert parse_patient_query("smith sw1a 1aa").postcode == "SW1A 1AA"
    assert parse_patient_query("SW1A1AA smith").postcode == "SW1A 1AA"


def test_name_date_and_postcode_together():
    assert parse_patient_query("Siân O'Brien 14-Mar-1948 l9 7al") == ParsedQuery(
        date_of_birth=DOB, postcode="L9 7AL", name_parts=("sian", "obrien")
    )


@pytest.mark.parametrize(
    ("query", "parts"),
    [
        ("Siân", ("sian",)),
        ("SIÂN", ("sian",)),
        ("Nguyễn", ("nguyen",)),
        ("O'Brien", ("obrien",)),
        ("o’brien", ("obrien",)),
        ("Zoë-Ann", ("zoe ann",)),
        ("mary   ann", ("mary", "ann")),
    ],
)
def test_name_parts_are_folded(query, parts):
    assert parse_patient_query(query) == ParsedQuery(name_parts=parts)


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "' - '"])
def test_blank_query_is_empty(query):
    assert parse_patient_query(query).is_empty


# --- patient_search ---------------------------------------------------------------------------------


@pytest.fixture
def author(db: Any) -> Any:
    return UserFactory()


def make(
    author: Any,
    given: str,
    family: str,
    *,
    dob: date = DOB,
    postcode: str = "L9 7AL",
    nhs_number: str | None = None,
) -> Patient:
    return PatientFactory(
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        postcode=postcode,
        nhs_number=nhs_number,
        created_by=author,
    )


def names(patients: list[Patient]) -> list[str]:
    return [f"{p.family_name}, {p.given_name}" for p in patients]


def search(query: str) -> list[Patient]:
    return patient_search(patients=Patient.objects.all(), query=query)


@pytest.mark.django_db
@pytest.mark.parametrize("query", [NUMBER, SPACED, f"{NUMBER[:3]}-{NUMBER[3:6]}-{NUMBER[6:]}"])
def test_search_by_nhs_number_with_or_without_spaces(author, query):
    wanted = make(author, "Siân", "Nguyễn", nhs_number=NUMBER)
    make(author, "Siân", "Nguyễn", nhs_number=synthetic_nhs_number(22))
    assert search(query) == [wanted]


@pytest.mark.django_db
def test_search_by_an_unknown_nhs_number_finds_nobody(author):
    make(author, "Siân", "Nguyễn", nhs_number=NUMBER)
    assert search(synthetic_nhs_number(23)) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["14/03/1948", "14-03-1948", "1948-03-14", "14-Mar-1948", "14 Mar 1948"]
)
def test_search_by_date_of_birth_in_any_format(author, query):
    wanted = make(author, "Mai", "Tran")
    make(author, "Mai", "Tran", dob=date(1948, 3, 15))
    make(author, "Mai", "Tran", dob=date(1949, 3, 14))
    assert search(query) == [wanted]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["tran l9 7al", "TRAN L97AL", "l97al tran", "Tran L9 7AL"])
def test_search_by_postcode_beside_a_name(author, query):
    wanted = make(author, "Mai", "Tran", postcode="L9 7AL")
    make(author, "Mai", "Tran", postcode="L4 0TH")
    make(author, "Anh", "Nguyen", postcode="L9 7AL")
    assert search(query) == [wanted]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "sian",
        "SIAN",
        "Siân",
        "SIÂN",
        "si",
        "IÂ",
        "sian nguyen",
        "nguyen sian",
        "nguyen",
        "NGUYỄN",
        "guy",
        "Nguyễn Siân",
    ],
)
def test_name_parts_match_partially_in_any_case_and_without_accents(author, query):
    wanted = make(author, "Siân", "Nguyễn")
    make(author, "Mai", "Tran")
    assert search(query) == [wanted]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["obrien", "o'brien", "O'BRIEN", "o’brien", "brien", "O Brien"])
def test_apostrophes_do_not_matter(author, query):
    wanted = make(author, "Kathleen", "O'Brien")
    make(author, "Mai", "Tran")
    # "O Brien" is two parts, "o" and "brien", each found in "obrien kathleen".
    assert search(query) == [wanted]


@pytest.mark.django_db
def test_hyphenated_names_are_found_with_or_without_the_hyphen(author):
    wanted = make(author, "Zoë-Ann", "Smith")
    make(author, "Zoe", "Jones")
    assert search("zoe-ann") == [wanted]
    assert search("zoe ann smith") == [wanted]
    assert search("Zoë-Ann") == [wanted]


@pytest.mark.django_db
def test_every_name_part_must_match(author):
    make(author, "Siân", "Nguyễn")
    make(author, "Siân", "Tran")
    assert names(search("sian")) == ["Nguyễn, Siân", "Tran, Siân"]
    assert names(search("sian tran")) == ["Tran, Siân"]
    assert search("sian jones") == []


@pytest.mark.django_db
def test_name_and_date_of_birth_together_narrow_the_results(author):
    wanted = make(author, "Siân", "Nguyễn")
    make(author, "Siân", "Nguyễn", dob=date(1950, 1, 1))
    make(author, "Mai", "Nguyễn")
    assert len(search("nguyen")) == 3
    assert search("nguyen 14/03/1948 sian") == [wanted]
    assert search("nguyen 1950-01-01 mai") == []


@pytest.mark.django_db
def test_results_are_in_family_then_given_name_order(author):
    for given, family in [
        ("Zara", "Baker"),
        ("Amy", "Clark"),
        ("Bea", "Baker"),
        ("Amy", "Baker"),
        ("Cal", "Adams"),
    ]:
        make(author, given, family)
    assert names(search("14/03/1948")) == [
        "Adams, Cal",
        "Baker, Amy",
        "Baker, Bea",
        "Baker, Zara",
        "Clark, Amy",
    ]


@pytest.mark.django_db
def test_namesakes_come_in_registration_order(author):
    first, second = make(author, "Mai", "Tran"), make(author, "Mai", "Tran", dob=date(1950, 1, 1))
    assert search("mai tran") == [first, second]


@pytest.mark.django_db
def test_results_are_limited_to_25(author):
    for n in range(SEARCH_LIMIT + 5):
        make(author, "Mary", f"Jones{n:02d}")
    found = search("mary")
    assert SEARCH_LIMIT == 25
    assert len(found) == 25
    assert names(found) == [f"Jones{n:02d}, Mary" for n in range(25)]


@pytest.mark.django_db
def test_a_smaller_limit_is_respected(author):
    for n in range(5):
        make(author, "Mary", f"Jones{n}")
    assert len(patient_search(patients=Patient.objects.all(), query="mary", limit=2)) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_empty_query_returns_nothing_without_a_query(author, query, django_assert_num_queries):
    make(author, "Mary", "Jones")
    with django_assert_num_queries(0):
        assert patient_search(patients=Patient.objects.all(), query=query) == []


@pytest.mark.django_db
def test_patients_outside_the_given_queryset_are_never_returned(author):
    inside = make(author, "Siân", "Nguyễn", postcode="L9 7AL", nhs_number=NUMBER)
    outside = make(author, "Siân", "Nguyễn", postcode="L4 0TH", nhs_number=synthetic_nhs_number(22))
    visible = Patient.objects.filter(pk=inside.pk)
    for query in (
        "sian",
        "nguyen sian",
        "14/03/1948",
        "L4 0TH",
        "sian l4 0th",
        synthetic_nhs_number(22),
    ):
        assert outside not in patient_search(patients=visible, query=query), query
    assert patient_search(patients=visible, query="sian 14-Mar-1948") == [inside]
    assert patient_search(patients=Patient.objects.none(), query="sian") == []


@pytest.mark.django_db
def test_search_is_one_query_or_two_with_300_patients(author, django_assert_num_queries):
    now = timezone.now()
    rows = []
    for n in range(300):
        given, family = ("Siân", f"Nguyễn{n:03d}") if n % 2 else ("Mai", f"O'Brien{n:03d}")
        rows.append(
            Patient(
                nhs_number=synthetic_nhs_number(1000 + n),
                given_name=given,
                family_name=family,
                search_name=search_form(given, family),
                date_of_birth=date(1940 + n % 30, 1 + n % 12, 1 + n % 28),
                postcode="L9 7AL" if n % 3 else "L4 0TH",
                created_by=author,
                created_at=now,
                updated_at=now,
            )
        )
    Patient.objects.bulk_create(rows)
    # Two only when the family names starting with the name typed are fewer than 25 (no family
    # name starts with "sian"): then the names holding it elsewhere are asked for.
    for query, queries in (
        ("sian", 2),
        ("nguy", 1),
        ("obrien mai", 1),
        ("L9 7AL", 1),
        ("nguyen l97al", 1),
        (synthetic_nhs_number(1001), 1),
        ("02/02/1941", 1),
    ):
        with django_assert_num_queries(queries):
            found = patient_search(patients=Patient.objects.all(), query=query)
            # The banner fields are loaded with the row: reading them costs nothing more.
            _ = [
                (p.nhs_number, p.given_name, p.family_name, p.date_of_birth, p.postcode)
                for p in found
            ]
        assert found, query
    with django_assert_num_queries(2):
        assert len(patient_search(patients=Patient.objects.all(), query="sian")) == 25


@pytest.mark.django_db
def test_family_names_starting_with_the_name_typed_come_first(author, django_assert_num_queries):
    for given, family in [
        ("Alan", "Birchall"),
        ("Hallam", "Ahmed"),
        ("Zoe", "Hall"),
        ("Amy", "Halliday"),
        ("Bea", "Hall"),
        ("Carl", "Marshall"),
    ]:
        make(author, given, family)
    assert names(search("hall")) == [
        "Hall, Bea",
        "Hall, Zoe",
        "Halliday, Amy",
        "Ahmed, Hallam",
        "Birchall, Alan",
        "Marshall, Carl",
    ]
    # The same with a date of birth, whose index leaves few patients: one query sorts them.
    with django_assert_num_queries(1):
        assert names(search("hall 14/03/1948"))[:3] == ["Hall, Bea", "Hall, Zoe", "Halliday, Amy"]
    # With two parts, a family name starting with either comes first; both must match.
    assert names(search("zoe hall")) == ["Hall, Zoe"]
    assert names(search("ahmed hall")) == ["Ahmed, Hallam"]
    assert names(search("alan hall")) == ["Birchall, Alan"]


@pytest.mark.django_db
def test_a_common_family_name_fills_the_results_before_names_holding_it(
    author, django_assert_num_queries
):
    for n in range(10):
        make(author, "Alan", f"Birchall{n}")
    for n in range(30):
        make(author, "Mary", f"Hall{n:02d}")
    with django_assert_num_queries(1):
        assert names(search("hall")) == [f"Hall{n:02d}, Mary" for n in range(25)]
    for n in range(10, 30):
        Patient.objects.filter(family_name=f"Hall{n:02d}").delete()
    with django_assert_num_queries(2):
        found = names(search("hall"))
    assert found == [f"Hall{n:02d}, Mary" for n in range(10)] + [
        f"Birchall{n}, Alan" for n in range(10)
    ]


@pytest.mark.django_db
def test_accents_and_case_do_not_change_the_name_order(author):
    for given, family in [("Ann", "Ńoble"), ("Ann", "nolan"), ("Ann", "Nobel"), ("Ann", "NOAKES")]:
        make(author, given, family)
    assert names(search("no")) == ["NOAKES, Ann", "Nobel, Ann", "Ńoble, Ann", "nolan, Ann"]


@pytest.mark.django_db
def test_the_first_step_reads_the_name_index_in_order(author):
    """PostgreSQL can walk `patient_search_name_c` for a name typed, in the results' order, with
    no sort: its collation is the query's (told to avoid every other plan, it still finds one)."""
    make(author, "Mary", "Hall")
    with CaptureQueriesContext(connection) as captured:
        assert names(search("hall")) == ["Hall, Mary"]
    query = captured.captured_queries[0]  # the family names starting with it; then the others
    read = plan(query["sql"], "seqscan", "bitmapscan", "sort")
    assert "patient_search_name_c" in read, read
    assert "Sort" not in read, read


@pytest.mark.django_db
def test_a_nurses_search_asks_about_each_candidates_own_referrals(author, make_user):
    """A nurse's patients are asked as EXISTS about each candidate's referrals, never as the
    candidate's id IN a list of her teams' referrals: joined by OR, PostgreSQL tests each
    candidate against every row of such a list when it is too long to hash (a busy team's 90
    days), which took minutes over a million patients (docs/performance.md, "A name searched")."""
    team = TeamFactory()
    nurse = member(make_user, team, "nurse-search")
    theirs = make(author, "Mary", "Hall")
    ReferralFactory(call__patient=theirs, patient=theirs, status=ReferralStatus.QUEUED, team=team)
    make(author, "Bea", "Hall")  # nobody's in her team
    with CaptureQueriesContext(connection) as captured:
        assert patient_search(patients=patients_visible_to(nurse), query="hall") == [theirs]
    searches = [q["sql"] for q in captured.captured_queries if "patients_patient" in q["sql"]]
    assert searches
    for sql in searches:
        assert "EXISTS" in sql, sql
        assert not re.search(r'"patients_patient"\."id" IN \(SELECT', sql), sql


# --- patient_possible_duplicates --------------------------------------------------------------------


@pytest.mark.django_db
def test_same_name_and_date_of_birth_is_a_possible_duplicate_whatever_the_accents(author):
    existing = make(author, "Siân", "Nguyễn", postcode="M1 1AA")
    found = patient_possible_duplicates(
        given_name="Sian", family_name="NGUYEN", date_of_birth=DOB, postcode="L9 7AL"
    )
    assert list(found) == [existing]


@pytest.mark.django_db
def test_same_date_of_birth_and_postcode_is_a_possible_duplicate(author):
    existing = make(author, "Anh", "Tran", postcode="L9 7AL")
    found = patient_possible_duplicates(
        given_name="Siân", family_name="Nguyễn", date_of_birth=DOB, postcode="L9 7AL"
    )
    assert list(found) == [existing]


@pytest.mark.django_db
def test_another_date_of_birth_is_never_a_possible_duplicate(author):
    make(author, "Siân", "Nguyễn", dob=date(1948, 3, 15), postcode="L9 7AL")
    found = patient_possible_duplicates(
        given_name="Siân", family_name="Nguyễn", date_of_birth=DOB, postcode="L9 7AL"
    )
    assert list(found) == []


@pytest.mark.django_db
def test_a_similar_name_is_no_possible_duplicate(author):
    make(author, "Siân", "Nguyễn", postcode="M1 1AA")
    make(author, "Sian Mai", "Nguyen", postcode="M1 1AA")
    found = patient_possible_duplicates(
        given_name="Sia", family_name="Nguyễn", date_of_birth=DOB, postcode="L9 7AL"
    )
    assert list(found) == []


@pytest.mark.django_db
def test_without_a_postcode_patients_without_one_are_not_matched(author):
    make(author, "Anh", "Tran", postcode="")
    found = patient_possible_duplicates(
        given_name="Siân", family_name="Nguyễn", date_of_birth=DOB, postcode=""
    )
    assert list(found) == []


@pytest.mark.django_db
def test_possible_duplicates_come_once_each_in_registration_order(author):
    by_name = make(author, "Siân", "Nguyễn", postcode="M1 1AA")
    both = make(author, "Sian", "Nguyen", postcode="L9 7AL")
    by_postcode = make(author, "Anh", "Tran", postcode="L9 7AL")
    make(author, "Anh", "Tran", postcode="L4 0TH")
    found = patient_possible_duplicates(
        given_name="Siân", family_name="Nguyễn", date_of_birth=DOB, postcode="L9 7AL"
    )
    assert list(found) == [by_name, both, by_postcode]
