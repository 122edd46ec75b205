"""Pages of the consultation loop: the client's form and private status page, and a therapist's view of one request.

Every response that shows a client's details is `never_cache` (Cache-Control:
no-store among others), and a therapist's read of them is logged first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts.decorators import therapist_required
from consultations import accuracy as accuracy_figures
from consultations import selectors, services
from consultations.forms import ConsultationForm, SearchOrigin, parse_ids, search_origin
from consultations.models import Consultation
from directory.models import Therapist, is_ascii_digits
from directory.security import client_ip


def _run(request: HttpRequest, action: Callable[[], object], success: str) -> None:
    try:
        action()
    except services.ConsultationConflict as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except Consultation.DoesNotExist:
        raise Http404("No such request.") from None
    else:
        messages.success(request, success)


def _consultation_id(request: HttpRequest) -> int:
    value = request.POST.get("consultation", "")
    if not is_ascii_digits(value) or len(value) > 12:
        raise Http404("No such request.")
    return int(value)


# Where the error summary links for a field drawn as a group of boxes (the first box), or as the therapists' group.
GROUP_ANCHORS = {"therapists": "therapists", "preferred_times": "id_preferred_times_0", "formats": "id_formats_0"}


@never_cache
def new(request: HttpRequest) -> HttpResponse:
    """The request form: opened from a "Request a consultation" link (GET), sent (POST), then "Check your email".

    GET `?therapist=<id>` (repeatable) names who is asked, and `from` the search the
    link was on, whose other results the page offers to ask as well.
    """
    origin = search_origin((request.POST if request.method == "POST" else request.GET).get("from", ""))
    if request.method != "POST":
        try:
            chosen = parse_ids(request.GET.getlist("therapist"))
        except ValidationError as error:
            return _form_page(request, ConsultationForm(), origin, (), errors={"therapists": error.messages})
        error = services.therapists_error(chosen) if chosen else None
        errors = {"therapists": error.messages} if error else {}
        return _form_page(request, ConsultationForm(), origin, chosen, errors=errors)
    form = ConsultationForm(request.POST)
    form.is_valid()
    ask = form.ask()
    if not form.errors:
        try:
            services.submit_request(ask=ask, client_address=client_ip(request))
        except services.ConsultationLimited as limited:
            return _form_page(request, form, origin, ask.therapist_ids, limited=str(limited))
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_messages)
        else:
            return redirect("consultations:sent")
    else:  # every problem at once, not the service's only after the form's are fixed
        for field, field_error in services.ask_errors(ask).items():
            if field not in form.errors:
                form.add_error(field, field_error)
    return _form_page(request, form, origin, ask.therapist_ids, errors=form.errors)


def _form_page(
    request: HttpRequest,
    form: ConsultationForm,
    origin: SearchOrigin | None,
    chosen_ids: tuple[int, ...],
    *,
    errors: dict | None = None,
    limited: str = "",
) -> HttpResponse:
    """The form, with the therapists chosen ticked and the other results of the search they came from.

    400 with errors, 429 when the request was refused for the day's limit.
    """
    chosen = selectors.requestable(chosen_ids)
    found = selectors.search_results(origin.query, page=origin.page, page_size=origin.page_size) if origin else []
    distances = {therapist.pk: therapist.distance_miles for therapist in found}
    for therapist in chosen:
        therapist.distance_miles = distances.get(therapist.pk)
    shown = {therapist.pk for therapist in chosen}
    errors = errors or {}
    context = {
        "form": form,
        "chosen": chosen,
        "others": [therapist for therapist in found if therapist.pk not in shown],
        "from_query": origin.query_string if origin else "",
        "errors": errors,
        "error_summary": [
            (
                form[name].label if name in form.fields else "",
                messages,
                GROUP_ANCHORS.get(name, f"id_{name}" if name in form.fields else ""),
            )
            for name, messages in errors.items()
        ],
        "therapist_errors": errors.get("therapists", []),
        "limited": limited,
        "most": settings.CONSULTATION_MAX_THERAPISTS,
        "reply_days": settings.CONSULTATION_REPLY_BUSINESS_DAYS,
    }
    status = 429 if limited else 400 if errors else 200
    return render(request, "consultations/new.html", context, status=status)


@require_safe
def sent(request: HttpRequest) -> HttpResponse:
    """After the form: what happens next. It names nobody: the client's details stay out of the URL and the page."""
    context = {
        "verify_hours": settings.CONSULTATION_VERIFY_HOURS,
        "reply_days": settings.CONSULTATION_REPLY_BUSINESS_DAYS,
    }
    return render(request, "consultations/sent.html", context)


# What the client's buttons do to one of their consultations, and what the page then says.
CLIENT_ACTIONS = {
    "withdraw": (services.withdraw, "Withdrawn: that therapist no longer sees your request."),
    "contacted": (
        partial(services.report_outcome, outcome=Consultation.Outcome.CONTACTED),
        "Thank you: glad they got in touch.",
    ),
    "never_heard": (
        partial(services.report_outcome, outcome=Consultation.Outcome.NEVER_HEARD),
        "Thank you for telling us: our staff will follow up with the therapist.",
    ),
}


# A therapist's reason for declining, as the client reads it.
DECLINE_WORDS = {
    Consultation.DeclineReason.NO_CAPACITY: "they have no openings for new clients now",
    Consultation.DeclineReason.INSURANCE: "they do not work with your insurance",
    Consultation.DeclineReason.OUTSIDE_FOCUS: "what you asked for is outside their focus",
    Consultation.DeclineReason.LOCATION: "where they work does not suit what you asked for",
}


@never_cache
def status(request: HttpRequest, token: str) -> HttpResponse:
    """The client's page: confirm the request (POST `confirm`), then follow, withdraw or report on each."""
    consultation_request = services.request_for_link(token)
    if consultation_request is None:
        raise Http404("This link is not valid any more.")
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "confirm":
            _run(
                request,
                lambda: services.confirm_request(request=consultation_request),
                f"Confirmed: your request was sent. Each therapist has {settings.CONSULTATION_REPLY_BUSINESS_DAYS} "
                "business days to answer.",
            )
        elif action in CLIENT_ACTIONS:
            act, success = CLIENT_ACTIONS[action]
            consultation_id = _consultation_id(request)
            _run(request, lambda: act(request=consultation_request, consultation_id=consultation_id), success)
        else:
            messages.error(request, "Choose what to do.")
        return redirect("consultations:status", token)
    consultations = selectors.for_client(consultation_request)
    for consultation in consultations:
        consultation.decline_words = DECLINE_WORDS.get(consultation.decline_reason, "")
    context = {
        "consultation_request": consultation_request,
        "consultations": consultations,
        "chosen": selectors.chosen(consultation_request),
        "reply_days": settings.CONSULTATION_REPLY_BUSINESS_DAYS,
        "verify_hours": settings.CONSULTATION_VERIFY_HOURS,
    }
    return render(request, "consultations/status.html", context)


@never_cache
@therapist_required
def inbox(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    """The therapist's one inbox: physicians' offers and clients' consultation requests, waiting ones first."""
    items = selectors.inbox_items(therapist, user=request.user, now=timezone.now(), channel="page:inbox")
    return render(request, "consultations/inbox.html", {"items": items})


def _mine(therapist: Therapist, consultation_id: int) -> Consultation:
    consultation = selectors.inbox(therapist).filter(pk=consultation_id).first()
    if consultation is None:
        raise Http404("No such request.")
    return consultation


@never_cache
@therapist_required
def detail(request: HttpRequest, therapist: Therapist, consultation_id: int) -> HttpResponse:
    consultation = _mine(therapist, consultation_id)
    payload = selectors.therapist_view(consultation, user=request.user, channel="page:consultation")
    context = {
        "consultation": payload,
        "decline_reasons": Consultation.DeclineReason.choices,
        "time_left": selectors.time_left(payload["reply_by"], now=timezone.now()),
    }
    return render(request, "consultations/detail.html", context)


def _answer(
    request: HttpRequest,
    therapist: Therapist,
    consultation_id: int,
    answer: Callable[[Consultation], object],
    success: str,
) -> HttpResponse:
    """Accept or decline one of the therapist's requests (POST), then back to its page."""
    if request.method == "POST":
        consultation = _mine(therapist, consultation_id)
        _run(request, lambda: answer(consultation), success)
    return redirect("consultations:detail", consultation_id)


@never_cache
@therapist_required
def accept(request: HttpRequest, therapist: Therapist, consultation_id: int) -> HttpResponse:
    return _answer(
        request, therapist, consultation_id, lambda consultation: services.accept(consultation=consultation),
        "Accepted. The client's contact details are below, and they were told you will get in touch.",
    )  # fmt: skip


@never_cache
@therapist_required
def decline(request: HttpRequest, therapist: Therapist, consultation_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _answer(
        request, therapist, consultation_id,
        lambda consultation: services.decline(consultation=consultation, reason=reason),
        "Declined. The client was sent other therapists to ask.",
    )  # fmt: skip


def accuracy(request: HttpRequest) -> HttpResponse:
    """How true the directory is, in public figures (`consultations.accuracy`)."""
    context = {
        "figures": accuracy_figures.figures(),
        "cache_minutes": accuracy_figures.CACHE_SECONDS // 60,
        "reply_days": settings.CONSULTATION_REPLY_BUSINESS_DAYS,
        "silence_limit": settings.CONSULTATION_SILENCE_LIMIT,
        "freshness_days": settings.AVAILABILITY_FRESHNESS_DAYS,
    }
    return render(request, "consultations/accuracy.html", context)
