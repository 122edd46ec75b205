"""Services for therapist self-service, moderation and keeping listings true.

The writes of a new therapist's draft profile, profile editing, staff review,
availability and listing reports, shared by the pages, the API, the admin and the commands.
(Kept apart from services.py, which holds the search and demo-data services.)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from directory import geo, search, signals
from directory.models import (
    AGE_GROUPS,
    FORMATS,
    Concern,
    Credential,
    FocusArea,
    Language,
    LicensedState,
    ListingReport,
    Office,
    Therapist,
    TherapistInsurer,
)
from directory.security import is_rate_limited

# What a therapist may change on their own profile (status, slug, NPI checks and
# training level belong to staff or are derived).
EDITABLE_FIELDS = frozenset(
    {
        "first_name", "last_name", "credentials", "pronouns", "bio", "approach", "email", "phone", "website",
        "npi", "offers_individual", "offers_family", "offers_group", "offers_online", "serves_children",
        "serves_adolescents", "serves_adults", "serves_older_adults", "fee_min", "fee_max", "sliding_scale",
        "session_cadence", "accepts_new_clients", "capacity",
    }
)  # fmt: skip
# Changing who the therapist is, or what they are licensed or certified for, needs
# staff to look again; everything else (fees, formats, bio, offices...) stays published.
REVIEWED_FIELDS = ("first_name", "last_name", "credentials", "npi")
CREDENTIAL_FIELDS = ("issuer", "level", "awarded_on", "expires_on", "certificate_number")
TRAINING_RANK = [Therapist.TrainingLevel.TRAINED, Therapist.TrainingLevel.CERTIFIED, Therapist.TrainingLevel.SUPERVISOR]


Parameters = ParamSpec("Parameters")
Returned = TypeVar("Returned")


def changes_listing(service: Callable[Parameters, Returned]) -> Callable[Parameters, Returned]:
    """Marks a service that changes what search shows of the therapist it is given (`therapist=` or
    `credential=`): once it has written, the search index follows, in the same transaction.

    The one path by which profile writes reach the index (`directory.search.refresh`).
    """

    @wraps(service)
    def wrapper(*args: Parameters.args, **kwargs: Parameters.kwargs) -> Returned:
        returned = service(*args, **kwargs)
        therapist = kwargs["therapist"] if "therapist" in kwargs else kwargs["credential"].therapist
        search.refresh([therapist.pk])
        return returned

    return wrapper


def flag_fields(*, formats: list[str] | None, age_groups: list[str] | None) -> dict[str, bool]:
    """Lists of format and age-group slugs as the profile's yes/no fields; None changes nothing."""
    fields = {}
    if formats is not None:
        fields.update({f"offers_{slug}": slug in formats for slug in FORMATS})
    if age_groups is not None:
        fields.update({f"serves_{slug.replace('-', '_')}": slug in age_groups for slug in AGE_GROUPS})
    return fields


def assign_slugs(therapists: list[Therapist]) -> None:
    """Give each therapist a slug of its own: `build_slug`, suffixed -2, -3... on a clash with another
    profile or with one given earlier in the list. The plain slugs are checked in one query."""
    wanted = [therapist.build_slug() for therapist in therapists]
    own = [therapist.pk for therapist in therapists if therapist.pk]
    taken = set(Therapist.objects.filter(slug__in=wanted).exclude(pk__in=own).values_list("slug", flat=True))
    for therapist, base in zip(therapists, wanted, strict=True):
        slug, suffix = base, 2
        while slug in taken or (slug != base and Therapist.objects.filter(slug=slug).exclude(pk__in=own).exists()):
            slug, suffix = f"{base[:110]}-{suffix}", suffix + 1
        taken.add(slug)
        therapist.slug = slug


@transaction.atomic
def create_draft_profile(
    *, user: AbstractBaseUser, first_name: str, last_name: str, credentials: str, npi: str, email: str
) -> Therapist:
    """A new therapist's draft profile, linked to their account; ValidationError names the field."""
    therapist = Therapist(
        first_name=first_name,
        last_name=last_name,
        credentials=credentials,
        npi=npi,
        email=email,
        status=Therapist.Status.DRAFT,
    )
    therapist.full_clean(exclude=["user", "slug"])
    therapist.user = user
    assign_slugs([therapist])
    therapist.save()
    return therapist


@transaction.atomic
def link_account(*, user: AbstractBaseUser, npi: str) -> None:
    """Make the profile with this NPI the user's own, and no other profile theirs."""
    Therapist.objects.filter(user=user).exclude(npi=npi).update(user=None)
    Therapist.objects.filter(npi=npi).update(user=user)


def _review_snapshot(therapist: Therapist) -> tuple:
    licences = sorted(
        (licence.state, licence.basis, licence.license_number) for licence in therapist.licensed_states.all()
    )
    credentials = sorted(
        tuple(str(getattr(credential, name)) for name in CREDENTIAL_FIELDS)
        for credential in therapist.ipt_credentials.all()
    )
    return (tuple(getattr(therapist, name) for name in REVIEWED_FIELDS), tuple(licences), tuple(credentials))


def _collect(errors: dict[str, list[str]], prefix: str, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        name = prefix if field == "__all__" else f"{prefix}.{field}"
        errors.setdefault(name, []).extend(messages)


def _office_rows(therapist: Therapist, rows: list[Mapping], errors: dict[str, list[str]]) -> list[Office]:
    offices = []
    for index, row in enumerate(rows):
        office = Office(therapist=therapist, **row)
        try:
            # Not validate_unique: its one unique field is a fresh random UUID, and the check costs a query per office.
            office.full_clean(exclude=["therapist", "latitude", "longitude"], validate_unique=False)
        except ValidationError as error:
            _collect(errors, f"offices[{index}]", error)
            continue
        zip_state = geo.zip_state(office.postal_code)
        if zip_state and zip_state != office.state:
            errors[f"offices[{index}].postal_code"] = [
                f"ZIP code {office.postal_code} is in {zip_state}, not {office.state}."
            ]
        offices.append(office)
    return offices


def _licence_rows(therapist: Therapist, rows: list[Mapping], errors: dict[str, list[str]]) -> list[LicensedState]:
    licences = []
    for index, row in enumerate(rows):
        licence = LicensedState(therapist=therapist, **row)
        try:
            licence.full_clean(exclude=["therapist"], validate_unique=False)
        except ValidationError as error:
            _collect(errors, f"licensed_states[{index}]", error)
            continue
        licences.append(licence)
    states = [licence.state for licence in licences]
    if len(states) != len(set(states)):
        errors.setdefault("licensed_states", []).append("Each state may be listed once.")
    return licences


def _insurer_rows(therapist: Therapist, rows: list[Mapping], errors: dict[str, list[str]]) -> list[TherapistInsurer]:
    links = [
        TherapistInsurer(
            therapist=therapist, insurer=row["insurer"], accepting_new_clients=row["accepting_new_clients"]
        )
        for row in rows
    ]
    insurer_ids = [link.insurer.pk for link in links]
    if len(insurer_ids) != len(set(insurer_ids)):
        errors.setdefault("insurers", []).append("Each insurer may be listed once.")
    return links


def _credential_rows(therapist: Therapist, rows: list[Mapping], errors: dict[str, list[str]]) -> list[Credential]:
    """Credentials as submitted; an edited one loses its verification, an unchanged one keeps it."""
    existing = {credential.pk: credential for credential in therapist.ipt_credentials.all()} if therapist.pk else {}
    credentials = []
    for index, row in enumerate(rows):
        values = {name: row.get(name) for name in CREDENTIAL_FIELDS}
        values["certificate_number"] = values["certificate_number"] or ""
        credential = existing.get(row.get("id")) if row.get("id") else Credential(therapist=therapist)
        if credential is None:
            errors[f"ipt_credentials[{index}].id"] = ["No credential of yours has this id."]
            continue
        if any(getattr(credential, name) != value for name, value in values.items()):
            credential.verified_at, credential.verified_by = None, None
        for name, value in values.items():
            setattr(credential, name, value)
        try:
            credential.full_clean(exclude=["therapist", "verified_by"])
        except ValidationError as error:
            _collect(errors, f"ipt_credentials[{index}]", error)
            continue
        credentials.append(credential)
    return credentials


@dataclass
class ProfileRows:
    """A profile's lists as validated by `validate_profile`, not yet saved; None where no list was given."""

    offices: list[Office] | None
    licensed_states: list[LicensedState] | None
    insurers: list[TherapistInsurer] | None
    ipt_credentials: list[Credential] | None


def validate_profile(
    *,
    therapist: Therapist,
    fields: Mapping[str, object],
    offices: list[Mapping] | None = None,
    licensed_states: list[Mapping] | None = None,
    insurers: list[Mapping] | None = None,
    ipt_credentials: list[Mapping] | None = None,
    query_database: bool = True,
) -> ProfileRows:
    """Set `fields` on the therapist (saved or not) and check them and the lists given; nothing is written.

    Every problem at once in a ValidationError keyed by field (`offices[1].postal_code`).
    `query_database=False` skips the checks that query the database, one profile at a time: the
    NPI's uniqueness, for a caller that checked the NPIs of many profiles at once (the roster
    import), and the fee constraint, which `Therapist.clean` states in Python too.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        setattr(therapist, name, value)
    try:
        therapist.full_clean(
            exclude=["user", "slug", "photo"], validate_unique=query_database, validate_constraints=query_database
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    rows = ProfileRows(
        offices=_office_rows(therapist, offices, errors) if offices is not None else None,
        licensed_states=_licence_rows(therapist, licensed_states, errors) if licensed_states is not None else None,
        insurers=_insurer_rows(therapist, insurers, errors) if insurers is not None else None,
        ipt_credentials=_credential_rows(therapist, ipt_credentials, errors) if ipt_credentials is not None else None,
    )
    if errors:
        raise ValidationError(errors)
    return rows


@transaction.atomic
@changes_listing
def update_profile(
    *,
    therapist: Therapist,
    fields: Mapping[str, object],
    focus_areas: Iterable[FocusArea] | None = None,
    concerns: Iterable[Concern] | None = None,
    languages: Iterable[Language] | None = None,
    offices: list[Mapping] | None = None,
    licensed_states: list[Mapping] | None = None,
    insurers: list[Mapping] | None = None,
    ipt_credentials: list[Mapping] | None = None,
) -> Therapist:
    """Apply a therapist's edit, all or nothing.

    Lists given (offices, licences, insurer links, credentials) replace the
    current ones; None leaves them alone. Every problem is reported at once in
    a ValidationError keyed by field (`offices[1].postal_code`). A published
    profile whose name, NPI, licences or IPT credentials changed goes back to
    pending review; other edits keep it published. Turning "accepting new
    clients" on confirms availability as of now (`confirm_availability`).
    """
    # From the row: a form bound to this instance may already have written the new value onto it.
    was_open = Therapist.objects.filter(pk=therapist.pk, accepts_new_clients=True).exists()
    before = _review_snapshot(therapist)
    rows = validate_profile(
        therapist=therapist,
        fields=fields,
        offices=offices,
        licensed_states=licensed_states,
        insurers=insurers,
        ipt_credentials=ipt_credentials,
    )

    therapist.save()
    for relation, values in (("focus_areas", focus_areas), ("concerns", concerns), ("languages", languages)):
        if values is not None:
            getattr(therapist, relation).set(values)
    if rows.offices is not None:
        therapist.offices.all().delete()
        for office in rows.offices:
            office.save()  # geocodes
    if rows.licensed_states is not None:
        therapist.licensed_states.all().delete()
        LicensedState.objects.bulk_create(rows.licensed_states)
    if rows.insurers is not None:
        therapist.insurer_links.all().delete()
        TherapistInsurer.objects.bulk_create(rows.insurers)
    if rows.ipt_credentials is not None:
        therapist.ipt_credentials.exclude(pk__in=[row.pk for row in rows.ipt_credentials if row.pk]).delete()
        for credential in rows.ipt_credentials:
            credential.save()
    if therapist.status == Therapist.Status.PUBLISHED and _review_snapshot(therapist) != before:
        therapist.status = Therapist.Status.PENDING
        therapist.save(update_fields=["status", "updated_at"])
    if therapist.accepts_new_clients and not was_open:
        confirm_availability(therapist=therapist, now=timezone.now())
    refresh_training_level(therapist=therapist, today=timezone.localdate())
    return therapist


def highest_training_level(credentials: Iterable[Credential]) -> str:
    """The training level search shows for these (verified, unexpired) credentials.

    Without one a listing still says "trained": staff check the course before
    publishing anyone, and the field has no "unknown".
    """
    levels = [credential.training_level for credential in credentials]
    return max(levels, key=TRAINING_RANK.index, default=Therapist.TrainingLevel.TRAINED)


def refresh_training_level(*, therapist: Therapist, today: datetime.date) -> str:
    """The training level search shows: the highest of the verified, unexpired credentials."""
    level = highest_training_level(therapist.ipt_credentials.verified().current(today))
    if therapist.training_level != level:
        therapist.training_level = level
        therapist.save(update_fields=["training_level", "updated_at"])
    return level


@transaction.atomic
def record_staff_edit(*, therapist_ids: Iterable[int]) -> None:
    """Staff changed these profiles, or rows of them (offices, licences) or a name they show, in the back
    office, which writes through its own forms: search follows."""
    search.refresh(therapist_ids)


@dataclass(frozen=True)
class ChecklistItem:
    """One thing missing from a profile: `field` names where it is filled in; a required one blocks submission."""

    field: str
    text: str
    is_required: bool


def submission_checklist(*, therapist: Therapist) -> list[ChecklistItem]:
    """What the profile still lacks, the required first: what `submit_for_review` refuses without, then what
    clients look for. Empty when nothing is missing. Four queries."""
    has = {
        "licensed_states": therapist.licensed_states.exists(),
        "offices": therapist.offers_online or therapist.offices.exists(),
        "ipt_credentials": therapist.ipt_credentials.exists(),
        "insurers": therapist.fee_min is not None or therapist.sliding_scale or therapist.insurer_links.exists(),
        "bio": bool(therapist.bio.strip()),
    }
    items = [
        ChecklistItem("licensed_states", "Add at least one state where you are licensed.", True),
        ChecklistItem("offices", "Add an office, or offer online sessions.", True),
        ChecklistItem("ipt_credentials", "Add your IPT training: staff check it before you are listed.", False),
        ChecklistItem("insurers", "Add the insurance plans you take, or your self-pay fees.", False),
        ChecklistItem("bio", "Write a few words about yourself for clients.", False),
    ]
    return [item for item in items if not has[item.field]]


@transaction.atomic
def submit_for_review(*, therapist: Therapist) -> Therapist:
    """A draft, or a profile sent back with changes requested, goes to staff."""
    if therapist.status not in (Therapist.Status.DRAFT, Therapist.Status.RETURNED):
        raise ValidationError(
            {"status": [f"A profile that is {therapist.get_status_display().lower()} cannot be submitted."]}
        )
    errors = {item.field: [item.text] for item in submission_checklist(therapist=therapist) if item.is_required}
    if errors:
        raise ValidationError(errors)
    therapist.status = Therapist.Status.PENDING
    therapist.save(update_fields=["status", "updated_at"])
    return therapist


def _notify(therapist: Therapist, subject: str, body: str) -> bool:
    """Email the therapist; False when they have no address.

    send_mail only queues the email (outbox) in the caller's transaction: the mail server
    is the worker's business, never the caller's.
    """
    recipient = (therapist.user.email if therapist.user else "") or therapist.email
    if not recipient:
        return False
    send_mail(f"[IPT Directory] {subject}", body, None, [recipient])
    return True


def _profile_link() -> str:
    return f"{settings.SITE_URL}/me/profile/"


@transaction.atomic
@changes_listing
def publish_profile(*, therapist: Therapist, verified_by: AbstractBaseUser | None = None, notify: bool = True) -> bool:
    """List the profile and tell the therapist (unless `notify` is false); False (nothing changes) when it is
    already published.

    A profile with an unverified IPT credential is published only when staff verify
    it in the same step (`verified_by`, recorded on each credential, now); without
    them, ValidationError on `ipt_credentials`. Availability never confirmed is
    confirmed as of publication: otherwise a newly listed therapist who accepts new
    clients would stay out of accepting searches until they found a second button.
    """
    # By the row: the admin's form may already have set "Published" on the instance.
    if Therapist.objects.filter(pk=therapist.pk, status=Therapist.Status.PUBLISHED).exists():
        return False
    unverified = list(therapist.ipt_credentials.unverified())
    if unverified and verified_by is None:
        raise ValidationError({"ipt_credentials": ["Verify the IPT credentials before publishing the profile."]})
    now = timezone.now()
    for credential in unverified:
        credential.therapist = therapist  # the same instance: the training level it refreshes stays current
        verify_credential(credential=credential, moderator=verified_by, now=now)
    therapist.status = Therapist.Status.PUBLISHED
    therapist.moderation_note = ""
    therapist.save(update_fields=["status", "moderation_note", "updated_at"])
    if therapist.availability_confirmed_at is None:
        confirm_availability(therapist=therapist, now=timezone.now())
    if notify:
        _notify(
            therapist,
            "Your profile is published",
            f"Your profile is now listed: {settings.SITE_URL}{therapist.get_absolute_url()}",
        )
    return True


@transaction.atomic
@changes_listing
def request_changes(*, therapist: Therapist, message: str) -> None:
    """Send a profile back to its therapist with staff's message (stored and emailed)."""
    if not message.strip():
        raise ValidationError({"message": ["Say what the therapist should change."]})
    therapist.status = Therapist.Status.RETURNED
    therapist.moderation_note = message.strip()
    therapist.save(update_fields=["status", "moderation_note", "updated_at"])
    _notify(
        therapist, "Changes requested on your profile", f"{message.strip()}\n\nEdit and resubmit: {_profile_link()}"
    )


@transaction.atomic
@changes_listing
def suspend_profile(*, therapist: Therapist, message: str = "") -> bool:
    """Take the listing down and tell the therapist; their open referral offers are withdrawn with it.

    The way to remove a therapist: one with referral history cannot be deleted (docs/operations.md).
    False (nothing changes, nobody is emailed) when the profile is already suspended.
    """
    if Therapist.objects.filter(pk=therapist.pk, status=Therapist.Status.SUSPENDED).exists():
        return False
    # Announced before the therapist's row is written: an offer's writes lock its referral, then the
    # therapist (capacity), and the receivers keep that order.
    signals.therapist_unavailable.send(sender=Therapist, therapist=therapist)
    therapist.status = Therapist.Status.SUSPENDED
    therapist.moderation_note = message.strip()
    therapist.save(update_fields=["status", "moderation_note", "updated_at"])
    _notify(
        therapist, "Your profile is suspended", message.strip() or "Staff suspended your listing; reply to ask why."
    )
    return True


@transaction.atomic
def account_deactivated(*, user: AbstractBaseUser) -> None:
    """A therapist whose account was deactivated cannot answer referrals: announce it, as for a suspension."""
    therapist = Therapist.objects.filter(user=user).first()
    if therapist is not None:
        signals.therapist_unavailable.send(sender=Therapist, therapist=therapist)


@transaction.atomic
@changes_listing
def verify_credential(*, credential: Credential, moderator: AbstractBaseUser, now: datetime.datetime) -> bool:
    """Record who verified the credential and when; False (the first record kept) when it was verified already."""
    if credential.verified_at is not None:
        return False
    credential.verified_at, credential.verified_by = now, moderator
    credential.save(update_fields=["verified_at", "verified_by"])
    refresh_training_level(therapist=credential.therapist, today=timezone.localdate(now))
    return True


@transaction.atomic
@changes_listing
def confirm_availability(*, therapist: Therapist, now: datetime.datetime) -> Therapist:
    """The therapist vouches for their availability today; open reports are answered by it, and a silence lifted."""
    therapist.availability_confirmed_at = now
    therapist.reconfirmation_requested_at = None
    therapist.save(update_fields=["availability_confirmed_at", "reconfirmation_requested_at", "updated_at"])
    # By the row, not the instance: the instance may have been read before the silence.
    if Therapist.objects.filter(pk=therapist.pk, silenced_at__isnull=False).update(
        silenced_at=None, silence_lifted_at=now
    ):
        therapist.silenced_at, therapist.silence_lifted_at = None, now
    return therapist


@transaction.atomic
@changes_listing
def silence(*, therapist: Therapist, now: datetime.datetime) -> bool:
    """Take the therapist out of accepting searches and matches until they confirm their availability.

    Called by `consultations.silence` when requests expired unanswered too many
    times in a row. False (and nothing changes) when they were already silenced.
    """
    if not Therapist.objects.filter(pk=therapist.pk, silenced_at__isnull=True).update(silenced_at=now):
        return False
    therapist.silenced_at = now
    return True


def send_availability_reminders(*, now: datetime.datetime, days_before: int) -> int:
    """Email each accepting therapist whose availability expires within `days_before` days, once per cycle.

    Each reminder is queued in one transaction with its record, so that a reminder is
    recorded if and only if it is queued. Returns how many were queued.
    """
    sent = 0
    for therapist in Therapist.objects.due_availability_reminder(now, days_before=days_before).select_related("user"):
        expires = (therapist.availability_confirmed_at or now) + datetime.timedelta(
            days=settings.AVAILABILITY_FRESHNESS_DAYS
        )
        body = (
            f"Your listing shows you as accepting new clients. Unless you confirm it, from {expires:%B %-d, %Y} "
            f"it will read “availability not confirmed” and leave searches for accepting therapists.\n\n"
            f"Confirm in one click: {_profile_link()}"
        )
        with transaction.atomic():
            if _notify(therapist, "Please confirm your availability", body):
                sent += 1
            # Recorded even without an address, so nobody is retried daily.
            Therapist.objects.filter(pk=therapist.pk).update(availability_reminder_sent_at=now)
    return sent


class ReportsThrottled(Exception):
    """One client address sent LISTING_REPORTS_PER_HOUR reports within the hour (HTTP 429)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"You have sent {limit} reports in the last hour. Please try again in an hour.")


@transaction.atomic
def report_listing(
    *, therapist: Therapist, reason: str, details: str, client_ip: str | None, now: datetime.datetime
) -> ListingReport:
    """Anyone's report of a wrong listing: stored for staff, and the therapist is asked to re-confirm.

    Raises ReportsThrottled past LISTING_REPORTS_PER_HOUR reports from one client
    address (each report emails the therapist), and ValidationError for a bad report.
    """
    limit = settings.LISTING_REPORTS_PER_HOUR
    if is_rate_limited(scope="listing-report", key=client_ip or "", limit=limit, window=datetime.timedelta(hours=1)):
        raise ReportsThrottled(limit)
    report = ListingReport(
        therapist=therapist, reason=reason, details=details.strip(), client_ip=client_ip or None, created_at=now
    )
    report.full_clean(exclude=["therapist"])
    if reason == ListingReport.Reason.OTHER and not report.details:
        raise ValidationError({"details": ["Tell us what is wrong with this listing."]})
    report.save()
    therapist.reconfirmation_requested_at = now
    therapist.save(update_fields=["reconfirmation_requested_at"])
    _notify(
        therapist,
        "Someone reported a problem with your listing",
        f"Reason: {report.get_reason_display()}.\n{report.details}\n\n"
        f"Please check your profile and confirm your availability: {_profile_link()}",
    )
    return report


def resolve_reports(*, reports: Iterable[ListingReport], now: datetime.datetime) -> int:
    return ListingReport.objects.filter(pk__in=[report.pk for report in reports], resolved_at__isnull=True).update(
        resolved_at=now
    )
