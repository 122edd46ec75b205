"""Output and input shapes of the public directory API, and the JSON type check every input serializer uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.contrib.auth import authenticate, get_user_model
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.request import Request

from directory.models import (
    AGE_GROUPS,
    FORMATS,
    Concern,
    Credential,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    Therapist,
)

# The JSON type each kind of input field takes; the first match wins (a list of choices is an array).
# Choices are strings throughout this project, as the schema's enums say.
FIELD_JSON_TYPES: list[tuple[tuple[type, ...], str]] = [
    ((serializers.ListField, serializers.ListSerializer, serializers.ManyRelatedField,
      serializers.MultipleChoiceField), "array"),
    ((serializers.Serializer, serializers.DictField), "object"),
    ((serializers.BooleanField,), "boolean"),
    ((serializers.IntegerField,), "integer"),
    ((serializers.FloatField, serializers.DecimalField), "number"),
    ((serializers.CharField, serializers.ChoiceField, serializers.DateField, serializers.DateTimeField,
      serializers.SlugRelatedField), "string"),
]  # fmt: skip


# Serializer mixin: in parsed JSON, a value whose JSON type is not the field's is an error.
# DRF converts on its own: `0` becomes false for a BooleanField, `5` the string "5" for a
# CharField, "5" the number 5 for an IntegerField. The HTML pages that share these serializers
# need exactly that, since a form sends every value as a string (`consent=on`); so form data
# (a QueryDict) is left to DRF, and JSON, which says what type it means, is held to the
# schema's types. Null is left to `allow_null`.
# (A comment, not a docstring: drf-spectacular would show a docstring on every input schema.)
class SlugField(serializers.SlugRelatedField):
    """A reference row named by its slug (or code).

    Text no database row can hold (a NUL character, which PostgreSQL refuses
    even in a query) is an invalid value rather than a lookup.
    """

    def to_internal_value(self, data: object) -> object:
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


# Every list an input takes is bounded (rejected beyond it, not truncated): validation
# then costs at most this much, and each list is checked in one query, not one per item.
MAX_LIST_ITEMS = 50


def column_length(model: type, name: str) -> int:
    """The longest text the column holds: the serializers' max_length, so a longer value is a 400, not a 500."""
    return model._meta.get_field(name).max_length


class BoundedListField(serializers.ListField):
    """A list of at most MAX_LIST_ITEMS, counted before any item is validated."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", MAX_LIST_ITEMS)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> list:
        if isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class SlugListField(BoundedListField):
    """A list of reference rows named by slug (or code), all looked up in one query, in the order given."""

    def __init__(self, *, model: type, lookup: str = "slug", **kwargs: object) -> None:
        self.model, self.lookup = model, lookup
        child = serializers.CharField(max_length=column_length(model, lookup))
        super().__init__(child=child, allow_empty=True, **kwargs)

    def to_internal_value(self, data: object) -> list:
        values = list(dict.fromkeys(super().to_internal_value(data)))
        rows = {getattr(row, self.lookup): row for row in self.model.objects.filter(**{f"{self.lookup}__in": values})}
        if unknown := [value for value in values if value not in rows]:
            raise serializers.ValidationError(f"Unknown value(s): {', '.join(unknown)}.")
        return [rows[value] for value in values]


class StrictJsonTypes:
    def to_internal_value(self, data: object) -> object:
        wrong_values = {} if is_form_data(self) or not isinstance(data, Mapping) else json_value_errors(self, data)
        if not wrong_values:
            return super().to_internal_value(data)
        try:
            super().to_internal_value(data)
        except serializers.ValidationError as error:
            # The body's other errors too, each field's error found here in place of what DRF made of the value.
            raise serializers.ValidationError({**error.detail, **wrong_values}) from error
        raise serializers.ValidationError(wrong_values)


def is_form_data(serializer: serializers.BaseSerializer) -> bool:
    """Whether the outermost serializer was given form data (a page) rather than parsed JSON (the API)."""
    return isinstance(getattr(serializer.root, "initial_data", None), QueryDict)


def json_value_errors(serializer: serializers.Serializer, data: Mapping) -> dict[str, list[str] | dict[int, list[str]]]:
    """The fields of `data` whose value `json_value_error` refuses; list items by position, as DRF names them."""
    errors: dict[str, list[str] | dict[int, list[str]]] = {}
    for field in serializer.fields.values():
        if field.read_only:
            continue
        value = field.get_value(data)
        if message := json_value_error(field, value):
            errors[field.field_name] = [message]
        elif isinstance(value, list) and (item_field := list_item_field(field)) is not None:
            items = {
                index: [message] for index, item in enumerate(value) if (message := json_value_error(item_field, item))
            }
            if items:
                errors[field.field_name] = items
    return errors


def list_item_field(field: serializers.Field) -> serializers.Field | None:
    """The field of a list's plain items; nested serializers check their own fields."""
    if isinstance(field, serializers.ListField):
        return field.child
    if isinstance(field, serializers.ManyRelatedField):
        return field.child_relation
    return None


def json_value_error(field: serializers.Field, value: object) -> str | None:
    """What is wrong with a parsed JSON value before DRF reads it: its type, or its length as sent.

    DRF trims a string's whitespace before checking `max_length`, so a string
    the schema's `maxLength` refuses (it counts what was sent) would pass when
    it starts or ends with whitespace; its length is checked here as sent.
    """
    if message := json_type_error(field, value):
        return message
    limit = field.max_length if isinstance(field, serializers.CharField) else None
    if limit is not None and isinstance(value, str) and len(value) > limit:
        return field.error_messages["max_length"].format(max_length=limit)
    return None


def json_type_error(field: serializers.Field, value: object) -> str | None:
    expected = next((name for kinds, name in FIELD_JSON_TYPES if isinstance(field, kinds)), None)
    if expected is None or value is None or value is empty:
        return None
    actual = json_type(value)
    if actual == expected or (expected, actual) == ("number", "integer"):
        return None
    return f"Expected {with_article(expected)}, got {with_article(actual)}."


def json_type(value: object) -> str:
    """The JSON Schema type of a parsed JSON value (1.0 is an integer there too)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def with_article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


# As Django's AuthenticationForm bounds it: the user model's own username field.
USERNAME_MAX_LENGTH = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length


# A username and password, held to JSON types; the schema keeps the component name DRF's token view gave it.
@extend_schema_serializer(component_name="AuthToken")
class TokenRequestSerializer(StrictJsonTypes, serializers.Serializer):
    # No account's name is longer, as the sign-in form says; a longer one is refused before django-axes records it.
    username = serializers.CharField(write_only=True, max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict) -> dict:
        # The context's `request` is the Django request, not DRF's wrapper: django-axes reads
        # it to count a failure and to mark a lockout that its middleware then answers.
        user = authenticate(self.context["request"], username=attrs["username"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError("Unable to log in with provided credentials.", code="authorization")
        return {"user": user}


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown this once.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (ISO 8601); it is never extended.")


class ReferenceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class LanguageSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class OfficeSerializer(serializers.Serializer):
    label = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    postal_code = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    wheelchair_accessible = serializers.BooleanField()


class LicensedStateSerializer(serializers.Serializer):
    state = serializers.CharField()
    basis = serializers.CharField()


class ResponsivenessSerializer(serializers.Serializer):
    requests = serializers.IntegerField(help_text="Requests and offers counted, over the last 180 days")
    answered_in_time = serializers.IntegerField(help_text="Of those, answered within the reply window (business days)")
    median_reply_hours = serializers.FloatField(allow_null=True, help_text="Median time to answer, in hours")


class TherapistSerializer(serializers.Serializer):
    """A published profile as search results and /api/therapists/<id>/ show it.

    Expects a therapist loaded with `Therapist.objects.for_listing()`; a
    `distance_miles` attribute, when set by the search, is reported too.
    """

    # The fields that depend on the request and the clock first; the rest, in this order, is the
    # stored listing card (`directory.search.cards`), which the search API writes out as it is stored.
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    accepting_new_clients = serializers.SerializerMethodField()
    availability_confirmed_at = serializers.DateTimeField(allow_null=True)
    distance_miles = serializers.SerializerMethodField()
    slug = serializers.SlugField()
    name = serializers.CharField(source="full_name")
    credentials = serializers.CharField()
    pronouns = serializers.CharField()
    photo_url = serializers.SerializerMethodField(help_text="The approved photo's square thumbnail, or null")
    bio_excerpt = serializers.CharField(help_text="The bio's first sentences, at most 200 characters")
    training_level = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())
    age_groups = serializers.ListField(child=serializers.CharField())
    insurance = ReferenceSerializer(source="insurer_list", many=True)
    focus_areas = ReferenceSerializer(many=True)
    concerns = ReferenceSerializer(many=True)
    languages = LanguageSerializer(many=True)
    session_cadence = serializers.CharField()
    offices = OfficeSerializer(many=True)
    licensed_states = serializers.SerializerMethodField()
    fee_min = serializers.IntegerField(allow_null=True)
    fee_max = serializers.IntegerField(allow_null=True)
    sliding_scale = serializers.BooleanField()
    phone = serializers.CharField(help_text="Blank when not given; so are email and website")
    email = serializers.CharField()
    website = serializers.CharField()
    is_demo = serializers.BooleanField()
    responsiveness = ResponsivenessSerializer(
        source="published_responsiveness",
        allow_null=True,
        help_text="How this therapist answers consultation requests and referrals; null below 5 of them",
    )

    def get_url(self, therapist: Therapist) -> str:
        request = self.context.get("request")
        path = therapist.get_absolute_url()
        return request.build_absolute_uri(path) if request else path

    def get_photo_url(self, therapist: Therapist) -> str | None:
        """Absolute, as the search's cards give it (`search.cards.absolute_photo_url`)."""
        request, url = self.context.get("request"), therapist.photo_thumbnail_url
        return request.build_absolute_uri(url) if request and url else url

    def get_accepting_new_clients(self, therapist: Therapist) -> bool:
        """Accepting, and availability confirmed within the freshness window."""
        return therapist.is_accepting(self.context.get("now") or timezone.now())

    def get_licensed_states(self, therapist: Therapist) -> list[str]:
        return therapist.licensed_state_codes

    def get_distance_miles(self, therapist: Therapist) -> float | None:
        return getattr(therapist, "distance_miles", None)


class CredentialSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    issuer = serializers.CharField()
    level = serializers.CharField()
    awarded_on = serializers.DateField()
    expires_on = serializers.DateField(allow_null=True)
    certificate_number = serializers.CharField()
    verified = serializers.BooleanField(source="is_verified")


class InsurerLinkSerializer(serializers.Serializer):
    slug = serializers.CharField(source="insurer.slug")
    name = serializers.CharField(source="insurer.name")
    accepting_new_clients = serializers.BooleanField()


class PrivateLicensedStateSerializer(LicensedStateSerializer):
    license_number = serializers.CharField()


class StoredFileUrlField(serializers.URLField):
    """A stored file's absolute URL, or null without one (read only)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def get_attribute(self, instance: object) -> str | None:
        stored = super().get_attribute(instance)
        return stored.url if stored else None

    def to_representation(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


PHOTO_STATUSES = ["none", "pending", "approved", "rejected"]


class PhotoSerializer(serializers.Serializer):
    """The caller's own photo: its review status, the approved photo (public) and the waiting one (owner only)."""

    status = serializers.ChoiceField(
        choices=PHOTO_STATUSES,
        source="photo_status",
        help_text="pending: a new photo waits for staff; rejected: staff did not approve the last one "
        "(rejection_reason says why); approved: the photo shown is the latest; none: no photo",
    )
    url = StoredFileUrlField(source="photo", help_text="The approved photo, shown publicly")
    thumbnail_url = StoredFileUrlField(source="photo_thumbnail", help_text="The approved photo's square thumbnail")
    pending_url = StoredFileUrlField(source="photo_pending", help_text="The photo waiting for review")
    pending_thumbnail_url = StoredFileUrlField(source="photo_pending_thumbnail")
    submitted_at = serializers.DateTimeField(source="photo_submitted_at", allow_null=True)
    rejection_reason = serializers.CharField(source="photo_rejection_reason")


class PhotoInputSerializer(serializers.Serializer):
    """PUT /api/me/profile/photo/: one file, as multipart/form-data; what it must be is directory.photos' rule."""

    photo = serializers.FileField(help_text="A JPEG, PNG or WebP image, at most PHOTO_MAX_BYTES (5 MB)")


class MyProfileSerializer(TherapistSerializer):
    """The signed-in therapist's own profile: the public fields plus the private ones."""

    status = serializers.CharField()
    moderation_note = serializers.CharField()
    npi = serializers.CharField()
    email = serializers.CharField(help_text="An email address, or blank")
    phone = serializers.CharField()
    website = serializers.CharField()
    bio = serializers.CharField()
    approach = serializers.CharField()
    accepts_new_clients = serializers.BooleanField()
    capacity = serializers.IntegerField()
    reconfirmation_requested_at = serializers.DateTimeField(allow_null=True)
    insurers = InsurerLinkSerializer(source="insurer_links", many=True)
    licences = PrivateLicensedStateSerializer(source="licensed_states", many=True)
    ipt_credentials = CredentialSerializer(many=True)
    photo = PhotoSerializer(source="*", read_only=True)


class OfficeInputSerializer(StrictJsonTypes, serializers.Serializer):
    label = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=column_length(Office, "label")
    )
    address = serializers.CharField(max_length=column_length(Office, "address"))
    city = serializers.CharField(max_length=column_length(Office, "city"))
    state = serializers.CharField(max_length=column_length(Office, "state"))
    postal_code = serializers.CharField(max_length=column_length(Office, "postal_code"))
    wheelchair_accessible = serializers.BooleanField(required=False, default=False)


class LicensedStateInputSerializer(StrictJsonTypes, serializers.Serializer):
    state = serializers.CharField(max_length=column_length(LicensedState, "state"))
    basis = serializers.CharField(required=False, default="license", max_length=column_length(LicensedState, "basis"))
    license_number = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=column_length(LicensedState, "license_number")
    )


class InsurerInputSerializer(StrictJsonTypes, serializers.Serializer):
    """One insurer link; the slugs of the whole list are looked up together (ProfileInputSerializer)."""

    insurer = serializers.CharField(max_length=column_length(Insurer, "slug"))
    accepting_new_clients = serializers.BooleanField(required=False, default=True)


class CredentialInputSerializer(StrictJsonTypes, serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True)
    issuer = serializers.CharField(max_length=column_length(Credential, "issuer"))
    level = serializers.CharField(max_length=column_length(Credential, "level"))
    awarded_on = serializers.DateField()
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    certificate_number = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=column_length(Credential, "certificate_number")
    )


def _text(name: str, **kwargs: object) -> serializers.CharField:
    """An optional profile text field, as long as its column allows."""
    return serializers.CharField(required=False, max_length=column_length(Therapist, name), **kwargs)


class ProfileInputSerializer(StrictJsonTypes, serializers.Serializer):
    """What PATCH /api/me/profile/ accepts; every field optional, lists replace the current ones."""

    first_name = _text("first_name")
    last_name = _text("last_name")
    credentials = _text("credentials")
    pronouns = _text("pronouns", allow_blank=True)
    npi = _text("npi")
    email = _text("email", allow_blank=True)
    phone = _text("phone", allow_blank=True)
    website = _text("website", allow_blank=True)
    bio = _text("bio", allow_blank=True)
    approach = _text("approach", allow_blank=True)
    formats = BoundedListField(child=serializers.ChoiceField(choices=list(FORMATS)), required=False)
    age_groups = BoundedListField(child=serializers.ChoiceField(choices=list(AGE_GROUPS)), required=False)
    session_cadence = _text("session_cadence")
    fee_min = serializers.IntegerField(required=False, allow_null=True)
    fee_max = serializers.IntegerField(required=False, allow_null=True)
    sliding_scale = serializers.BooleanField(required=False)
    accepting_new_clients = serializers.BooleanField(required=False, source="accepts_new_clients")
    capacity = serializers.IntegerField(required=False)
    focus_areas = SlugListField(model=FocusArea, required=False)
    concerns = SlugListField(model=Concern, required=False)
    languages = SlugListField(model=Language, lookup="code", required=False)
    offices = OfficeInputSerializer(many=True, required=False, max_length=MAX_LIST_ITEMS)
    licensed_states = LicensedStateInputSerializer(many=True, required=False, max_length=MAX_LIST_ITEMS)
    insurers = InsurerInputSerializer(many=True, required=False, max_length=MAX_LIST_ITEMS)
    ipt_credentials = CredentialInputSerializer(many=True, required=False, max_length=MAX_LIST_ITEMS)

    def validate_insurers(self, rows: list[dict]) -> list[dict]:
        """Each link's insurer by slug, all in one query; an unknown one is named by its place in the list."""
        known = Insurer.objects.in_bulk([row["insurer"] for row in rows], field_name="slug")
        errors = [{} if row["insurer"] in known else {"insurer": [f"No insurer {row['insurer']!r}."]} for row in rows]
        if any(errors):
            raise serializers.ValidationError(errors)
        return [{**row, "insurer": known[row["insurer"]]} for row in rows]


# The error shapes every endpoint documents (see `directory.api.exception_handler`).
ErrorSerializer = inline_serializer(
    "Errors",
    {"errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))},
)
DetailSerializer = inline_serializer(
    "Detail",
    {
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        "detail": serializers.CharField(),
    },
)


def site_origin(request: Request) -> str:
    """The scheme and host a request came to ("https://example.org"), to make a stored path absolute."""
    return request.build_absolute_uri("/").removesuffix("/")


def profile_urls(request: Request) -> Callable[[str], str]:
    """slug -> the absolute URL of that profile page; the URL is reversed once, not once per result."""
    marker = "slug-of-the-profile"
    template = request.build_absolute_uri(reverse("directory:therapist-detail", kwargs={"slug": marker}))
    return lambda slug: template.replace(marker, slug)
