"""JSON API of the directory: search, one profile, reference lists, the token, and a therapist's own profile."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from knox.auth import TokenAuthentication
from rest_framework import exceptions, parsers, serializers
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import services as account_services
from accounts.permissions import IsTherapist
from directory import photos, profiles, search
from directory.errors import NON_FIELD, error_body
from directory.filters import (
    PARAMETER_OF_FIELD,
    RADIUS_CHOICES,
    TherapistFilter,
    parse_page_parameters,
    query_errors,
)
from directory.models import FORMATS, Concern, FocusArea, Insurer, Language, Therapist
from directory.parsers import BoundedJSONParser
from directory.serializers import (
    DetailSerializer,
    ErrorSerializer,
    LanguageSerializer,
    MyProfileSerializer,
    PhotoInputSerializer,
    PhotoSerializer,
    ProfileInputSerializer,
    ReferenceSerializer,
    TherapistSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    profile_urls,
    site_origin,
)


class QueryInvalid(exceptions.ValidationError):
    """A 400 whose detail is already {"parameter": ["message"]}."""


def exception_handler(error: Exception, context: dict) -> Response | None:
    """Every error reads {"errors": {"<field>": ["<message>"]}} (directory.errors).

    A 400, and a 409 about fields, names each field; any other error files its
    message under non_field_errors and keeps DRF's top-level "detail" beside it.
    """
    if isinstance(error, DjangoValidationError):
        messages = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD: error.messages}
        error = exceptions.ValidationError(messages)
    response = drf_exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.APIException) and isinstance(error.detail, dict):
        response.data = {"errors": flat_errors(response.data)}
    elif response.status_code == 400:
        # A list of messages, or a body that did not parse ({"detail": ...}): every 400 has one shape.
        response.data = {"errors": flat_errors(error.detail)}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = error_body(str(response.data["detail"]))
    return response


def flat_errors(detail: object, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer and list errors as one level, named like `offices[1].postal_code`.

    DRF nests the errors of a list item (`{"concerns": {"0": [...]}}`) or of a nested
    serializer (`{"offices": [{}, {"postal_code": [...]}]}`); clients get one name per problem.
    """
    if isinstance(detail, dict):
        children = [(_child_name(prefix, key), value) for key, value in detail.items()]
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        children = [(f"{prefix}[{index}]", item) for index, item in enumerate(detail)]
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {prefix or NON_FIELD: [str(message) for message in messages]} if messages else {}
    flat: dict[str, list[str]] = {}
    for name, value in children:
        for field, messages in flat_errors(value, name).items():
            flat.setdefault(field, []).extend(messages)
    return flat


def _child_name(prefix: str, key: object) -> str:
    if not prefix:
        return str(key)
    if key == NON_FIELD:  # a list's own error (too many items) names the list
        return prefix
    return f"{prefix}[{key}]" if str(key).isdigit() else f"{prefix}.{key}"


# The page's search form sends its empty fields, and the page and the API read an empty value as absent;
# the vocabularies below take "" for that reason.
SEARCH_PARAMETERS = [
    OpenApiParameter("q", str, description="Free text over name, credentials and bio"),
    OpenApiParameter("near", str, description="A US ZIP code, `City, ST`, or `lat,lng`"),
    OpenApiParameter(
        "radius", {"type": "number", "minimum": 1, "maximum": 500},
        description="Miles around `near`, 1 to 500 (default 25)",
    ),
    OpenApiParameter(
        "format", str, many=True, explode=True, enum=[*FORMATS, ""],
        description="Any of these formats; repeat or comma-separate",
    ),
    OpenApiParameter("insurance", str, many=True, explode=True, description="Insurer slugs, any-of"),
    OpenApiParameter("focus", str, many=True, explode=True, description="IPT focus-area slugs, any-of"),
    OpenApiParameter("concern", str, many=True, explode=True, description="Concern slugs, any-of"),
    OpenApiParameter("language", str, many=True, explode=True, description="ISO 639-1 codes, any-of"),
    OpenApiParameter(
        "age_group", str, many=True, explode=True,
        enum=["children", "adolescents", "adults", "older-adults", ""],
    ),
    OpenApiParameter("state", str, description="Two-letter state: therapists licensed there"),
    OpenApiParameter("accepting", str, enum=["true", "false", "any", ""], description="Default: any"),
    OpenApiParameter("ordering", str, enum=["distance", "name", "-updated", ""]),
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="Page number from 1"),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1, "maximum": 100}, description="1 to 100, default 20"
    ),
]  # fmt: skip

EMPTY_SEARCH_NOTE = "Only when `count` is 0 (then always present); absent otherwise."
RADIUS_HELP = (
    f"Miles: the smallest of {', '.join(map(str, RADIUS_CHOICES))} larger than `radius` that reaches the nearest match"
)
SearchPage = inline_serializer(
    "TherapistSearchPage",
    {
        "count": serializers.IntegerField(
            help_text=f"Therapists found: exact up to {search.COUNT_THRESHOLD:,}, past it that lower bound"
        ),
        "count_is_exact": serializers.BooleanField(
            help_text="False when `count` is a lower bound (the search found at least that many)"
        ),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": TherapistSerializer(many=True),
        "suggestions": inline_serializer(
            "RemovalSuggestion",
            {
                "remove": serializers.ChoiceField(choices=list(PARAMETER_OF_FIELD.values())),
                "count": serializers.IntegerField(help_text="Therapists the same search finds without this parameter"),
            },
            many=True,
            required=False,
            help_text=f"One per filter applied, most found first. {EMPTY_SEARCH_NOTE}",
        ),
        "larger_radius": inline_serializer(
            "RadiusSuggestion",
            {
                "radius": serializers.IntegerField(help_text=RADIUS_HELP),
                "count": serializers.IntegerField(help_text="Therapists the same search finds at that radius"),
            },
            allow_null=True,
            required=False,
            help_text=f"Null without `near`, or when no such radius finds anyone. {EMPTY_SEARCH_NOTE}",
        ),
        "online_option": inline_serializer(
            "OnlineSuggestion",
            {
                "format": serializers.ChoiceField(choices=["online"]),
                "state": serializers.CharField(help_text="The state of `near` (else `state`)"),
                "count": serializers.IntegerField(help_text="Therapists found with `online` added to `format`"),
            },
            allow_null=True,
            required=False,
            help_text=f"Null when `online` is asked for already, or with neither `near` nor `state`. "
            f"{EMPTY_SEARCH_NOTE}",
        ),
        "nearest_miles": serializers.FloatField(
            allow_null=True,
            required=False,
            help_text="Miles to the nearest office of a therapist matching every other parameter, at any distance; "
            f"null without `near` or when none matches anywhere. {EMPTY_SEARCH_NOTE}",
        ),
        "nearest_place": inline_serializer(
            "NearestPlace",
            {"city": serializers.CharField(), "state": serializers.CharField()},
            allow_null=True,
            required=False,
            help_text=f"Where that office is; null with `nearest_miles`. {EMPTY_SEARCH_NOTE}",
        ),
    },
)


def empty_search_fields(found: search.Suggestions) -> dict:
    """What a response adds when a search found nobody (docs/api.md, "A search that found nobody")."""
    nearest, radius = found.nearest, found.larger_radius
    return {
        "suggestions": [{"remove": PARAMETER_OF_FIELD[field], "count": count} for field, count in found.removals],
        "larger_radius": None if radius is None else {"radius": radius[0], "count": radius[1]},
        "online_option": None
        if found.online is None
        else {"format": "online", "state": found.online_state, "count": found.online},
        "nearest_miles": None if nearest is None else nearest.miles,
        "nearest_place": None
        if nearest is None or not nearest.city
        else {"city": nearest.city, "state": nearest.state},
    }


def page_link(request: Request, page: int | None) -> str | None:
    if page is None:
        return None
    query = request.query_params.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class TherapistSearchView(APIView):
    """Search published profiles; the same parameters as the page /therapists/."""

    @extend_schema(
        operation_id="therapists_search",
        parameters=SEARCH_PARAMETERS,
        responses={200: SearchPage, 400: ErrorSerializer, 404: DetailSerializer},
    )
    def get(self, request: Request) -> Response:
        number, size = parse_page_parameters(request.query_params)
        filterset = TherapistFilter(request.query_params)
        if not filterset.is_valid():
            raise QueryInvalid(query_errors(filterset))
        query = filterset.query()
        try:
            result = search.page(query, number=number, size=size, cards=True)
        except search.PageNotFound as error:
            raise exceptions.NotFound(str(error)) from error
        now, url_of, origin = timezone.now(), profile_urls(request), site_origin(request)
        results = [
            search.result_json(card, card.listing_card, url=url_of(card.slug), origin=origin, now=now)
            for card in result.cards
        ]
        page = result.page
        # Written out around the stored cards' text rather than parsed and re-encoded by a renderer:
        # the same JSON as TherapistSearchPage documents, in a fraction of the time.
        next_link = json.dumps(page_link(request, page + 1 if result.has_next else None))
        previous_link = json.dumps(page_link(request, page - 1 if page > 1 else None))
        empty = ""
        if result.count == 0:  # only then: a search with results costs what it did
            empty = ", " + json.dumps(empty_search_fields(search.suggest(query, radius_steps=RADIUS_CHOICES)))[1:-1]
        body = (
            f'{{"count": {result.count}, "count_is_exact": {json.dumps(result.count_is_exact)}, '
            f'"next": {next_link}, "previous": {previous_link}, '
            f'"results": [{", ".join(results)}]{empty}}}'
        )
        return HttpResponse(body, content_type="application/json")


class TherapistDetailView(APIView):
    """One published profile."""

    @extend_schema(responses={200: TherapistSerializer, 404: DetailSerializer})
    def get(self, request: Request, pk: int) -> Response:
        therapist = Therapist.objects.published().for_listing().filter(pk=pk).first()
        if therapist is None:
            raise Http404("No published therapist with this id.")
        return Response(TherapistSerializer(therapist, context={"request": request}).data)


class ReferenceListView(APIView):
    model: type = Insurer

    @extend_schema(responses={200: ReferenceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = self.model.objects.order_by("name").values("slug", "name")
        return Response(list(rows))


class InsurerListView(ReferenceListView):
    """Insurers, with the slugs that `insurance=` takes."""

    model = Insurer


class FocusAreaListView(ReferenceListView):
    """The five IPT focus areas."""

    model = FocusArea


class ConcernListView(ReferenceListView):
    """Concerns (conditions) therapists treat."""

    model = Concern


class FormatListView(APIView):
    """Session formats."""

    @extend_schema(responses={200: ReferenceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response([{"slug": slug, "name": name} for slug, name in FORMATS.items()])


class LanguageListView(APIView):
    """Languages spoken, by ISO 639-1 code."""

    @extend_schema(responses={200: LanguageSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(list(Language.objects.order_by("name").values("code", "name")))


class TokenView(APIView):
    """POST a username and password for a token that expires; DELETE revokes the token the call carries."""

    authentication_classes = [TokenAuthentication]
    # Signing in still reads forms, as DRF's token view did; JSON through the bounded parser of every endpoint.
    parser_classes = [parsers.FormParser, parsers.MultiPartParser, BoundedJSONParser]

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    # DRF's ObtainAuthToken turned throttling off; this endpoint keeps the defaults and its own rate.
    throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES
    throttle_scope = "token"

    def perform_authentication(self, request: Request) -> None:
        # Signing in reads no token: an expired one left in a client's headers must not refuse a new one.
        if request.method != "DELETE":
            request.authenticators = ()
        super().perform_authentication(request)

    @extend_schema(
        description=(
            "A new token for the user, good until `expiry`: a fixed lifetime (10 hours by default) "
            "that use does not extend. Signing in again gives another token; "
            "a password change or reset revokes them all. "
            "Repeated failures lock the username and address out: 429 with Retry-After."
        ),
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: ErrorSerializer, 429: DetailSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # The Django request, not DRF's wrapper: django-axes counts failures on it.
        serializer = TokenRequestSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token, text = account_services.issue_token(user=serializer.validated_data["user"])
        return Response(TokenSerializer({"token": text, "expiry": token.expiry}).data)

    @extend_schema(
        description="Revokes the token this call is made with; the user's other tokens keep working.",
        request=None,
        responses={204: None, 401: DetailSerializer},
    )
    def delete(self, request: Request) -> Response:
        account_services.revoke_token(token=request.auth)
        return Response(status=204)


def own_profile(request: Request) -> Therapist:
    """The caller's own profile with everything MyProfileSerializer shows, in a fixed number of queries."""
    return Therapist.objects.for_listing().prefetch_related("ipt_credentials").get(user=request.user)


class MyProfileView(APIView):
    """The caller's own profile; there is no way to name another."""

    permission_classes = [IsTherapist]

    @extend_schema(responses={200: MyProfileSerializer, 401: DetailSerializer, 403: DetailSerializer})
    def get(self, request: Request) -> Response:
        return Response(MyProfileSerializer(own_profile(request), context={"request": request}).data)

    @extend_schema(request=ProfileInputSerializer, responses={200: MyProfileSerializer, 400: ErrorSerializer})
    def patch(self, request: Request) -> Response:
        # Not partial: every top-level field is optional already, and nested rows keep their required fields.
        serializer = ProfileInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        related = {name: data.pop(name) for name in ("focus_areas", "concerns", "languages") if name in data}
        lists = {
            name: data.pop(name)
            for name in ("offices", "licensed_states", "insurers", "ipt_credentials")
            if name in data
        }
        flags = profiles.flag_fields(formats=data.pop("formats", None), age_groups=data.pop("age_groups", None))
        fields = {**data, **flags}
        therapist = Therapist.objects.get(user=request.user)
        profiles.update_profile(therapist=therapist, fields=fields, **related, **lists)
        return Response(MyProfileSerializer(own_profile(request), context={"request": request}).data)


class MyPhotoView(APIView):
    """The caller's own photo: upload one (it waits for staff before anyone else sees it) or remove it."""

    permission_classes = [IsTherapist]
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": PhotoInputSerializer},
        responses={200: PhotoSerializer, 400: ErrorSerializer, 413: DetailSerializer, 415: DetailSerializer},
    )
    def put(self, request: Request) -> Response:
        serializer = PhotoInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        therapist = photos.submit_photo(
            therapist=Therapist.objects.get(user=request.user), upload=serializer.validated_data["photo"]
        )
        return Response(PhotoSerializer(therapist, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        photos.remove_photo(therapist=Therapist.objects.get(user=request.user))
        return Response(status=204)


class MySubmitView(APIView):
    """Send a draft (or a profile with changes requested) to staff for review."""

    permission_classes = [IsTherapist]

    @extend_schema(request=None, responses={200: MyProfileSerializer, 400: ErrorSerializer})
    def post(self, request: Request) -> Response:
        profiles.submit_for_review(therapist=Therapist.objects.get(user=request.user))
        return Response(MyProfileSerializer(own_profile(request), context={"request": request}).data)


class MyAvailabilityConfirmView(APIView):
    """Confirm the caller's availability as of now."""

    permission_classes = [IsTherapist]

    @extend_schema(
        request=None,
        responses={200: inline_serializer("Confirmed", {"availability_confirmed_at": serializers.DateTimeField()})},
    )
    def post(self, request: Request) -> Response:
        therapist = profiles.confirm_availability(
            therapist=Therapist.objects.get(user=request.user), now=timezone.now()
        )
        return Response({"availability_confirmed_at": therapist.availability_confirmed_at})
