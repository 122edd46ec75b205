"""JSON API of matching, referrals (role `referrers`) and offers (role `therapists`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsReferrer, IsTherapist
from accounts.roles import therapist_profile
from directory.serializers import DetailSerializer, ErrorSerializer, profile_urls, site_origin
from matching import idempotency, selectors, services
from matching.filters import ReferralFilter
from matching.models import Offer, Referral
from matching.serializers import (
    DeclineSerializer,
    InboxOfferSerializer,
    MatchResponseSerializer,
    NeedSerializer,
    OfferCreateSerializer,
    ReferralCreateSerializer,
    ReferralSerializer,
    ReferralSummarySerializer,
    ScheduleSerializer,
)

NEED = {"postal_code": "11215", "insurance": "aetna", "formats": ["individual", "online"], "age_group": "adults"}
NEED_EXAMPLE = OpenApiExample("Brooklyn, Aetna", value=NEED, request_only=True)
REFERRAL_EXAMPLE = OpenApiExample(
    "A routine referral",
    value={
        **NEED,
        "patient_name": "Pat Example",
        "patient_birth_date": "1980-04-02",
        "patient_phone": "718 555 0100",
        "urgency": "routine",
        "consent": True,
    },
    request_only=True,
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed as sent."


IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"{idempotency.KEY_RULE}. The same key with the same body, within IDEMPOTENCY_KEY_HOURS (24), returns the "
        "first answer and creates nothing; with another body, 422. Per caller."
    ),
    pattern=r"^[\x20-\x7e]{1,255}$",
)


def created_once(request: Request, write: Callable[[], Referral]) -> Response:
    """201 with the referral that `write` created or changed, run once per `Idempotency-Key` when one is sent.

    A replay re-renders the referral from the database (its patient details read and logged as any read is):
    no response body, hence no PHI, is stored with the key.
    """
    try:
        key = idempotency.checked_key(request.headers.get(idempotency.HEADER))
    except idempotency.KeyInvalid as error:
        raise exceptions.ValidationError({idempotency.HEADER: [str(error)]}) from error
    if key is None:
        return Response(_referral_body(request, write().pk), status=status.HTTP_201_CREATED, headers=NO_STORE)
    request_fingerprint = idempotency.fingerprint(method=request.method, path=request.path, body=request.data)
    try:
        outcome = idempotency.run_once(
            user=request.user,
            key=key,
            request_fingerprint=request_fingerprint,
            write=write,
            status_code=status.HTTP_201_CREATED,
        )
    except idempotency.KeyReused as error:
        raise Unprocessable({idempotency.HEADER: [str(error)]}) from error
    except idempotency.KeyBusy as error:
        raise Conflict({idempotency.HEADER: [str(error)]}) from error
    headers = {**NO_STORE, "Idempotent-Replayed": "true"} if outcome.replayed else NO_STORE
    return Response(_referral_body(request, outcome.referral_id), status=outcome.status_code, headers=headers)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Service refusals as HTTP: a conflict with the current state is 409, a bad reference 400."""
    try:
        yield
    except services.ReferralConflict as error:
        raise Conflict({error.field: [str(error)]}) from error
    except services.ReferralInvalid as error:
        raise exceptions.ValidationError({error.field: [str(error)]}) from error


class MatchView(APIView):
    """Rank therapists for a client's needs. Anonymous; stores nothing."""

    permission_classes = [permissions.AllowAny]
    # A ranking costs far more than a search: its own, tighter rate (THROTTLE_MATCH_RATE).
    throttle_scope = "match"

    @extend_schema(
        request=NeedSerializer, responses={200: MatchResponseSerializer, 400: ErrorSerializer}, examples=[NEED_EXAMPLE]
    )
    def post(self, request: Request) -> Response:
        need_input = NeedSerializer(data=request.data)
        need_input.is_valid(raise_exception=True)
        need = need_input.need()
        result = services.rank_therapists(need)
        # Shaped as MatchResponseSerializer documents it; the therapists come from their stored listing cards.
        results = selectors.match_results(
            result, url_of=profile_urls(request), origin=site_origin(request), now=timezone.now()
        )
        return Response({"results": results, "excluded": result.excluded})


@method_decorator(sensitive_post_parameters(*services.PHI_FIELDS), name="dispatch")
class ReferralListView(APIView):
    """The caller's own referrals; create one (ranked on creation)."""

    permission_classes = [IsReferrer]
    # Creating one (a POST) has its own rate, THROTTLE_REFERRAL_RATE; reading the list does not count.
    throttle_scope = "referral"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=Referral.Status.values, required=False,
                description="Only referrals in this status",
            )
        ],
        responses={200: ReferralSummarySerializer(many=True), 400: ErrorSerializer, 401: DetailSerializer,
                   403: DetailSerializer},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        # The patient-name search of the page is not offered here: a name would travel in the URL.
        status = request.query_params.get("status")
        if status == "":
            raise exceptions.ValidationError({"status": ["Give a status, or leave the parameter out."]})
        filters = ReferralFilter({"status": status}, queryset=selectors.referrals_of(request.user))
        if not filters.is_valid():
            raise exceptions.ValidationError(filters.errors)
        referrals = list(filters.qs[:200])
        services.log_phi_reads(
            user=request.user, referrals=referrals, fields=["patient_name"], channel="api:referral-list"
        )
        return Response(ReferralSummarySerializer(referrals, many=True).data, headers=NO_STORE)

    @extend_schema(
        request=ReferralCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ReferralSerializer, 400: ErrorSerializer, 401: DetailSerializer, 403: DetailSerializer,
            409: ErrorSerializer, 422: ErrorSerializer,
        },
        examples=[REFERRAL_EXAMPLE],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        def create() -> Referral:
            referral_input = ReferralCreateSerializer(data=request.data)
            referral_input.is_valid(raise_exception=True)
            # The service's refusals (a Django ValidationError by field) are 400s through the exception handler.
            return services.create_referral(referrer=request.user, request=referral_input.referral_request())

        return created_once(request, create)


def _referral_body(request: Request, referral_id: object) -> dict:
    referral = selectors.referral_detail(referral_id, request.user)
    if referral is None:
        raise Http404("No such referral.")
    payload = selectors.referral_payload(referral, user=request.user, channel="api:referral-detail")
    return ReferralSerializer(payload, context={"request": request}).data


class ReferralDetailView(APIView):
    """One of the caller's referrals, with ranked matches, offers, history and patient details."""

    permission_classes = [IsReferrer]

    @extend_schema(
        responses={200: ReferralSerializer, 401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}
    )
    def get(self, request: Request, referral_id: str) -> Response:
        return Response(_referral_body(request, referral_id), headers=NO_STORE)


def _own_referral(request: Request, referral_id: str) -> object:
    referral = selectors.referrals_of(request.user).filter(pk=referral_id).first()
    if referral is None:
        raise Http404("No such referral.")
    return referral


class ReferralOfferView(APIView):
    """Offer the referral to one of its ranked candidates (at most 3 waiting at once)."""

    permission_classes = [IsReferrer]

    @extend_schema(
        request=OfferCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ReferralSerializer, 400: ErrorSerializer, 404: DetailSerializer, 409: ErrorSerializer,
            422: ErrorSerializer,
        },
    )  # fmt: skip
    def post(self, request: Request, referral_id: str) -> Response:
        referral = _own_referral(request, referral_id)

        def offer() -> Referral:
            offer_input = OfferCreateSerializer(data=request.data)
            offer_input.is_valid(raise_exception=True)
            with domain_errors():
                services.offer_referral(
                    referral=referral, therapist_id=offer_input.validated_data["therapist"], actor=request.user
                )
            return referral

        return created_once(request, offer)


class ReferralWithdrawView(APIView):
    """Withdraw the referral; open offers are withdrawn with it."""

    permission_classes = [IsReferrer]

    @extend_schema(request=None, responses={200: ReferralSerializer, 404: DetailSerializer, 409: ErrorSerializer})
    def post(self, request: Request, referral_id: str) -> Response:
        referral = _own_referral(request, referral_id)
        with domain_errors():
            services.withdraw_referral(referral=referral, actor=request.user)
        return Response(_referral_body(request, referral.pk), headers=NO_STORE)


class ReferralCloseView(APIView):
    """Close the loop once the patient was taken on."""

    permission_classes = [IsReferrer]

    @extend_schema(request=None, responses={200: ReferralSerializer, 404: DetailSerializer, 409: ErrorSerializer})
    def post(self, request: Request, referral_id: str) -> Response:
        referral = _own_referral(request, referral_id)
        with domain_errors():
            services.close_referral(referral=referral, actor=request.user)
        return Response(_referral_body(request, referral.pk), headers=NO_STORE)


def _inbox(request: Request, offers: QuerySet) -> list[dict]:
    return selectors.offer_payloads(
        list(offers), user=request.user, labels=services.reference_labels(), now=timezone.now(), channel="api:offers"
    )


class MyOfferListView(APIView):
    """Referrals offered to the caller, best fit first; de-identified until accepted."""

    permission_classes = [IsTherapist]

    @extend_schema(responses={200: InboxOfferSerializer(many=True), 401: DetailSerializer, 403: DetailSerializer})
    def get(self, request: Request) -> Response:
        offers = selectors.inbox_offers(therapist_profile(request.user))[:200]
        return Response(InboxOfferSerializer(_inbox(request, offers), many=True).data, headers=NO_STORE)


class MyOfferActionView(APIView):
    permission_classes = [IsTherapist]
    input_serializer: type | None = None

    def post(self, request: Request, offer_id: int) -> Response:
        therapist = therapist_profile(request.user)
        offer = Offer.objects.select_related("referral", "therapist").filter(pk=offer_id, therapist=therapist).first()
        if offer is None:
            raise Http404("No such offer.")
        data = {}
        if self.input_serializer is not None:
            action_input = self.input_serializer(data=request.data)
            action_input.is_valid(raise_exception=True)
            data = action_input.validated_data
        with domain_errors():
            self.act(offer, request.user, data)
        offers = selectors.inbox_offers(therapist).filter(pk=offer.pk)
        return Response(InboxOfferSerializer(_inbox(request, offers)[0]).data, headers=NO_STORE)

    def act(self, offer: Offer, user: object, data: dict) -> None:
        raise NotImplementedError


class AcceptOfferView(MyOfferActionView):
    """Accept: the first acceptance wins; the patient's contact details become visible."""

    @extend_schema(request=None, responses={200: InboxOfferSerializer, 404: DetailSerializer, 409: ErrorSerializer})
    def post(self, request: Request, offer_id: int) -> Response:
        return super().post(request, offer_id)

    def act(self, offer: Offer, user: object, data: dict) -> None:
        services.accept_offer(offer=offer, actor=user)


class DeclineOfferView(MyOfferActionView):
    """Decline, with a reason from the fixed list (`other` needs a note)."""

    input_serializer = DeclineSerializer

    @extend_schema(
        request=DeclineSerializer,
        responses={200: InboxOfferSerializer, 400: ErrorSerializer, 404: DetailSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, offer_id: int) -> Response:
        return super().post(request, offer_id)

    def act(self, offer: Offer, user: object, data: dict) -> None:
        services.decline_offer(offer=offer, reason=data["reason"], note=data.get("note", ""), actor=user)


class ScheduleOfferView(MyOfferActionView):
    """Record the first session's date, and optionally its local time: the referral becomes `scheduled`."""

    input_serializer = ScheduleSerializer

    @extend_schema(
        request=ScheduleSerializer,
        responses={200: InboxOfferSerializer, 400: ErrorSerializer, 404: DetailSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, offer_id: int) -> Response:
        return super().post(request, offer_id)

    def act(self, offer: Offer, user: object, data: dict) -> None:
        services.schedule_first_session(
            offer=offer,
            first_session_date=data["first_session_date"],
            first_session_time=data.get("first_session_time"),
            actor=user,
        )
