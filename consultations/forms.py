"""The client's request form, and the search a "Request a consultation" link came from.

The form parses into `services.Ask`; what makes a request acceptable (how many
therapists, consent, known plans) is decided by `services.ask_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from consultations import services
from consultations.models import FIRST_NAME_MAX, MESSAGE_MAX, PHONE_MAX, PREFERRED_TIMES
from directory import search
from directory.filters import TherapistFilter, insurer_group, normalized_query, parse_page_parameters
from directory.models import FORMATS, Insurer, is_ascii_digits
from directory.vocabularies import reference_rows

# More ids than this is not a choice a page offers; the service's own limit is far lower.
MOST_IDS = 20
MAX_SEARCH_QUERY_LENGTH = 1000  # as directory.views.MAX_BACK_QUERY_LENGTH
SELF_PAY = ""


def insurance_choices() -> list[tuple[str, object]]:
    """Self-pay first, then the plans grouped as the search form groups them (from the cached rows: no query)."""
    groups: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for slug, insurer in reference_rows(Insurer, "slug").items():
        rank, label, _ = insurer_group(insurer)
        groups.setdefault((rank, label), []).append((slug, insurer.name))
    grouped = [(label, sorted(options, key=lambda option: option[1])) for (_, label), options in sorted(groups.items())]
    return [(SELF_PAY, "Self-pay (no insurance)"), *grouped]


def parse_ids(values: list[str]) -> tuple[int, ...]:
    """Therapist ids as given (`?therapist=12&therapist=40`), in order, once each; ValidationError if not ids."""
    if len(values) > MOST_IDS or not all(is_ascii_digits(value) and len(value) <= 12 for value in values):
        raise ValidationError("Choose therapists from the list.", code="invalid")
    return tuple(dict.fromkeys(int(value) for value in values))


class TherapistIdsField(forms.Field):
    """The chosen therapists' ids, from checkboxes the page draws itself (each with its therapist's name)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: object) -> tuple[int, ...]:
        return parse_ids([str(item) for item in value or ()])


class ConsultationForm(forms.Form):
    therapists = TherapistIdsField(required=False, label="Therapists to ask")
    first_name = forms.CharField(
        max_length=FIRST_NAME_MAX,
        label="First name",
        error_messages={"required": "Give your first name."},
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    email = forms.EmailField(
        label="Email",
        max_length=254,
        help_text="We send a link here that you must open to send your request.",
        error_messages={
            "required": "Give your email address.",
            "invalid": "Enter an email address like name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        max_length=PHONE_MAX,
        required=False,
        label="Phone (optional)",
        help_text="Only a therapist who accepts sees it.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    preferred_times = forms.MultipleChoiceField(
        choices=list(PREFERRED_TIMES.items()),
        required=False,
        label="When could you meet? (optional)",
        widget=forms.CheckboxSelectMultiple,
    )
    insurance = forms.ChoiceField(choices=insurance_choices, required=False, label="Insurance")
    formats = forms.MultipleChoiceField(
        choices=list(FORMATS.items()),
        required=False,
        label="Formats you would like (optional)",
        widget=forms.CheckboxSelectMultiple,
    )
    message = forms.CharField(
        max_length=MESSAGE_MAX,
        required=False,
        label="Message (optional)",
        help_text=(
            f"A few lines on what you would like help with, up to {MESSAGE_MAX:,} characters. "
            "The therapists you choose read it before they answer."
        ),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    consent = forms.BooleanField(required=False, label="Share these details with the therapists I chose")

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("label_suffix", "")  # the page's labels and legends end without a colon
        super().__init__(*args, **kwargs)

    def ask(self) -> services.Ask:
        """The request as the service takes it, from what parsed (after `is_valid()`, even when it was not)."""
        data = self.cleaned_data
        return services.Ask(
            therapist_ids=data.get("therapists") or (),
            first_name=data.get("first_name", ""),
            email=data.get("email", ""),
            consent=bool(data.get("consent")),
            phone=data.get("phone", ""),
            preferred_times=tuple(data.get("preferred_times") or ()),
            insurance=data.get("insurance") or None,
            formats=tuple(data.get("formats") or ()),
            message=data.get("message", ""),
        )


@dataclass(frozen=True)
class SearchOrigin:
    """The search a card's link came from (`?from=`), re-run to offer its other results."""

    query: search.Query
    page: int
    page_size: int
    query_string: str


def search_origin(query_string: str) -> SearchOrigin | None:
    """The search in `query_string`, parsed as the search page parses it; None when absent or not valid."""
    if not query_string or len(query_string) > MAX_SEARCH_QUERY_LENGTH:
        return None
    query = normalized_query(QueryDict(query_string))
    filterset = TherapistFilter(query, default_accepting="true")
    try:
        page, page_size = parse_page_parameters(query)
    except ValidationError:
        return None
    if not filterset.is_valid():
        return None
    return SearchOrigin(filterset.query(), page, page_size, QueryDict(query_string).urlencode())
