"""The GP hears back (docs/interop.md): the outcome letter to a patient's registered GP practice
when a referral is completed or the patient dies, as a FHIR R4 document Bundle with the same
letter as a PDF inside it.

Everything here is drawn from one ``LetterData`` (referrals/letters.py), read once from the rows:

- ``letter_blocks`` is the letter as text, block by block (address, banner, sections, signature);
  the PDF prints exactly these lines and the tests read them;
- ``letter_sections`` are its sections (what was asked and by whom, what was done, the outcome,
  the death), which are also the Composition's sections;
- ``letter_pdf`` prints the blocks on A4 in DejaVu Sans (the PDF core fonts are Latin-1 only, and
  a name like Nguyễn must print), from ``static/vendor/fonts`` (scripts/build_assets.sh); a line
  with a character the font cannot draw (王秀英: DejaVu has no CJK) is printed as a notice that
  says so (``printable_blocks``), never as a blank, and the document Bundle keeps the text;
- ``letter_document`` is the document Bundle: the Composition first, then the Patient, the
  author's and the practice's Organizations, and a DocumentReference carrying the PDF.

Neither function touches the database, and the same data give the same bytes (the PDF's creation
date is the letter's), so a letter made once is the same on every attempt to send it.
"""

from __future__ import annotations

import base64
import logging
import uuid
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from fpdf import FPDF

from interop.codes import NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM, UK_CORE
from patients.names import display_name
from patients.nhs_number import InvalidNhsNumber, format_nhs_number
from referrals.letters import LetterData, LetterKind, LetterOrganisation, LetterReferral
from spoc.core.api import api_iso
from spoc.core.dates import nhs_date, nhs_date_banner, nhs_time

Resource = dict[str, Any]

PDF = "application/pdf"
# SNOMED CT 371531000 |Report of clinical encounter (record artifact)|: the document's type.
SNOMED = "http://snomed.info/sct"
DOCUMENT_TYPE = {"system": SNOMED, "code": "371531000", "display": "Report of clinical encounter"}
XHTML = "http://www.w3.org/1999/xhtml"
FONT_DIR = "vendor/fonts"
FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
HUB_SIGNATURE = "SPOC hub"
# What the PDF prints instead of a line the font cannot draw (the FHIR document keeps the text).
NAME_NOT_PRINTABLE = (
    "The patient's name has characters this letter cannot print: see the attached FHIR document."
)
LINE_NOT_PRINTABLE = (
    "This line has characters this letter cannot print: see the attached FHIR document."
)

# fontTools logs every font subset fpdf2 makes at INFO, some 40 lines a letter: none is needed.
logging.getLogger("fontTools").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Block:
    """A run of lines printed one way: ``style`` is from (the writer, right-aligned), to (the
    practice), date, title, banner, heading, text, signature or footnote."""

    style: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...]


# --- The words --------------------------------------------------------------------------------


def _when(moment: Any) -> str:
    """``4 March 2026, 10:00`` (London time): never "today", which a letter read later would
    get wrong."""
    return f"{nhs_date(moment)}, {nhs_time(moment)}"


def nhs_number_text(data: LetterData) -> str:
    if not data.nhs_number:
        return "not known"
    try:
        return format_nhs_number(data.nhs_number)
    except InvalidNhsNumber:
        return data.nhs_number


def letter_title(data: LetterData) -> str:
    if data.kind == LetterKind.DEATH:
        return "Death of your patient"
    reference = data.referrals[0].reference if data.referrals else ""
    return f"Outcome of referral {reference}".strip()


def _asked(referral: LetterReferral) -> str:
    who = referral.asked_by or "the hub itself"
    return (
        f"{referral.reference}, {_when(referral.asked_at)}: {referral.need}, "
        f"{referral.priority}. Asked by {who}."
    )


def _done(referral: LetterReferral) -> list[str]:
    by = f" by {referral.team}" if referral.team else ""
    if not referral.interventions:
        return [f"{referral.reference}{by}: no intervention was recorded."]
    return [f"{referral.reference}{by}:"] + [
        f"{_when(item.at)}: {item.kind}" for item in referral.interventions
    ]


def _outcome(data: LetterData, referral: LetterReferral) -> str:
    if data.kind == LetterKind.DEATH:
        return f"{referral.reference} ({referral.need}) was closed when the patient died."
    closed = f" on {_when(referral.closed_at)}" if referral.closed_at else ""
    outcome = f": {referral.outcome}" if referral.outcome else ""
    return f"{referral.reference} was completed{closed}{outcome}."


def _death_lines(data: LetterData) -> list[str]:
    death = data.death
    assert death is not None
    if death.expected is None:
        expected = ""
    else:
        expected = " The death was expected." if death.expected else " The death was not expected."
    lines = [f"Died on {_when(death.died_at)}.{expected}", f"Place of death: {death.place}."]
    if death.preferred:
        lines.append(f"Preferred place of death: {', then '.join(death.preferred)}.")
        lines.append(
            "The patient died in their preferred place."
            if death.achieved
            else "The patient did not die in their preferred place."
        )
    else:
        lines.append("No preferred place of death was recorded.")
    return lines


def letter_sections(data: LetterData) -> list[Section]:
    """What was asked and by whom, what was done, the outcome and, for a death, the death."""
    if data.referrals:
        asked = tuple(_asked(referral) for referral in data.referrals)
        done = tuple(line for referral in data.referrals for line in _done(referral))
        outcome = tuple(_outcome(data, referral) for referral in data.referrals)
    else:
        asked = ("No referral was open when the patient died.",)
        done = ("Nothing was recorded.",)
        outcome = ("No referral was open.",)
    sections = [
        Section("What was asked", asked),
        Section("What was done", done),
        Section("Outcome", outcome),
    ]
    if data.death is not None:
        sections.append(Section("Death", tuple(_death_lines(data))))
    return sections


def _address(organisation: LetterOrganisation) -> tuple[str, ...]:
    lines = [organisation.name]
    if organisation.postcode:
        lines.append(organisation.postcode)
    lines.append(f"ODS code {organisation.ods_code}")
    return tuple(lines)


def patient_banner(data: LetterData) -> tuple[str, ...]:
    """``NGUYỄN, Thu``, ``NHS number 999 123 4567``, ``Born 07-Mar-1941``."""
    return (
        display_name(data.given_name, data.family_name),
        f"NHS number {nhs_number_text(data)}",
        f"Born {nhs_date_banner(data.date_of_birth)}",
    )


def letter_blocks(data: LetterData) -> list[Block]:
    """The whole letter as text, in order; the PDF prints these lines and nothing else (a line
    its font cannot draw as a notice: ``printable_blocks``)."""
    if data.kind == LetterKind.DEATH:
        opening = "We are writing to tell you that your patient has died, and what we did for them."
    else:
        opening = "We are writing to tell you the outcome of a referral for your patient."
    blocks = [
        Block("from", (data.signed_by, data.author.name)),
        Block("to", _address(data.practice)),
        Block("date", (nhs_date(data.written_at),)),
        Block("title", (letter_title(data),)),
        Block("banner", patient_banner(data)),
        Block("text", ("Dear colleague,", opening)),
    ]
    for section in letter_sections(data):
        blocks.append(Block("heading", (section.title,)))
        blocks.append(Block("text", section.lines))
    blocks.append(Block("signature", ("Yours sincerely,", data.signed_by, data.author.name)))
    blocks.append(
        Block(
            "footnote",
            (
                f"Sent electronically by the {HUB_SIGNATURE} from the referral record: not signed "
                f"by hand. Letter {data.letter_id}.",
            ),
        )
    )
    return blocks


def letter_text(data: LetterData) -> list[str]:
    return [line for block in letter_blocks(data) for line in block.lines]


# --- The PDF ----------------------------------------------------------------------------------


@cache
def font_path(name: str) -> Path:
    """Where the font file is: found by the static files finders (``static/vendor/fonts``, filled
    by scripts/build_assets.sh, in a checkout and in the image alike), else in STATIC_ROOT after
    collectstatic. Raises ImproperlyConfigured when neither has it."""
    relative = f"{FONT_DIR}/{name}"
    found = finders.find(relative)
    if isinstance(found, str) and found:
        return Path(found)
    collected = Path(settings.STATIC_ROOT) / relative
    if collected.is_file():
        return collected
    raise ImproperlyConfigured(
        f"The letters' font {relative} is missing: run scripts/build_assets.sh (make setup)."
    )


@cache
def _drawable() -> frozenset[int]:
    """The characters both of the letter's fonts have a glyph for (their cmaps, by fontTools)."""
    from fontTools.ttLib import TTFont

    tables = []
    for file in FONTS.values():
        with TTFont(font_path(file), lazy=True) as font:
            tables.append(frozenset(font.getBestCmap()))
    return frozenset.intersection(*tables)


def printable(line: str) -> bool:
    """The letter's fonts can draw every character of ``line`` (white space needs none)."""
    drawable = _drawable()
    return all(ord(char) in drawable or char.isspace() for char in line)


def printable_blocks(data: LetterData) -> list[Block]:
    """``letter_blocks`` as the PDF prints them: a line with a character the fonts cannot draw
    (a name in Chinese characters, say) becomes a notice saying so, the patient's name its own,
    instead of a gap where the name should be."""
    blocks = []
    for block in letter_blocks(data):
        lines = tuple(
            line
            if printable(line)
            else NAME_NOT_PRINTABLE
            if block.style == "banner" and index == 0
            else LINE_NOT_PRINTABLE
            for index, line in enumerate(block.lines)
        )
        blocks.append(Block(block.style, lines))
    return blocks


def letter_pdf(data: LetterData) -> bytes:
    """The letter on A4, plain and in the order of ``printable_blocks``. The same data give the
    same bytes."""
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    for style, file in FONTS.items():
        pdf.add_font("DejaVu", style, str(font_path(file)))
    pdf.set_creation_date(data.written_at)
    pdf.set_title(letter_title(data))
    pdf.set_author(data.signed_by)
    pdf.set_creator(HUB_SIGNATURE)
    pdf.set_producer(HUB_SIGNATURE)
    pdf.set_lang("en-GB")
    pdf.add_page()
    width = pdf.epw
    for block in printable_blocks(data):
        if block.style == "from":
            pdf.set_font("DejaVu", "B", 10)
            for line in block.lines:
                pdf.multi_cell(width, 5, line, align="R", new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("DejaVu", "", 10)
            pdf.ln(8)
        elif block.style == "banner":
            pdf.ln(2)
            pdf.set_fill_color(232, 237, 238)  # NHS pale grey
            pdf.set_font("DejaVu", "B", 12)
            pdf.multi_cell(width, 7, block.lines[0], fill=True, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", "", 10)
            pdf.multi_cell(
                width, 6, "    ".join(block.lines[1:]), fill=True, new_x="LMARGIN", new_y="NEXT"
            )
            pdf.ln(4)
        elif block.style == "title":
            pdf.set_font("DejaVu", "B", 14)
            pdf.multi_cell(width, 8, block.lines[0], new_x="LMARGIN", new_y="NEXT")
        elif block.style == "heading":
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 11)
            pdf.multi_cell(width, 6, block.lines[0], new_x="LMARGIN", new_y="NEXT")
        else:
            size = 8 if block.style == "footnote" else 10
            pdf.set_font("DejaVu", "", size)
            if block.style in ("signature", "footnote"):
                pdf.ln(4)
            for line in block.lines:
                pdf.multi_cell(width, size / 2 + 1, line, new_x="LMARGIN", new_y="NEXT")
            if block.style in ("to", "date"):
                pdf.ln(4)
    return bytes(pdf.output())


# --- The FHIR document ------------------------------------------------------------------------


def _uuid(data: LetterData, part: str) -> str:
    """A stable id for one resource of the letter, so the same letter is the same document."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:uuid:{data.letter_id}/{part}"))


def _narrative(lines: tuple[str, ...]) -> dict[str, str]:
    paragraphs = "".join(f"<p>{escape(line, quote=False)}</p>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{paragraphs}</div>'}


def _organization(organisation: LetterOrganisation, resource_id: str) -> Resource:
    resource: Resource = {
        "resourceType": "Organization",
        "id": resource_id,
        "meta": {"profile": [f"{UK_CORE}UKCore-Organization"]},
        "identifier": [{"system": ODS_CODE_SYSTEM, "value": organisation.ods_code}],
        "name": organisation.name,
    }
    if organisation.postcode:
        resource["address"] = [{"postalCode": organisation.postcode}]
    return resource


def _patient(data: LetterData, practice_url: str) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(data.patient_id),
        "meta": {"profile": [f"{UK_CORE}UKCore-Patient"]},
    }
    if data.nhs_number:
        resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": data.nhs_number}]
    resource.update(
        {
            "name": [{"use": "official", "family": data.family_name, "given": [data.given_name]}],
            "gender": data.sex,
            "birthDate": data.date_of_birth.isoformat(),
        }
    )
    if data.death is not None:
        resource["deceasedDateTime"] = api_iso(data.death.died_at)
    resource["generalPractitioner"] = [{"reference": practice_url, "display": data.practice.name}]
    return resource


def letter_document(data: LetterData, pdf: bytes, *, base: str) -> Resource:
    """The FHIR R4 document Bundle of the letter: identifier and id the letter's, the
    Composition (UK Core) first, with the patient as subject and the team's (or hub's)
    organisation as author, one section per ``letter_sections`` and a last one pointing at the
    DocumentReference that carries ``pdf``. ``base`` is the hub's FHIR base, for the Patient's
    address."""
    composition_url = f"urn:uuid:{_uuid(data, 'Composition')}"
    patient_url = f"{base}Patient/{data.patient_id}"
    author_id = _uuid(data, "author")
    practice_id = _uuid(data, "practice")
    document_id = _uuid(data, "DocumentReference")
    author_ref = {"reference": f"urn:uuid:{author_id}", "display": data.author.name}
    subject: Resource = {
        "reference": patient_url,
        "display": display_name(data.given_name, data.family_name),
    }
    if data.nhs_number:
        subject["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": data.nhs_number}
    title = letter_title(data)
    written = api_iso(data.written_at)
    sections: list[Resource] = [
        {"title": section.title, "text": _narrative(section.lines)}
        for section in letter_sections(data)
    ]
    sections.append(
        {
            "title": "Letter",
            "text": _narrative((f"The letter as sent: {title} (PDF).",)),
            "entry": [{"reference": f"urn:uuid:{document_id}"}],
        }
    )
    composition: Resource = {
        "resourceType": "Composition",
        "id": _uuid(data, "Composition"),
        "meta": {"profile": [f"{UK_CORE}UKCore-Composition"]},
        "status": "final",
        "type": {"coding": [DOCUMENT_TYPE], "text": DOCUMENT_TYPE["display"]},
        "subject": subject,
        "date": written,
        "author": [author_ref],
        "title": title,
        "custodian": author_ref,
        "section": sections,
    }
    document_reference: Resource = {
        "resourceType": "DocumentReference",
        "id": document_id,
        "meta": {"profile": [f"{UK_CORE}UKCore-DocumentReference"]},
        "status": "current",
        "type": {"coding": [DOCUMENT_TYPE], "text": DOCUMENT_TYPE["display"]},
        "subject": subject,
        "date": written,
        "author": [author_ref],
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": PDF,
                    "language": "en-GB",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "title": f"{title}.pdf",
                    "creation": written,
                }
            }
        ],
    }
    return {
        "resourceType": "Bundle",
        "id": data.letter_id,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{data.letter_id}"},
        "type": "document",
        "timestamp": written,
        "entry": [
            {"fullUrl": composition_url, "resource": composition},
            {"fullUrl": patient_url, "resource": _patient(data, f"urn:uuid:{practice_id}")},
            {
                "fullUrl": f"urn:uuid:{author_id}",
                "resource": _organization(data.author, author_id),
            },
            {
                "fullUrl": f"urn:uuid:{practice_id}",
                "resource": _organization(data.practice, practice_id),
            },
            {"fullUrl": f"urn:uuid:{document_id}", "resource": document_reference},
        ],
    }


def document_pdf(document: Resource) -> bytes:
    """The PDF a letter's document Bundle carries (its DocumentReference's attachment)."""
    for entry in document.get("entry", []):
        resource = entry.get("resource", {})
        if resource.get("resourceType") == "DocumentReference":
            return base64.b64decode(resource["content"][0]["attachment"]["data"])
    raise ValueError("The document carries no PDF.")
