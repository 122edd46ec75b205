"""Pages of the consultation loop: the client's private status page, and a therapist's view of one request.

Every response that shows a client's details is `never_cache` (Cache-Control:
no-store among others), and a therapist's read of them is logged first.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.decorators import therapist_required
from consultations import selectors, services
from consultations.models import Consultation
from directory.models import Therapist, is_ascii_digits


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


CLIENT_ACTIONS = {
    "withdraw": (
        lambda consultation_request, request: services.withdraw(
            request=consultation_request, consultation_id=_consultation_id(request)
        ),
        "Withdrawn: that therapist no longer sees your request.",
    ),
    "contacted": (
        lambda consultation_request, request: services.report_outcome(
            request=consultation_request, consultation_id=_consultation_id(request), outcome="contacted"
        ),
        "Thank you: glad they got in touch.",
    ),
    "never_heard": (
        lambda consultation_request, request: services.report_outcome(
            request=consultation_request, consultation_id=_consultation_id(request), outcome="never_heard"
        ),
        "Thank you for telling us: our staff will follow up with the therapist.",
    ),
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
                "Confirmed: your request was sent. Each therapist has two business days to answer.",
            )
        elif action in CLIENT_ACTIONS:
            run, success = CLIENT_ACTIONS[action]
            _run(request, lambda: run(consultation_request, request), success)
        else:
            messages.error(request, "Choose what to do.")
        return redirect("consultations:status", token)
    context = {
        "consultation_request": consultation_request,
        "consultations": selectors.of_request(consultation_request),
        "chosen": selectors.chosen(consultation_request),
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
    context = {"consultation": payload, "decline_reasons": Consultation.DeclineReason.choices}
    return render(request, "consultations/detail.html", context)


@never_cache
@therapist_required
def accept(request: HttpRequest, therapist: Therapist, consultation_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("consultations:detail", consultation_id)
    consultation = _mine(therapist, consultation_id)
    _run(
        request,
        lambda: services.accept(consultation=consultation),
        "Accepted. The client's contact details are below, and they were told you will get in touch.",
    )
    return redirect("consultations:detail", consultation.pk)


@never_cache
@therapist_required
def decline(request: HttpRequest, therapist: Therapist, consultation_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("consultations:detail", consultation_id)
    consultation = _mine(therapist, consultation_id)
    _run(
        request,
        lambda: services.decline(consultation=consultation, reason=request.POST.get("reason", "")),
        "Declined. The client was sent other therapists to ask.",
    )
    return redirect("consultations:detail", consultation.pk)
