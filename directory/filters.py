"""The one FilterSet behind both the search page and the search API: it parses, the search package plans.

Within a parameter values are any-of (repeat it or separate by commas);
across parameters they are all-of. The FilterSet validates the parameters
(its form is the page's search form) and turns them into a `search.Query`;
`search.page` plans the query over the index, so no filter is applied here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.models import ModelChoiceIterator
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


class ReferenceChoiceIterator(ModelChoiceIterator):
    """The choices of a reference table from its cached rows, in name order: rendering the form costs no query."""

    def __iter__(self) -> Iterator[tuple[object, str]]:
        for row in self._rows():
            yield self.choice(row)

    def __len__(self) -> int:
        return len(self._rows())

    def __bool__(self) -> bool:
        return bool(self._rows())

    def _rows(self) -> list[Model]:
        return list(reference_rows(self.queryset.model, self.field.to_field_name or "pk").values())


class CommaSeparatedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    iterator = ReferenceChoiceIterator

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


class OneOrManySelect(forms.SelectMultiple):
    """A grouped drop-down for an any-of parameter: one value picked, several kept.

    A client has one insurance plan and wants one language, so one value from a
    short grouped list is the usual case (31 insurers as checkboxes made a box
    that scrolled inside the page). A URL naming several (copied from the API, a
    shared link) renders as a list box instead, so that searching again from
    this form does not silently drop any of them.
    """

    def __init__(self, *, empty_label: str, group_of: Callable[[Model], tuple[int, str, int]]) -> None:
        super().__init__()
        self.empty_label = empty_label
        self.group_of = group_of  # a row -> (group's rank, group's label, rank within the group)

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        if len(context["widget"]["value"]) <= 1:
            del context["widget"]["attrs"]["multiple"]
        return context

    def optgroups(self, name: str, value: list[str], attrs: dict | None = None) -> list[tuple]:
        """The empty choice, then one <optgroup> per group; the rows' own order within a group."""
        groups: dict[tuple[int, str], list[tuple[int, object, str]]] = {}
        for option_value, label in self.choices:
            rank, group, position = self.group_of(option_value.instance)
            groups.setdefault((rank, group), []).append((position, option_value, label))
        optgroups = [(None, [self.create_option(name, "", self.empty_label, not value, 0, attrs=attrs)], 0)]
        for index, ((_, group), options) in enumerate(sorted(groups.items()), start=1):
            options.sort(key=lambda option: option[0])  # stable: rows keep their name order
            subgroup = [
                self.create_option(name, option, label, str(option) in value, index, subindex=subindex, attrs=attrs)
                for subindex, (_, option, label) in enumerate(options)
            ]
            optgroups.append((group, subgroup, index))
        return optgroups


INSURER_GROUPS = {  # the order and plain names of the insurance drop-down's groups, by Insurer.Kind
    Insurer.Kind.COMMERCIAL: "Employer and private plans",
    Insurer.Kind.MARKETPLACE: "Marketplace (ACA) plans",
    Insurer.Kind.MEDICAID: "Medicaid plans",
    Insurer.Kind.MEDICARE: "Medicare plans",
    Insurer.Kind.MILITARY: "Military and veterans",
    Insurer.Kind.EAP: "Employee assistance programs (EAP)",
}
# English, then the languages most spoken in US homes (Census, American Community Survey).
COMMON_LANGUAGES = ("en", "es", "zh", "tl", "vi", "ar", "fr", "ko")


def insurer_group(insurer: Insurer) -> tuple[int, str, int]:
    kinds = list(INSURER_GROUPS)
    kind = insurer.kind if insurer.kind in INSURER_GROUPS else Insurer.Kind.COMMERCIAL
    return kinds.index(kind), INSURER_GROUPS[kind], 0


def language_group(language: Language) -> tuple[int, str, int]:
    if language.code in COMMON_LANGUAGES:
        return 0, "Most asked for", COMMON_LANGUAGES.index(language.code)
    return 1, "Other languages", 0


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
        widget=OneOrManySelect(empty_label="Any insurance", group_of=insurer_group),
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
        widget=OneOrManySelect(empty_label="Any language", group_of=language_group),
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


@dataclass(frozen=True)
class AppliedFilter:
    """One constraint of a search as the page shows it: a chip that links to the same search without it."""

    name: str  # the parameter
    label: str
    without: str  # the query string of the same search without this constraint, from its first page


ACCEPTING_LABELS = {"true": "Accepting new clients", "false": "Not accepting new clients", "any": "Accepting or not"}


def applied_filters(filterset: TherapistFilter, query: QueryDict) -> list[AppliedFilter]:
    """The constraints of a valid search (from `normalized_query`), in the form's order, each removable.

    A multi-valued parameter gives one chip per value. `near` and `radius` are
    one chip (a radius means nothing alone); removing the place also drops a sort
    by distance, which would be an error without one. A parameter at its default
    (the public page's `accepting=true`) is no constraint the client added.
    Labels come from the validated values: reference rows are cached, so no query.
    """
    data = filterset.form.cleaned_data
    chips = []
    if data.get("near"):
        radius = Decimal(data.get("radius") or DEFAULT_RADIUS_MILES).normalize()
        also = ("radius", "ordering") if query.get("ordering") == "distance" else ("radius",)
        label = f"Within {radius:f} miles of {query.get('near', '').strip()}"
        chips.append(AppliedFilter("near", label, _query_without(query, "near", also=also)))
    labels: dict[str, Mapping[str, str]] = {"format": FORMATS, "age_group": AGE_GROUPS}
    for name in MULTI_VALUED:
        names = labels.get(name) or {_key_of(row): row.name for row in data.get(name) or ()}
        for value in dict.fromkeys(data.get(name) or ()):
            key = value if isinstance(value, str) else _key_of(value)
            chips.append(AppliedFilter(name, names[key], _query_without(query, name, key)))
    if data.get("state"):
        label = f"Licensed in {geo.US_STATES[data['state']]}"
        chips.append(AppliedFilter("state", label, _query_without(query, "state")))
    if data.get("q"):
        chips.append(AppliedFilter("q", f"Keywords: “{data['q']}”", _query_without(query, "q")))
    accepting = data.get("accepting")
    if accepting and accepting != (filterset.default_accepting or "any"):
        chips.append(AppliedFilter("accepting", ACCEPTING_LABELS[accepting], _query_without(query, "accepting")))
    return chips


def _key_of(row: Model) -> str:
    """A reference row's value in a URL: a language's code, any other row's slug."""
    return row.code if isinstance(row, Language) else row.slug


def _query_without(query: QueryDict, name: str, value: str | None = None, *, also: tuple[str, ...] = ()) -> str:
    """The query string without `name` (or only without its `value`) and `also`, back to the first page."""
    remaining = query.copy()
    for parameter in ("page", *also):
        remaining.pop(parameter, None)
    if value is None:
        remaining.pop(name, None)
    else:
        remaining.setlist(name, [kept for kept in remaining.getlist(name) if kept != value])
    return remaining.urlencode()


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
