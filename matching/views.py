"""Pages: "Find my match" for clients, referrals for physicians' offices, an offer for its therapist.

The therapist's inbox, which lists offers beside clients' consultation requests, is `consultations.views.inbox`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import referrer_required, therapist_required
from directory.forms import error_summary
from directory.models import AGE_GROUPS, FORMATS, Concern, FocusArea, Insurer, Language, Therapist, is_ascii_digits
from matching import selectors, services
from matching.filters import ReferralFilter
from matching.models import COMMON_DIAGNOSES, Offer, Referral
from matching.serializers import (
    MAX_ID,
    PLACE_MAX_LENGTH,
    DeclineSerializer,
    NeedSerializer,
    ReferralFormSerializer,
    ScheduleSerializer,
)

# What the forms call their fields, for the labels and for the error summary at the top.
NEED_LABELS = {
    "postal_code": "Your ZIP code or city",
    "insurance": "Insurance",
    "self_pay": "No insurance: I will pay myself",
    "max_fee": "If paying yourself: most per session ($)",
    "formats": "How would you like to meet? (choose any)",
    "focus_areas": "What is going on in your relationships? (choose any that fit)",
    "concerns": "Concerns",
    "language": "Preferred language",
    "language_required": "Only therapists who speak it",
    "age_group": "Age group",
}
REFERRAL_LABELS = {
    "patient_name": "Full name",
    "patient_birth_date": "Date of birth",
    "patient_phone": "Patient's phone",
    "patient_email": "Patient's email",
    "clinician_name": "Referring clinician",
    "clinician_npi": "Clinician's NPI",
    "clinician_phone": "Callback phone",
    "practice_name": "Practice (optional)",
    "insurance_member_id": "Insurance member ID (optional)",
    "diagnosis_code": "ICD-10-CM code (optional)",
    "reason": "Reason for referral",
    "notes": "Clinical notes for the accepting therapist (optional)",
    "urgency": "Urgency",
    **NEED_LABELS,
    "postal_code": "Patient's ZIP code or city",
    "insurance": "Patient's insurance",
    "self_pay": "Patient is self-pay",
    "max_fee": "If self-pay: most the patient can pay per session ($)",
    "formats": "Acceptable formats",
    "focus_areas": "IPT focus areas",
    "age_group": "Patient's age group",
    "language": "Patient's preferred language",
    "consent": "The patient agreed to be referred and to share these details with the therapist who accepts",
    "patient_contact_consent": "The patient agreed to be told by email or text message when a therapist accepts "
    "and when the first session is booked (no clinical content is sent)",
}


def _vocabularies() -> dict:
    return {
        "formats": list(FORMATS.items()),
        "insurers": Insurer.objects.order_by("name"),
        "focus_areas": FocusArea.objects.order_by("name"),
        "concerns": Concern.objects.order_by("name"),
        "languages": Language.objects.order_by("name"),
        "age_groups": list(AGE_GROUPS.items()),
        "place_max_length": PLACE_MAX_LENGTH,
    }


def _errors(serializer: object) -> dict[str, list[str]]:
    return {field: _messages(detail) for field, detail in serializer.errors.items()}


def _messages(detail: object) -> list[str]:
    """A field's messages; a list's come by item (`{0: [...]}`), shown together under the field."""
    if isinstance(detail, dict):
        return [message for item in detail.values() for message in _messages(item)]
    return [str(message) for message in detail]


def _error_context(errors: dict[str, list[str]], labels: dict[str, str]) -> dict:
    return {"errors": errors, "error_summary": error_summary(errors, labels)}


def find_my_match(request: HttpRequest) -> HttpResponse:
    """The client's questionnaire: results on the same page, nothing stored."""
    context = {**_vocabularies(), "query": request.GET, "labels": NEED_LABELS}
    if "postal_code" not in request.GET:
        return render(request, "matching/match.html", context)
    need_input = NeedSerializer(data=request.GET)
    if not need_input.is_valid():
        context.update(_error_context(_errors(need_input), NEED_LABELS))
        return render(request, "matching/match.html", context, status=400)
    result = services.rank_therapists(need_input.need())
    context.update(
        results=selectors.match_items(result),
        excluded=result.excluded,
        place=need_input.validated_data["place"],
        now=timezone.now(),
        # The card marks the client's plan among each therapist's (as the search page does).
        asked_insurer_ids={insurer.pk} if (insurer := need_input.validated_data.get("insurance")) else set(),
    )
    return render(request, "matching/match.html", context)


@never_cache
@sensitive_post_parameters("patient")
@require_http_methods(["GET", "POST"])
@referrer_required
def referral_list(request: HttpRequest) -> HttpResponse:
    """The referrer's referrals, by status (a GET parameter) and patient name (POSTed: PHI stays out of URLs)."""
    data = {"status": request.POST.get("status") if request.method == "POST" else request.GET.get("status")}
    if request.method == "POST":
        data["patient"] = request.POST.get("patient", "").strip()
    filters = ReferralFilter(data, queryset=selectors.referrals_of(request.user))
    context = {"statuses": Referral.Status.choices, "data": data}
    if not filters.is_valid():
        labels = {"status": "Status", "patient": "Patient's name"}
        context.update(_error_context({name: list(errors) for name, errors in filters.errors.items()}, labels))
        return render(request, "matching/referral_list.html", {**context, "referrals": []}, status=400)
    referrals = list(filters.qs[:200])
    services.log_phi_reads(user=request.user, referrals=referrals, fields=["patient_name"], channel="page:referrals")
    context.update(referrals=referrals, is_filtered=any(data.values()))
    return render(request, "matching/referral_list.html", context)


@never_cache
@sensitive_post_parameters(*services.PHI_FIELDS)
@referrer_required
def referral_create(request: HttpRequest) -> HttpResponse:
    context = {
        **_vocabularies(),
        "data": request.POST if request.method == "POST" else {},
        "labels": REFERRAL_LABELS,
        "diagnoses": COMMON_DIAGNOSES.items(),
        "clinician_words": True,
    }
    if request.method != "POST":
        return render(request, "matching/referral_form.html", context)
    referral_input = ReferralFormSerializer(data=request.POST)
    if not referral_input.is_valid():
        return _referral_refused(request, context, referral_input.errors, _errors(referral_input))
    try:
        referral = services.create_referral(referrer=request.user, request=referral_input.referral_request())
    except ValidationError as error:
        return _referral_refused(request, context, error.error_dict, error.message_dict)
    messages.success(request, "Referral submitted. Offer it to up to three therapists below.")
    return redirect("matching:referral-detail", referral.pk)


def _referral_refused(
    request: HttpRequest, context: dict, details: Mapping[str, list], errors: dict[str, list[str]]
) -> HttpResponse:
    """The crisis page for a crisis, else the form again with its errors (`details` carry the codes)."""
    if any(getattr(detail, "code", "") == services.CRISIS for detail in details.get("urgency", [])):
        return render(request, "matching/crisis.html", {"guidance": services.CRISIS_GUIDANCE}, status=400)
    context.update(_error_context(errors, REFERRAL_LABELS))
    return render(request, "matching/referral_form.html", context, status=400)


@never_cache
@referrer_required
def referral_detail(request: HttpRequest, referral_id: str) -> HttpResponse:
    return _referral_page(request, referral_id)


def _referral_page(
    request: HttpRequest, referral_id: object, *, chosen: list[int] | None = None, error: str = "", status: int = 200
) -> HttpResponse:
    """The referral's page; after a refused offer, with the refusal and the therapists that were ticked."""
    referral = selectors.referral_detail(referral_id, request.user)
    if referral is None:
        raise Http404("No such referral.")
    payload = selectors.referral_payload(referral, user=request.user, channel="page:referral-detail")
    open_offers = sum(1 for offer in referral.offers.all() if offer.status == Offer.Status.OPEN)
    accepted = services.accepted_offer(referral)
    context = {
        "referral": referral,
        "payload": payload,
        "can_offer": referral.status in services.OFFERABLE,
        "offer_slots": max(0, settings.MAX_OPEN_OFFERS - open_offers),
        "can_withdraw": Referral.Status.WITHDRAWN in services.TRANSITIONS[referral.status],
        "can_close": Referral.Status.CLOSED in services.TRANSITIONS[referral.status],
        "session_held": services.first_session_held(accepted, now=timezone.now()),
        "needs": selectors.needs_as_sent(referral, labels=services.reference_labels()),
        "chosen": chosen or [],
        "offer_error": error,
    }
    return render(request, "matching/referral_detail.html", context, status=status)


def _own_referral(request: HttpRequest, referral_id: str) -> Referral:
    referral = selectors.referrals_of(request.user).filter(pk=referral_id).first()
    if referral is None:
        raise Http404("No such referral.")
    return referral


def _run(request: HttpRequest, action: Callable[[], object], success: str) -> None:
    try:
        action()
    except (services.ReferralConflict, services.ReferralInvalid) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)


@require_POST
@referrer_required
def referral_offer(request: HttpRequest, referral_id: str) -> HttpResponse:
    referral = _own_referral(request, referral_id)
    values = request.POST.getlist("therapist")
    therapist_ids = [int(value) for value in values if is_ascii_digits(value) and int(value) <= MAX_ID]
    if not therapist_ids or len(therapist_ids) < len(values):
        error = "Choose at least one therapist from the matches to offer the referral to."
        return _referral_page(request, referral.pk, chosen=therapist_ids, error=error, status=400)
    try:
        services.offer_to_therapists(referral=referral, therapist_ids=therapist_ids, actor=request.user)
    except (services.ReferralConflict, services.ReferralInvalid) as refusal:
        # The page again, the ticks kept: the referrer unticks one rather than choosing all over again.
        return _referral_page(request, referral.pk, chosen=therapist_ids, error=str(refusal), status=400)
    messages.success(request, f"Offered to {len(therapist_ids)} therapist{'s' if len(therapist_ids) > 1 else ''}.")
    return redirect("matching:referral-detail", referral.pk)


@require_POST
@referrer_required
def referral_withdraw(request: HttpRequest, referral_id: str) -> HttpResponse:
    referral = _own_referral(request, referral_id)
    _run(request, lambda: services.withdraw_referral(referral=referral, actor=request.user), "Referral withdrawn.")
    return redirect("matching:referral-detail", referral.pk)


@require_POST
@referrer_required
def referral_close(request: HttpRequest, referral_id: str) -> HttpResponse:
    referral = _own_referral(request, referral_id)
    if request.POST.get("confirm") != "true":
        messages.error(request, "Tick the box to confirm the patient was seen at the first session.")
    else:
        _run(
            request,
            lambda: services.close_referral(referral=referral, actor=request.user),
            "Referral closed: the loop is complete.",
        )
    return redirect("matching:referral-detail", referral.pk)


@never_cache
@therapist_required
def offer_detail(request: HttpRequest, therapist: Therapist, offer_id: int) -> HttpResponse:
    offers = list(selectors.inbox_offers(therapist).filter(pk=offer_id))
    if not offers:
        raise Http404("No such offer.")
    payload = selectors.offer_payloads(
        offers, user=request.user, labels=services.reference_labels(), now=timezone.now(), channel="page:offer"
    )[0]
    context = {
        "offer": payload,
        "decline_reasons": Offer.DeclineReason.choices,
        "today": timezone.localdate(),
    }
    return render(request, "matching/offer_detail.html", context)


def _my_offer(therapist: Therapist, offer_id: int) -> Offer:
    offer = Offer.objects.select_related("referral", "therapist").filter(pk=offer_id, therapist=therapist).first()
    if offer is None:
        raise Http404("No such offer.")
    return offer


@require_POST
@therapist_required
def offer_accept(request: HttpRequest, therapist: Therapist, offer_id: int) -> HttpResponse:
    offer = _my_offer(therapist, offer_id)
    _run(
        request,
        lambda: services.accept_offer(offer=offer, actor=request.user),
        "Accepted. The patient's contact details are below: please reach out to book the first session.",
    )
    return redirect("matching:offer-detail", offer.pk)


@require_POST
@therapist_required
def offer_decline(request: HttpRequest, therapist: Therapist, offer_id: int) -> HttpResponse:
    offer = _my_offer(therapist, offer_id)
    decline_input = DeclineSerializer(data=request.POST)
    if not decline_input.is_valid():
        messages.error(request, "Choose a reason for declining.")
        return redirect("matching:offer-detail", offer.pk)
    data = decline_input.validated_data
    _run(
        request,
        lambda: services.decline_offer(
            offer=offer, reason=data["reason"], note=data.get("note", ""), actor=request.user
        ),
        "Declined. Thank you for answering quickly.",
    )
    return redirect("matching:offer-detail", offer.pk)


@require_POST
@therapist_required
def offer_schedule(request: HttpRequest, therapist: Therapist, offer_id: int) -> HttpResponse:
    offer = _my_offer(therapist, offer_id)
    schedule_input = ScheduleSerializer(data=request.POST)
    # The page asks for both; the API's time is optional.
    if not schedule_input.is_valid() or schedule_input.validated_data.get("first_session_time") is None:
        errors = schedule_input.errors or {"first_session_time": ["This field is required."]}
        labels = {"first_session_date": "Date of the first session", "first_session_time": "Time"}
        shown = [f"{label}: {' '.join(errors[name])}" for name, label in labels.items() if name in errors]
        messages.error(request, " ".join(shown))
        return redirect("matching:offer-detail", offer.pk)
    data = schedule_input.validated_data
    _run(
        request,
        lambda: services.schedule_first_session(
            offer=offer,
            first_session_date=data["first_session_date"],
            first_session_time=data["first_session_time"],
            actor=request.user,
        ),
        "First session recorded. The referring office has been told.",
    )
    return redirect("matching:offer-detail", offer.pk)
