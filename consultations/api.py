"""JSON API of consultations: a client asks (anyone), a therapist reads and answers (role `therapists`),
and the public accuracy figures.

Every response that shows a client's details is no-store, and the read is
logged first (selectors.therapist_views). The rules live in the services.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTherapist
from accounts.roles import therapist_profile
from consultations import accuracy, selectors, services
from consultations.models import Consultation
from consultations.serializers import (
    PHI_FIELDS,
    AccuracySerializer,
    ConsultationAskedSerializer,
    ConsultationAskSerializer,
    ConsultationDeclineSerializer,
    ConsultationSerializer,
)
from directory.security import client_ip
from directory.serializers import DetailSerializer, ErrorSerializer

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ASK_EXAMPLE = OpenApiExample(
    "Two therapists, Aetna, evenings",
    value={
        "therapists": [101, 102],
        "first_name": "Sam",
        "email": "sam@example.com",
        "phone": "718 555 0199",
        "message": "Since my mother died I keep fighting with my partner.",
        "insurance": "aetna",
        "formats": ["individual", "online"],
        "preferred_times": ["weekday-evenings"],
        "consent": True,
    },
    request_only=True,
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This request is no longer waiting for an answer."


@method_decorator(sensitive_post_parameters(*PHI_FIELDS), name="dispatch")
class AskView(APIView):
    """Ask 1 to 3 therapists for a consultation. Anonymous; nothing reaches them before the emailed link is opened."""

    permission_classes = [permissions.AllowAny]
    # Its own rate (THROTTLE_CONSULTATION_RATE), before the services' daily limits per address and per email.
    throttle_scope = "consultation"

    @extend_schema(
        request=ConsultationAskSerializer,
        responses={201: ConsultationAskedSerializer, 400: ErrorSerializer, 429: DetailSerializer},
        examples=[ASK_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        ask_input = ConsultationAskSerializer(data=request.data)
        ask_input.is_valid(raise_exception=True)
        # The service's refusals (a Django ValidationError by field) are 400s through the exception handler.
        try:
            services.submit_request(ask=ask_input.ask(), client_address=client_ip(request))
        except services.ConsultationLimited as error:
            raise exceptions.Throttled(wait=services.RATE_WINDOW.total_seconds(), detail=str(error)) from error
        return Response({"status": "unverified"}, status=status.HTTP_201_CREATED, headers=NO_STORE)


class MyConsultationListView(APIView):
    """Clients' requests to the caller, waiting ones first; the contact only on those the caller accepted."""

    permission_classes = [IsTherapist]

    @extend_schema(responses={200: ConsultationSerializer(many=True), 401: DetailSerializer, 403: DetailSerializer})
    def get(self, request: Request) -> Response:
        consultations = list(selectors.inbox(therapist_profile(request.user))[: selectors.INBOX_LIMIT])
        views = selectors.therapist_views(consultations, user=request.user, channel="api:consultations")
        return Response(ConsultationSerializer(views, many=True).data, headers=NO_STORE)


def _mine(request: Request, consultation_id: int) -> Consultation:
    """One of the caller's consultations whose request is still kept; any other is a 404."""
    consultation = selectors.inbox(therapist_profile(request.user)).filter(pk=consultation_id).first()
    if consultation is None:
        raise Http404("No such request.")
    return consultation


def _answered(request: Request, consultation: Consultation, answer: Callable[[], object]) -> Response:
    """Run the answer, a 409 when the request stopped waiting meanwhile; then the request as it now stands."""
    try:
        answer()
    except services.ConsultationConflict as error:
        raise Conflict(str(error)) from error
    view = selectors.therapist_view(consultation, user=request.user, channel="api:consultation")
    return Response(ConsultationSerializer(view).data, headers=NO_STORE)


class AcceptConsultationView(APIView):
    """Accept: the client's email and phone become visible, and the client is told who will get in touch."""

    permission_classes = [IsTherapist]

    @extend_schema(
        request=None,
        responses={
            200: ConsultationSerializer, 401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer,
            409: DetailSerializer,
        },
    )  # fmt: skip
    def post(self, request: Request, consultation_id: int) -> Response:
        consultation = _mine(request, consultation_id)
        return _answered(request, consultation, lambda: services.accept(consultation=consultation))


class DeclineConsultationView(APIView):
    """Decline with a reason from the offers' list; the client is emailed up to 3 other therapists."""

    permission_classes = [IsTherapist]

    @extend_schema(
        request=ConsultationDeclineSerializer,
        responses={
            200: ConsultationSerializer, 400: ErrorSerializer, 401: DetailSerializer, 403: DetailSerializer,
            404: DetailSerializer, 409: DetailSerializer,
        },
    )  # fmt: skip
    def post(self, request: Request, consultation_id: int) -> Response:
        consultation = _mine(request, consultation_id)
        decline_input = ConsultationDeclineSerializer(data=request.data)
        decline_input.is_valid(raise_exception=True)
        reason = decline_input.validated_data["reason"]
        return _answered(request, consultation, lambda: services.decline(consultation=consultation, reason=reason))


class AccuracyView(APIView):
    """How true the directory is: fresh availability, replies in time, reports handled, silences (public)."""

    @extend_schema(responses={200: AccuracySerializer})
    def get(self, request: Request) -> Response:
        return Response(AccuracySerializer(accuracy.figures().as_dict()).data)
