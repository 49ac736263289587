"""Read a rendered page's forms as their user meets them, for the checks that every form explains
itself (docs/architecture.md, "Forms"): the server validates (no ``required`` attribute, every form
that posts data is ``novalidate``), no empty choice reads "---------", a field in error is drawn in
error, and the error summary lists each error in page order, linked to the field's first control."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
CONTROLS = {"input", "select", "textarea"}
NOT_TYPED = {"hidden", "submit", "button", "image", "reset"}
# The error class of each control the design system gives one (checkboxes and radios have none:
# their form group carries the error).
ERROR_CLASS = {
    "nhsuk-input": "nhsuk-input--error",
    "nhsuk-select": "nhsuk-select--error",
    "nhsuk-textarea": "nhsuk-textarea--error",
}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    order: int = 0

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def all_text(self) -> str:
        return " ".join(" ".join(" ".join(n.text) for n in self.walk()).split())

    def describe(self) -> str:
        return f"<{self.tag} id={self.attrs.get('id')!r} name={self.attrs.get('name')!r} class={self.attrs.get('class')!r}>"


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1
        node = Node(tag, dict(attrs), parent=self.current, order=self.count)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1
        self.current.children.append(Node(tag, dict(attrs), parent=self.current, order=self.count))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def _typed_controls(root: Node):
    for node in root.walk():
        if node.tag in CONTROLS and (
            node.tag != "input" or node.attrs.get("type", "text") not in NOT_TYPED
        ):
            yield node


def required_controls(html: str) -> list[str]:
    """The controls that would make the browser validate, with its pop-up."""
    return [n.describe() for n in parse(html).walk() if n.tag in CONTROLS and "required" in n.attrs]


def posting_forms_without_novalidate(html: str) -> list[str]:
    problems = []
    for form in parse(html).walk():
        if (
            form.tag == "form"
            and (form.attrs.get("method") or "").lower() == "post"
            and "novalidate" not in form.attrs
            and any(_typed_controls(form))
        ):
            problems.append(f"<form action={form.attrs.get('action')!r}>")
    return problems


def _group(node: Node) -> Node | None:
    return next((a for a in node.ancestors() if "nhsuk-form-group" in a.classes), None)


def unstyled_errors(html: str) -> list[str]:
    """Fields in error not drawn in error: an error message outside a form group in error, a
    control in such a group without its error class (a date input: no box in error)."""
    problems = []
    root = parse(html)
    groups = []
    for message in root.walk():
        if "nhsuk-error-message" not in message.classes:
            continue
        group = _group(message)
        if group is None or "nhsuk-form-group--error" not in group.classes:
            problems.append(f"error message {message.all_text()!r} not in a form group in error")
        elif group not in groups:
            groups.append(group)
    for group in groups:
        controls = list(_typed_controls(group))
        if not controls:
            problems.append(f"form group in error with no control: {group.all_text()[:80]!r}")
        boxes = [c for c in controls if "nhsuk-date-input__input" in c.classes]
        if boxes and not any("nhsuk-input--error" in b.classes for b in boxes):
            problems.append(f"date input in error with no box in error: {boxes[0].describe()}")
        for control in controls:
            if control in boxes:
                continue
            for base, error in ERROR_CLASS.items():
                if base in control.classes and error not in control.classes:
                    problems.append(f"{control.describe()} is in error without {error}")
    return problems


@dataclass
class SummaryLine:
    text: str
    href: str | None


def error_summary(html: str) -> list[SummaryLine]:
    root = parse(html)
    summary = next((n for n in root.walk() if "nhsuk-error-summary" in n.classes), None)
    if summary is None:
        return []
    lines = []
    for item in summary.walk():
        if item.tag == "li":
            link = next((n for n in item.walk() if n.tag == "a"), None)
            lines.append(SummaryLine(item.all_text(), link.attrs.get("href") if link else None))
    return lines


def summary_problems(html: str) -> list[str]:
    """The error summary comes before every form, and its links go, in page order, each to a
    control (input, select, textarea) of the page."""
    root = parse(html)
    summary = next((n for n in root.walk() if "nhsuk-error-summary" in n.classes), None)
    if summary is None:
        return []
    problems = []
    main = next((n for n in root.walk() if n.tag == "main"), root)  # not the header's sign-out
    forms = [
        n
        for n in main.walk()
        if n.tag == "form" and (n.attrs.get("method") or "").lower() == "post"
    ]
    if forms and forms[0].order < summary.order:
        problems.append("the error summary comes after a form: it belongs at the top of the page")
    by_id = {n.attrs["id"]: n for n in root.walk() if n.attrs.get("id")}
    last = 0
    for line in error_summary(html):
        if line.href is None:
            continue
        target = by_id.get((line.href or "").lstrip("#"))
        if target is None or target.tag not in CONTROLS:
            problems.append(
                f"{line.text!r} links to {line.href!r}, which is not a control of the page"
            )
            continue
        if target.order < last:
            problems.append(f"{line.text!r} is listed after a field drawn below it")
        last = target.order
    return problems


def page_problems(html: str) -> list[str]:
    """Every way the page fails to explain itself."""
    problems = [f"required attribute: {c}" for c in required_controls(html)]
    if "---------" in html:
        problems.append('an empty choice reads "---------"')
    problems += [f"posts without novalidate: {f}" for f in posting_forms_without_novalidate(html)]
    problems += unstyled_errors(html)
    problems += summary_problems(html)
    return problems


def summary_texts(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", line.text).strip() for line in error_summary(html)]
