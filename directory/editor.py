"""The therapist's profile editor, one section per page: which fields each section shows, and how its page
reads a post (Save, "Add another", "Remove") and lists its errors.

Display and parsing only: every save goes through directory.profiles.update_profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME, TOTAL_FORM_COUNT
from django.forms.utils import ErrorDict
from django.http import QueryDict

from directory.forms import (
    CredentialFormSet,
    LicensedStateFormSet,
    OfficeFormSet,
    ProfileForm,
    TherapistInsurerFormSet,
    section_form,
)
from directory.models import Therapist
from directory.profiles import ChecklistItem

RELATIONS = ("focus_areas", "concerns", "languages")


@dataclass(frozen=True)
class Section:
    """One page of the editor: its own fields (`form`) or its own list (`formset`), and its own Save."""

    slug: str
    title: str
    intro: str
    form: type[ProfileForm] | None = None
    formset: type[forms.BaseInlineFormSet] | None = None
    # For a list: the service's argument, the fields of a row, and what one row is called.
    rows: str = ""
    row_fields: tuple[str, ...] = ()
    item: str = ""

    @property
    def save_label(self) -> str:
        """The Save button's words: "Save offices", "Save IPT training" (an acronym keeps its capitals)."""
        first, _, rest = self.title.partition(" ")
        return f"Save {first if first.isupper() else first.lower()} {rest}".strip()


SECTIONS = {
    section.slug: section
    for section in (
        Section(
            "about",
            "About you",
            "Who you are, as clients and staff read it. Changing your name, credentials or NPI on a published "
            "profile sends it back for a short review.",
            form=section_form(
                "About",
                (
                    "first_name",
                    "last_name",
                    "credentials",
                    "pronouns",
                    "npi",
                    "email",
                    "phone",
                    "website",
                    "bio",
                    "approach",
                ),
            ),
        ),
        Section(
            "practice",
            "Practice and fees",
            "How you work and what you charge; clients filter by each of these.",
            form=section_form(
                "Practice",
                (
                    "offers_individual",
                    "offers_family",
                    "offers_group",
                    "offers_online",
                    "session_cadence",
                    "serves_children",
                    "serves_adolescents",
                    "serves_adults",
                    "serves_older_adults",
                    "focus_areas",
                    "concerns",
                    "languages",
                    "fee_min",
                    "fee_max",
                    "sliding_scale",
                ),
            ),
        ),
        Section(
            "offices",
            "Offices",
            "Where you see clients in person. Each office is found on the map from its ZIP code when you save.",
            formset=OfficeFormSet,
            rows="offices",
            row_fields=("label", "address", "city", "state", "postal_code", "wheelchair_accessible"),
            item="Office",
        ),
        Section(
            "licences",
            "Licences",
            "Every state where you may see clients, by a state licence or an interstate compact. Online clients "
            "find you only in these states.",
            formset=LicensedStateFormSet,
            rows="licensed_states",
            row_fields=("state", "basis", "license_number"),
            item="Licence",
        ),
        Section(
            "insurance",
            "Insurance",
            "The plans whose networks you are in. Clients searching by their plan find you.",
            formset=TherapistInsurerFormSet,
            rows="insurers",
            row_fields=("insurer", "accepting_new_clients"),
            item="Plan",
        ),
        Section(
            "training",
            "IPT training",
            "Your IPT credentials: IPT Institute levels A to E, or ISIPT certification. Staff verify each one "
            "before it counts towards the training level clients see.",
            formset=CredentialFormSet,
            rows="ipt_credentials",
            row_fields=("issuer", "level", "awarded_on", "expires_on", "certificate_number"),
            item="Credential",
        ),
        Section(
            "availability",
            "Availability",
            "Whether you take new clients now. Clients searching for therapists who accept new clients find you "
            "only while this is ticked and confirmed.",
            form=section_form("Availability", ("accepts_new_clients", "capacity")),
        ),
    )
}
# Where each item of directory.profiles.submission_checklist is filled in.
SECTION_OF_FIELD = {"licensed_states": "licences", "offices": "offices", "ipt_credentials": "training",
                    "insurers": "insurance", "bio": "about"}  # fmt: skip


def section_states(checklist: list[ChecklistItem]) -> list[tuple[Section, str]]:
    """Each section with what the checklist says of it: "needed" (submission waits on it), "recommended",
    "done" (it had an item and nothing is missing), or "" (no item of the checklist lives there)."""
    missing: dict[str, str] = {}
    for item in checklist:
        section = SECTION_OF_FIELD[item.field]
        if item.is_required or section not in missing:
            missing[section] = "needed" if item.is_required else "recommended"
    checked = set(SECTION_OF_FIELD.values())
    return [(section, missing.get(slug, "done" if slug in checked else "")) for slug, section in SECTIONS.items()]


def bind_formset(section: Section, therapist: Therapist, data: QueryDict | None) -> forms.BaseInlineFormSet:
    """The section's list, bound to a post or as saved; an empty list shows one empty row to fill in."""
    formset = section.formset(data, instance=therapist, prefix=section.rows)
    if data is None and formset.initial_form_count() == 0:
        formset.extra = 1
    _share_choices(formset)
    return formset


def _share_choices(formset: forms.BaseInlineFormSet) -> None:
    """Each row's drop-down of database rows (insurers) read once for the page, not once per row."""
    shared: dict[str, list] = {}
    for form in formset.forms:
        for name, field in form.fields.items():
            if type(field) is forms.ModelChoiceField and name != "id":
                if name not in shared:
                    shared[name] = list(field.choices)
                field.choices = shared[name]


def with_row_added(section: Section, therapist: Therapist, data: QueryDict) -> forms.BaseInlineFormSet:
    """The post again with one more empty row ("Add another"): nothing is saved, and no error is shown yet."""
    data = data.copy()
    key = f"{section.rows}-{TOTAL_FORM_COUNT}"
    total = data.get(key, "")
    # A mangled count is left as sent: the formset then reports its management form as broken.
    if total.isdigit():
        data[key] = str(int(total) + 1)
    return unchecked(bind_formset(section, therapist, data))


def with_row_removed(
    section: Section, therapist: Therapist, data: QueryDict, row_prefix: str
) -> forms.BaseInlineFormSet:
    """The post again without one row ("Remove"): marked for deletion, so Save deletes it; nothing is saved yet."""
    data = data.copy()
    if row_prefix.startswith(f"{section.rows}-"):
        data[f"{row_prefix}-{DELETION_FIELD_NAME}"] = "on"
    return unchecked(bind_formset(section, therapist, data))


def unchecked(formset: forms.BaseInlineFormSet) -> forms.BaseInlineFormSet:
    """A bound formset shown without validation: an added or removed row is not yet a save to complain about."""
    for form in formset.forms:
        form._errors = ErrorDict()
    formset._errors, formset._non_form_errors = [], formset.error_class()
    return formset


def is_removed(form: forms.Form) -> bool:
    return bool(form.is_bound and form[DELETION_FIELD_NAME].value())


def shown_rows(formset: forms.BaseInlineFormSet) -> list[tuple[int, forms.Form]]:
    """(number as the page shows it, form) of each row not removed."""
    shown = [form for form in formset.forms if not is_removed(form)]
    return list(enumerate(shown, start=1))


def field_anchor(field: forms.BoundField) -> str:
    """The id a summary's link jumps to: the input, or a group's first box."""
    return field.id_for_label or f"{field.auto_id}_0"


def error_links(section: Section, form: forms.Form | None, formset: forms.BaseInlineFormSet | None) -> list[dict]:
    """The error summary: one link per problem, to the field it is about, in the page's order."""
    links = []
    if form is not None:
        for name, messages in form.errors.items():
            href = field_anchor(form[name]) if name in form.fields else "section-heading"
            label = form[name].label if name in form.fields else ""
            links.extend({"href": href, "label": label, "message": message} for message in messages)
    if formset is not None:
        links.extend({"href": "rows", "label": "", "message": message} for message in formset.non_form_errors())
        for number, row in shown_rows(formset):
            for name, messages in row.errors.items():
                field = row[name] if name in row.fields and name != "id" else None
                label = f"{section.item} {number}" + (f", {field.label}" if field else "")
                href = field_anchor(field) if field else f"{row.prefix}-row"
                links.extend({"href": href, "label": label, "message": message} for message in messages)
    return links
