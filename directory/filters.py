"""The one FilterSet behind both the search page and the search API.

Within a parameter values are any-of (repeat it or separate by commas);
across parameters they are all-of. `near`, `radius` and `ordering` act
together, so they are applied in `filter_queryset` rather than one by one.
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES

from directory import geo, search
from directory.models import AGE_GROUPS, FORMATS, Concern, FocusArea, Insurer, Language, SearchEntry

ORDERINGS = {"distance": "Distance", "name": "Name", "-updated": "Recently updated"}
ACCEPTING_CHOICES = {"true": "Accepting new clients", "false": "Not accepting", "any": "Everyone"}
DEFAULT_RADIUS_MILES = 25
MAX_RADIUS_MILES = 500


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


_reference_rows: dict[tuple[str, str], dict[str, Model]] = {}


def reference_rows(model: type[Model], key: str) -> dict[str, Model]:
    """Every row of a small reference table by slug (or code), read once per process.

    Validating `insurance=aetna` then costs no query; saving or deleting a
    reference row empties the cache (see `DirectoryConfig.ready`).
    """
    cache_key = (model._meta.label, key)
    if cache_key not in _reference_rows:
        _reference_rows[cache_key] = {str(getattr(row, key)): row for row in model._default_manager.all()}
    return _reference_rows[cache_key]


def forget_reference_rows(**_: object) -> None:
    _reference_rows.clear()


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
    q = django_filters.CharFilter(method="filter_text", label="Name, credentials or keywords")
    near = PlaceFilter(
        method="filter_nothing",
        label="Near: ZIP code, “City, ST” or “lat,lng”",
    )
    radius = NumberFilter(
        method="filter_nothing",
        label="Within",
        min_value=1,
        max_value=MAX_RADIUS_MILES,
    )
    format = CommaSeparatedMultipleChoiceFilter(choices=list(FORMATS.items()), method="filter_formats", label="Format")
    insurance = SlugMultipleChoiceFilter(
        queryset=Insurer.objects.all(),
        to_field_name="slug",
        method="filter_insurance",
        label="Insurance",
    )
    focus = SlugMultipleChoiceFilter(
        queryset=FocusArea.objects.all(),
        to_field_name="slug",
        method="filter_focus",
        label="IPT focus area",
    )
    concern = SlugMultipleChoiceFilter(
        queryset=Concern.objects.all(),
        to_field_name="slug",
        method="filter_concern",
        label="Concern",
    )
    language = SlugMultipleChoiceFilter(
        queryset=Language.objects.all(),
        to_field_name="code",
        method="filter_language",
        label="Language",
    )
    age_group = CommaSeparatedMultipleChoiceFilter(
        choices=list(AGE_GROUPS.items()), method="filter_age_group", label="Age group"
    )
    state = StateFilter(method="filter_state", label="Licensed in state (two letters)")
    accepting = django_filters.ChoiceFilter(
        choices=list(ACCEPTING_CHOICES.items()),
        method="filter_accepting",
        empty_label=None,
        label="Availability",
    )
    ordering = django_filters.ChoiceFilter(
        choices=list(ORDERINGS.items()),
        method="filter_nothing",
        empty_label="Nearest first, or by name",
        label="Sort by",
    )

    class Meta:
        model = SearchEntry
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

    def filter_nothing(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        return queryset  # applied together in filter_queryset

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value.strip():
            return queryset
        return queryset.matching_text(value, profiles=self.starts_from_profiles)

    def filter_formats(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.offering_formats(value) if value else queryset

    def filter_insurance(self, queryset: QuerySet, name: str, value: QuerySet) -> QuerySet:
        if not value:
            return queryset
        # "Accepting" is per plan too: a therapist may stay in a network but close it to new clients.
        wants_accepting = (self.form.cleaned_data.get("accepting") or self.default_accepting) == "true"
        return queryset.accepting_insurance([insurer.pk for insurer in value], open_panels_only=wants_accepting)

    def filter_focus(self, queryset: QuerySet, name: str, value: QuerySet) -> QuerySet:
        return queryset.with_focus_areas([area.pk for area in value]) if value else queryset

    def filter_concern(self, queryset: QuerySet, name: str, value: QuerySet) -> QuerySet:
        return queryset.with_concerns([concern.pk for concern in value]) if value else queryset

    def filter_language(self, queryset: QuerySet, name: str, value: QuerySet) -> QuerySet:
        return queryset.speaking([language.pk for language in value]) if value else queryset

    def filter_age_group(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.serving_age_groups(value) if value else queryset

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        # Without a place, the search starts from the state's licence entries (see filter_queryset).
        return queryset.licensed_in(value) if self.form.cleaned_data.get("near") else queryset.licensed_here(value)

    def filter_accepting(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value or self.default_accepting or "any"
        if value == "true":
            return queryset.accepting()
        if value == "false":
            return queryset.not_accepting()
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Every parameter's condition on `queryset`, entries the search starts from; unordered.

        Each filter names a method of this class, called here directly (see SharedFilters).
        """
        for name, value in self.form.cleaned_data.items():
            if value not in EMPTY_VALUES:
                queryset = getattr(self, self.base_filters[name].method)(queryset, name, value)
        if not self.form.cleaned_data.get("accepting") and self.default_accepting:
            queryset = self.filter_accepting(queryset, "accepting", self.default_accepting)
        return queryset

    def starting_entries(self, entries: QuerySet) -> list[QuerySet]:
        """`entries` narrowed to those a search starts from, each set answered by one index.

        Near a place: the offices within the radius and, when online sessions
        are asked for, the licences in the place's state. Else the licences in
        the `state` asked for (see filter_state), else one profile entry per therapist.
        """
        data = self.form.cleaned_data
        place: geo.Place | None = data.get("near")
        if place is None:
            return [entries.profiles() if self.starts_from_profiles else entries]
        starts = [entries.near(place, float(data.get("radius") or DEFAULT_RADIUS_MILES))]
        if "online" in (data.get("format") or []):
            starts.append(entries.online_in(place.state))
        return starts

    @property
    def starts_from_profiles(self) -> bool:
        """Neither a place nor a state asked for: the search reads one PROFILE entry per therapist."""
        data = self.form.cleaned_data
        return not data.get("near") and not data.get("state")

    @property
    def sort_order(self) -> str:
        """ "distance", "name" or "-updated": nearest first when a place is given, else by name."""
        data = self.form.cleaned_data
        return data.get("ordering") or ("distance" if data.get("near") else "name")

    def result_page(self, page: int, page_size: int, *, cards: bool = False) -> search.ResultPage:
        """The page of matching therapists, with their stored cards if `cards`; PageNotFound past the last."""
        # The parameters' conditions first: SQLite tests what its index range leaves in the order written, and
        # the bitmask tests are cheaper and more selective than the distance (the typical page's SQL 3.4 -> 2.8 ms).
        parts = self.starting_entries(self.filter_queryset(self.queryset))
        return search.result_page(
            parts,
            ordering=self.sort_order,
            grouped=self.place is not None,
            page=page,
            page_size=page_size,
            cards=cards,
            count=self.text_only_count(),
        )

    def text_only_count(self) -> int | None:
        """The number of results when free text is the only condition and the text index can count alone."""
        data = self.form.cleaned_data
        unconditional = {"q", "radius", "ordering"}  # radius means nothing without near
        conditions = [
            name
            for name, value in data.items()
            if name not in unconditional and value not in EMPTY_VALUES and not (name == "accepting" and value == "any")
        ]
        if conditions or not (data.get("q") or "").strip() or self.default_accepting not in (None, "any"):
            return None
        return SearchEntry.objects.count_matching_text(data["q"])

    @property
    def place(self) -> geo.Place | None:
        return self.form.cleaned_data.get("near") if self.is_bound and self.is_valid() else None


class SharedFilters(dict):
    """A FilterSet's declared filters, shared by its instances instead of deep-copied for each.

    django-filter copies every filter for every FilterSet so that each copy can
    find its `parent`; that copy cost more than validating the whole query. The
    filters of TherapistFilter are stateless and each names a method, which
    `filter_queryset` calls on the instance itself.
    """

    def __deepcopy__(self, memo: dict) -> SharedFilters:
        return self


TherapistFilter.base_filters = SharedFilters(TherapistFilter.base_filters)

MULTI_VALUED = ("format", "insurance", "focus", "concern", "language", "age_group")


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
