"""The one FilterSet behind both the search page and the search API: it parses, the search package plans.

Within a parameter values are any-of (repeat it or separate by commas);
across parameters they are all-of. The FilterSet validates the parameters
(its form is the page's search form) and turns them into a `search.Query`;
`search.page` plans the query over the index, so no filter is applied here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import QueryDict

from directory import geo, search
from directory.models import AGE_GROUPS, FORMATS, Concern, FocusArea, Insurer, Language, Therapist, is_ascii_digits
from directory.vocabularies import reference_rows

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
ORDERINGS = {"distance": "Distance", "name": "Name", "-updated": "Recently updated"}
ACCEPTING_CHOICES = {"true": "Accepting new clients", "false": "Not accepting", "any": "Everyone"}
DEFAULT_RADIUS_MILES = 25
MAX_RADIUS_MILES = 500
# The page's choice of radius, and the steps in which a search that found nobody is offered a larger one.
RADIUS_CHOICES = [5, 10, 25, 50, 100, 250, MAX_RADIUS_MILES]


def split_values(values: list[str] | str | None) -> list[str]:
    """Accept both ?format=a&format=b and ?format=a,b."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class CommaSeparatedMultipleChoiceField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: object) -> list[str]:
        return split_values(value)  # type: ignore[arg-type]


class CommaSeparatedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def clean(self, value: object) -> list[Model]:
        values = split_values(value)  # type: ignore[arg-type]
        if not values and not self.required:
            return []  # rather than Django's `queryset.none()`, which costs a compiled query to test
        return super().clean(values)

    def _check_values(self, value: list[str]) -> list[Model]:
        """The named rows, from the cached reference table; an unknown value is `invalid_choice`."""
        known = reference_rows(self.queryset.model, self.to_field_name or "pk")
        for item in value:
            if str(item) not in known:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": item}
                )
        return [known[str(item)] for item in dict.fromkeys(value)]

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list | tuple):
            return [part for item in value for part in split_values(str(item))] or value
        return super().prepare_value(value)


class CommaSeparatedMultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaSeparatedMultipleChoiceField


class SlugMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Any-of over a reference table, named by slug; an unknown slug is a 400."""

    field_class = CommaSeparatedModelMultipleChoiceField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(*args, **kwargs)


class PlaceField(forms.CharField):
    def clean(self, value: object) -> geo.Place | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return geo.locate(text)
        except geo.PlaceNotFound as error:
            raise forms.ValidationError(str(error), code="not_found") from error


class StateField(forms.CharField):
    def clean(self, value: object) -> str:
        text = (super().clean(value) or "").strip().upper()
        if text and text not in geo.US_STATES:
            raise forms.ValidationError("Enter a two-letter US state code, such as NY.", code="invalid")
        return text


class SearchForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        if data.get("ordering") == "distance" and not data.get("near") and "near" not in self.errors:
            self.add_error("ordering", "Sorting by distance needs a place: add near=<ZIP code>.")
        return data


class AsciiDecimalField(forms.DecimalField):
    """A number in ASCII digits: Python's Decimal also reads other Unicode digits, which the schema does not."""

    def to_python(self, value: object) -> object:
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class NumberFilter(django_filters.NumberFilter):
    field_class = AsciiDecimalField


class PlaceFilter(django_filters.Filter):
    field_class = PlaceField


class StateFilter(django_filters.Filter):
    field_class = StateField


class SharedFields(dict):
    """A form class's fields, which its forms share: each form's copy of them is shallow.

    Django deep-copies the fields into every form so that a form may alter
    its own; search forms never do, and the copy took a twentieth of a search.
    """

    def __deepcopy__(self, memo: dict) -> dict:
        return dict(self)


_form_classes: dict[type, type[forms.Form]] = {}


class TherapistFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Name, credentials or keywords")
    near = PlaceFilter(label="Near: ZIP code, “City, ST” or “lat,lng”")
    radius = NumberFilter(
        label="Within",
        min_value=1,
        max_value=MAX_RADIUS_MILES,
    )
    format = CommaSeparatedMultipleChoiceFilter(choices=list(FORMATS.items()), label="Format")
    insurance = SlugMultipleChoiceFilter(
        queryset=Insurer.objects.all(),
        to_field_name="slug",
        label="Insurance",
    )
    focus = SlugMultipleChoiceFilter(
        queryset=FocusArea.objects.all(),
        to_field_name="slug",
        label="IPT focus area",
    )
    concern = SlugMultipleChoiceFilter(
        queryset=Concern.objects.all(),
        to_field_name="slug",
        label="Concern",
    )
    language = SlugMultipleChoiceFilter(
        queryset=Language.objects.all(),
        to_field_name="code",
        label="Language",
    )
    age_group = CommaSeparatedMultipleChoiceFilter(choices=list(AGE_GROUPS.items()), label="Age group")
    state = StateFilter(label="Licensed in state (two letters)")
    accepting = django_filters.ChoiceFilter(
        choices=list(ACCEPTING_CHOICES.items()),
        empty_label=None,
        label="Availability",
    )
    ordering = django_filters.ChoiceFilter(
        choices=list(ORDERINGS.items()),
        empty_label="Nearest first, or by name",
        label="Sort by",
    )

    class Meta:
        model = Therapist
        form = SearchForm
        fields = [
            "q", "near", "radius", "format", "insurance", "focus", "concern",
            "language", "age_group", "state", "accepting", "ordering",
        ]  # fmt: skip

    def __init__(self, *args: object, default_accepting: str | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.default_accepting = default_accepting

    def get_form_class(self) -> type[forms.Form]:
        """The form class, built once per process (its fields depend on the declared filters only)."""
        if type(self) not in _form_classes:
            form_class = super().get_form_class()
            form_class.base_fields = SharedFields(form_class.base_fields)
            _form_classes[type(self)] = form_class
        return _form_classes[type(self)]

    def query(self) -> search.Query:
        """The validated parameters as a search query (call after `is_valid()`)."""
        data = self.form.cleaned_data
        return search.Query(
            text=data.get("q") or "",
            place=data.get("near"),
            radius_miles=float(data.get("radius") or DEFAULT_RADIUS_MILES),
            formats=tuple(data.get("format") or ()),
            insurer_ids=tuple(insurer.pk for insurer in data.get("insurance") or ()),
            focus_area_ids=tuple(area.pk for area in data.get("focus") or ()),
            concern_ids=tuple(concern.pk for concern in data.get("concern") or ()),
            language_ids=tuple(language.pk for language in data.get("language") or ()),
            age_groups=tuple(data.get("age_group") or ()),
            state=data.get("state") or "",
            accepting=data.get("accepting") or self.default_accepting or "any",
            ordering=data.get("ordering") or None,
        )

    @property
    def place(self) -> geo.Place | None:
        return self.form.cleaned_data.get("near") if self.is_bound and self.is_valid() else None


class SharedFilters(dict):
    """A FilterSet's declared filters, shared by its instances instead of deep-copied for each.

    django-filter copies every filter for every FilterSet so that each copy can
    find its `parent`; that copy cost more than validating the whole query. The
    filters of TherapistFilter are stateless: they only build the form's fields.
    """

    def __deepcopy__(self, memo: dict) -> SharedFilters:
        return self


TherapistFilter.base_filters = SharedFilters(TherapistFilter.base_filters)

MULTI_VALUED = ("format", "insurance", "focus", "concern", "language", "age_group")
# The parameter behind each field of `search.Query` that a search can do without (see `TherapistFilter.query`).
PARAMETER_OF_FIELD = {
    "text": "q", "formats": "format", "insurer_ids": "insurance", "focus_area_ids": "focus",
    "concern_ids": "concern", "language_ids": "language", "age_groups": "age_group", "state": "state",
    "accepting": "accepting",
}  # fmt: skip


def normalized_query(query: QueryDict) -> QueryDict:
    """Split comma-separated values so that forms show them as ticked boxes."""
    normalized = query.copy()
    for name in MULTI_VALUED:
        if name in normalized:
            normalized.setlist(name, split_values(normalized.getlist(name)))
    return normalized


def query_errors(filterset: TherapistFilter) -> dict[str, list[str]]:
    """The FilterSet's errors as {"parameter": ["message"]}."""
    errors = {name: [str(message) for message in messages] for name, messages in filterset.errors.items()}
    # ModelMultipleChoiceField says "Select a valid choice"; name the unknown value.
    for name in ("insurance", "focus", "concern", "language"):
        if name in errors:
            errors[name] = [
                re.sub(r"^Select a valid choice\. ", "Unknown value: ", message) for message in errors[name]
            ]
    return errors


def parse_page_parameters(query: Mapping[str, str]) -> tuple[int, int]:
    """`page` (from 1) and `page_size` (1 to 100), or a ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default, maximum in (("page", 1, None), ("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)):
        raw = query.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        if not is_ascii_digits(str(raw)) or int(raw) < 1:
            errors[name] = [f"{name} must be a whole number from 1."]
        elif maximum is not None and int(raw) > maximum:
            errors[name] = [f"{name} must be at most {maximum}."]
        else:
            values[name] = int(raw)
    if errors:
        raise ValidationError(errors)
    return values["page"], values["page_size"]
