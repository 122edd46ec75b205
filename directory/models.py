"""Therapist profiles, their offices and licences, and the reference vocabularies."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from directory import geo
from directory.text import excerpt

FORMATS = {
    "individual": "Individual",
    "family": "Family",
    "group": "Group",
    "online": "Online (telehealth)",
}
AGE_GROUPS = {
    "children": "Children",
    "adolescents": "Adolescents",
    "adults": "Adults",
    "older-adults": "Older adults",
}
STATE_CHOICES = sorted(geo.US_STATES.items())


def npi_check_digit(prefix: str) -> int:
    """The Luhn check digit of an NPI, computed over "80840" + its first nine digits."""
    total = 0
    # Double every second digit from the right of the payload, its last digit first.
    for position, digit in enumerate(int(character) for character in reversed("80840" + prefix)):
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def is_ascii_digits(text: str) -> bool:
    """Only 0-9: `str.isdigit()` is also true of a full-width 3 (int() reads it as 3) and of "²" (int() refuses it)."""
    return text.isascii() and text.isdigit()


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and is_ascii_digits(npi) and npi_check_digit(npi[:9]) == int(npi[9])


def validate_npi(value: str) -> None:
    if not is_ascii_digits(value) or len(value) != 10:
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    if not npi_is_valid(value):
        raise ValidationError("This NPI fails its check digit (Luhn rule): check for a typo.", code="npi_luhn")


class ReferenceQuerySet(models.QuerySet):
    def by_slugs(self, slugs: list[str]) -> ReferenceQuerySet:
        return self.filter(slug__in=slugs)


# A therapist silenced this many days ago and still hidden is reminded once.
SILENCE_REMINDER_DAYS = 7
MAX_VOCABULARY_ID = 62  # a reference row's id is its bit in the search index's signed 64-bit masks


class Vocabulary(models.Model):
    """A reference table (insurers, focus areas, concerns, languages): each id is a bit in the search index."""

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        if self.pk is None:
            highest = type(self)._default_manager.aggregate(highest=Max("pk"))["highest"] or 0
            if highest >= MAX_VOCABULARY_ID:
                raise ValidationError(
                    f"This list is full: search keeps one bit per entry, for ids up to {MAX_VOCABULARY_ID}. "
                    "Reuse or rename an entry that is no longer needed."
                )


class Insurer(Vocabulary):
    class Kind(models.TextChoices):
        COMMERCIAL = "commercial", "Commercial"
        MEDICARE = "medicare", "Medicare"
        MEDICAID = "medicaid", "Medicaid"
        MILITARY = "military", "Military (TRICARE)"
        EAP = "eap", "Employee assistance program"
        MARKETPLACE = "marketplace", "Marketplace"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.COMMERCIAL)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FocusArea(Vocabulary):
    """An IPT problem area (the seed's "key focus areas")."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    client_prompt = models.CharField(max_length=200, blank=True, help_text="Plain-language question shown to clients.")

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Concern(Vocabulary):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Language(Vocabulary):
    code = models.CharField(max_length=3, unique=True, help_text="ISO 639-1 code")
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def freshness_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """The oldest availability confirmation still believed: AVAILABILITY_FRESHNESS_DAYS before `now`.

    The one statement of the freshness rule for the database and the pages
    (the ranking engine gets the same window through its `Policy`).
    """
    return (now or timezone.now()) - datetime.timedelta(days=settings.AVAILABILITY_FRESHNESS_DAYS)


def is_fresh(confirmed_at: datetime.datetime | None, now: datetime.datetime | None = None) -> bool:
    """Availability confirmed within the freshness window."""
    return confirmed_at is not None and confirmed_at >= freshness_cutoff(now)


def is_open_to_new_clients(accepts_new_clients: bool, silenced_at: datetime.datetime | None) -> bool:
    """The therapist says they accept new clients, and has not lost it for silence since their last confirmation.

    Silence: CONSULTATION_SILENCE_LIMIT consultation requests in a row left to
    expire unanswered (`consultations.silence`); confirming availability lifts it.
    """
    return bool(accepts_new_clients) and silenced_at is None


def is_accepting(
    accepts_new_clients: bool,
    confirmed_at: datetime.datetime | None,
    now: datetime.datetime | None = None,
    *,
    silenced_at: datetime.datetime | None,
) -> bool:
    """What the public sees: open to new clients, and confirmed recently enough to believe.

    The same rule as `TherapistQuerySet.accepting` and the search index's `accepting_since`.
    """
    return is_open_to_new_clients(accepts_new_clients, silenced_at) and is_fresh(confirmed_at, now)


def photo_file_name(therapist: Therapist, filename: str) -> str:
    """A random name for a stored photo: never the uploader's file name, and not guessable from the profile."""
    return f"therapists/{uuid.uuid4().hex}.jpg"


def takes_referrals() -> Q:
    """The one statement of who can answer an offer or a consultation request (`taking_referrals`)."""
    return Q(status=Therapist.Status.PUBLISHED) & (Q(user__isnull=True) | Q(user__is_active=True))


class TherapistQuerySet(models.QuerySet):
    def published(self) -> TherapistQuerySet:
        return self.filter(status=Therapist.Status.PUBLISHED)

    def accepting(self, now: datetime.datetime | None = None) -> TherapistQuerySet:
        """Open to new clients (not silenced), with availability confirmed within the freshness window."""
        return self.filter(
            accepts_new_clients=True, silenced_at__isnull=True, availability_confirmed_at__gte=freshness_cutoff(now)
        )

    def silenced(self) -> TherapistQuerySet:
        """Hidden from accepting searches for letting consultation requests expire, until they confirm."""
        return self.filter(silenced_at__isnull=False)

    def due_silence_reminder(self, now: datetime.datetime) -> TherapistQuerySet:
        """Silenced for SILENCE_REMINDER_DAYS or more, and not reminded since they were silenced."""
        not_reminded = Q(silence_reminder_sent_at__isnull=True) | Q(silence_reminder_sent_at__lt=F("silenced_at"))
        return self.published().filter(
            not_reminded, silenced_at__lte=now - datetime.timedelta(days=SILENCE_REMINDER_DAYS)
        )

    def due_availability_reminder(self, now: datetime.datetime, *, days_before: int) -> TherapistQuerySet:
        """Listed as accepting, expiring within `days_before` days (or expired), not yet reminded this cycle."""
        expiring_before = freshness_cutoff(now) + datetime.timedelta(days=days_before)
        not_reminded = Q(availability_reminder_sent_at__isnull=True) | Q(
            availability_reminder_sent_at__lt=F("availability_confirmed_at")
        )
        return self.published().filter(
            Q(availability_confirmed_at__isnull=True) | Q(availability_confirmed_at__lt=expiring_before),
            not_reminded,
            accepts_new_clients=True,
        )

    def taking_referrals(self) -> TherapistQuerySet:
        """Published, and not linked to a deactivated account: someone who can answer an offer or a request."""
        return self.filter(takes_referrals())

    def photo_awaiting_review(self) -> TherapistQuerySet:
        return self.exclude(photo_pending="")

    def awaiting_review(self) -> TherapistQuerySet:
        return self.filter(status=Therapist.Status.PENDING)

    def not_accepting(self, now: datetime.datetime | None = None) -> TherapistQuerySet:
        return self.exclude(pk__in=self.model.objects.accepting(now).values("pk"))

    def for_result_cards(self) -> TherapistQuerySet:
        """Only what a page of search results reads: the stored card and the live availability."""
        return self.only(
            "id", "slug", "listing_card", "accepts_new_clients", "availability_confirmed_at", "silenced_at"
        )

    def for_listing(self) -> TherapistQuerySet:
        """Everything a result card shows, in a fixed number of queries.

        `is_taking_referrals` says whether the card may offer "Request a consultation".
        """
        flag = models.ExpressionWrapper(takes_referrals(), output_field=models.BooleanField())
        return self.annotate(is_taking_referrals=flag).prefetch_related(
            "offices",
            "licensed_states",
            "focus_areas",
            "concerns",
            "languages",
            models.Prefetch(
                "insurer_links",
                queryset=TherapistInsurer.objects.select_related("insurer").order_by("insurer__name"),
            ),
        )


class Therapist(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING = "pending", "Pending review"
        PUBLISHED = "published", "Published"
        # Staff sent it back with a message (moderation_note); the therapist edits and resubmits.
        RETURNED = "returned", "Changes requested"
        SUSPENDED = "suspended", "Suspended"

    class TrainingLevel(models.TextChoices):
        TRAINED = "trained", "IPT trained (accredited course)"
        CERTIFIED = "certified", "Certified IPT therapist"
        SUPERVISOR = "supervisor", "IPT supervisor or trainer"

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every two weeks"
        EITHER = "either", "Weekly or every two weeks"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="therapist_profile",
    )
    slug = models.SlugField(unique=True, max_length=120)
    # The id the open standards publish (HSDS, FHIR): stable, and saying nothing of the row's number.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    credentials = models.CharField(max_length=120, help_text="For example: LCSW, PhD, LMFT")
    pronouns = models.CharField(max_length=40, blank=True)
    bio = models.TextField(blank=True, max_length=4000)
    approach = models.TextField(
        blank=True, max_length=4000, help_text="What an IPT course with this therapist looks like."
    )
    # Photos: the approved pair is public; the pending pair waits for staff (directory.photos).
    photo = models.ImageField(upload_to=photo_file_name, blank=True, editable=False)
    photo_thumbnail = models.ImageField(upload_to=photo_file_name, blank=True, editable=False)
    photo_pending = models.ImageField(upload_to=photo_file_name, blank=True, editable=False)
    photo_pending_thumbnail = models.ImageField(upload_to=photo_file_name, blank=True, editable=False)
    photo_submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    photo_rejection_reason = models.CharField(
        max_length=300, blank=True, editable=False, help_text="Why staff did not approve the last photo"
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9 ()+.\-]{7,20}$", "Enter a phone number.")],
    )
    website = models.URLField(blank=True)
    npi = models.CharField("NPI", max_length=10, unique=True, validators=[validate_npi])
    training_level = models.CharField(max_length=20, choices=TrainingLevel.choices, default=TrainingLevel.TRAINED)

    offers_individual = models.BooleanField(default=True)
    offers_family = models.BooleanField(default=False)
    offers_group = models.BooleanField(default=False)
    offers_online = models.BooleanField(default=False)

    serves_children = models.BooleanField(default=False)
    serves_adolescents = models.BooleanField(default=False)
    serves_adults = models.BooleanField(default=True)
    serves_older_adults = models.BooleanField(default=False)

    insurers = models.ManyToManyField(Insurer, through="TherapistInsurer", blank=True)
    focus_areas = models.ManyToManyField(FocusArea, blank=True)
    concerns = models.ManyToManyField(Concern, blank=True)
    languages = models.ManyToManyField(Language, blank=True)

    fee_min = models.PositiveIntegerField(null=True, blank=True, help_text="Self-pay fee per session, lowest (USD)")
    fee_max = models.PositiveIntegerField(null=True, blank=True, help_text="Self-pay fee per session, highest (USD)")
    sliding_scale = models.BooleanField(default=False)
    session_cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.WEEKLY)

    accepts_new_clients = models.BooleanField(default=True)
    capacity = models.PositiveSmallIntegerField(
        default=0, help_text="Open slots for new clients", validators=[MaxValueValidator(200)]
    )
    availability_confirmed_at = models.DateTimeField(null=True, blank=True)
    availability_reminder_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last 'please confirm your availability' email went out"
    )
    reconfirmation_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when someone reports the listing; cleared when the therapist confirms"
    )
    silenced_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when consultation requests expired unanswered several times in a row: the listing then "
        "leaves accepting searches and matches until the therapist confirms their availability",
    )
    silence_lifted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the therapist last confirmed their availability after a silence"
    )
    silence_reminder_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last 'you are still hidden' email went out"
    )
    moderation_note = models.TextField(blank=True, help_text="Staff's last message to the therapist")

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    is_demo = models.BooleanField(default=False, help_text="A fictional listing from the demo data")
    # The search result's static fields as JSON text (text keeps key order on every
    # database), so a page of results is one query. Owned by the search package
    # (`directory.search.refresh`), which the profile services call after each write.
    listing_card = models.TextField(blank=True, default="", editable=False)
    # How the therapist answers, over the last 180 days of clients' consultation requests and physicians'
    # offers: `matching.responsiveness.measure`, written by `consultations.measures` (directory imports
    # neither). `reply_summary` is the measure in words (`in_words`), blank while too few requests to show.
    reply_requests = models.PositiveIntegerField(default=0, editable=False)
    reply_answered = models.PositiveIntegerField(default=0, editable=False)
    reply_answered_in_time = models.PositiveIntegerField(default=0, editable=False)
    reply_median_hours = models.FloatField(null=True, blank=True, editable=False)
    reply_never_heard_back = models.PositiveIntegerField(default=0, editable=False)
    reply_summary = models.CharField(max_length=160, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TherapistQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["status", "accepts_new_clients", "availability_confirmed_at"]),
            models.Index(fields=["last_name", "first_name", "id"], name="therapist_name_order"),
            # Pages of the published listing by name, read from the index alone.
            models.Index(fields=["status", "last_name", "first_name", "id"], name="therapist_published_name"),
            models.Index(fields=["-updated_at", "id"], name="therapist_updated_order"),
            # A FHIR `specialty=` search from the index alone: the distinct published credential texts, then the
            # therapists with those a specialty names, counted and paged in name order.
            models.Index(
                fields=["status", "credentials", "last_name", "first_name", "id"], name="therapist_published_creds"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_min__isnull=True) | Q(fee_max__isnull=True) | Q(fee_min__lte=F("fee_max")),
                name="therapist_fee_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.credentials}"

    def clean(self) -> None:
        if self.fee_min is not None and self.fee_max is not None and self.fee_min > self.fee_max:
            raise ValidationError({"fee_max": "The highest fee must be at least the lowest fee."})

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def formats(self) -> list[str]:
        return [slug for slug in FORMATS if getattr(self, f"offers_{slug}")]

    @property
    def format_labels(self) -> list[str]:
        return [FORMATS[slug] for slug in self.formats]

    @property
    def age_groups(self) -> list[str]:
        return [slug for slug in AGE_GROUPS if getattr(self, f"serves_{slug.replace('-', '_')}")]

    @property
    def age_group_labels(self) -> list[str]:
        return [AGE_GROUPS[slug] for slug in self.age_groups]

    def is_availability_fresh(self, now: datetime.datetime | None = None) -> bool:
        return is_fresh(self.availability_confirmed_at, now)

    @property
    def is_open_to_new_clients(self) -> bool:
        return is_open_to_new_clients(self.accepts_new_clients, self.silenced_at)

    def is_accepting(self, now: datetime.datetime | None = None) -> bool:
        """What the public sees: accepting, and confirmed recently enough to believe."""
        return is_accepting(self.accepts_new_clients, self.availability_confirmed_at, now, silenced_at=self.silenced_at)

    def get_absolute_url(self) -> str:
        return reverse("directory:therapist-detail", kwargs={"slug": self.slug})

    def build_slug(self) -> str:
        return slugify(f"{self.first_name} {self.last_name} {self.npi[-4:]}")[:120]

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.slug:
            self.slug = self.build_slug()
        super().save(*args, **kwargs)

    @property
    def photo_url(self) -> str | None:
        """The approved photo (at most PHOTO_EDGE pixels a side), the only one the public may see."""
        return self.photo.url if self.photo else None

    @property
    def photo_thumbnail_url(self) -> str | None:
        """The approved photo's square thumbnail, for cards."""
        return self.photo_thumbnail.url if self.photo_thumbnail else None

    @property
    def bio_excerpt(self) -> str:
        """The opening of the bio that a result card shows (`directory.text.excerpt`)."""
        return excerpt(self.bio)

    @property
    def initials(self) -> str:
        """What a card shows in place of a photo: the first letters of the first and last names."""
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    @property
    def photo_status(self) -> str:
        """What the therapist sees of their photo: "pending", "rejected", "approved" or "none"."""
        if self.photo_pending:
            return "pending"
        if self.photo_rejection_reason:
            return "rejected"
        return "approved" if self.photo else "none"

    # Derived from prefetched relations: no query when for_listing() was used.
    @property
    def insurer_list(self) -> list[Insurer]:
        return [link.insurer for link in self.insurer_links.all()]

    @property
    def published_responsiveness(self) -> dict | None:
        """The API's `responsiveness`: shown exactly when the measure has its words (enough requests), else None."""
        if not self.reply_summary:
            return None
        return {
            "requests": self.reply_requests,
            "answered_in_time": self.reply_answered_in_time,
            "median_reply_hours": self.reply_median_hours,
        }

    @property
    def licensed_state_codes(self) -> list[str]:
        return sorted({licence.state for licence in self.licensed_states.all()})


class TherapistInsurer(models.Model):
    """A therapist in an insurer's network, and whether that panel is open to new clients."""

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="insurer_links")
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="therapist_links")
    accepting_new_clients = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["therapist", "insurer"], name="unique_therapist_insurer")]
        indexes = [models.Index(fields=["insurer", "therapist"])]

    def __str__(self) -> str:
        return f"{self.therapist_id} in {self.insurer}"


class Office(models.Model):
    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="offices")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    label = models.CharField(max_length=80, blank=True, help_text="For example: Main office")
    address = models.CharField(max_length=200)
    city = models.CharField(max_length=80)
    state = models.CharField(max_length=2, choices=STATE_CHOICES)
    postal_code = models.CharField(
        "ZIP code",
        max_length=10,
        validators=[RegexValidator(r"^\d{5}(-\d{4})?$", "Enter a 5-digit ZIP code.")],
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    wheelchair_accessible = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        # Covering: the box search finds therapist ids without reading office rows.
        indexes = [models.Index(fields=["latitude", "longitude", "therapist"], name="office_coordinates_therapist")]

    def __str__(self) -> str:
        return f"{self.address}, {self.city}, {self.state} {self.postal_code}"

    def clean(self) -> None:
        if self.postal_code and geo.zip_index().zip_place(self.postal_code[:5]) is None:
            raise ValidationError({"postal_code": f"{self.postal_code} is not a known US ZIP code."})

    def save(self, *args: object, **kwargs: object) -> None:
        if self.latitude is None or self.longitude is None:
            place = geo.geocode_address(self.address, self.postal_code)
            self.latitude, self.longitude = place.latitude, place.longitude
        super().save(*args, **kwargs)


class LicensedState(models.Model):
    """A state where the therapist may see clients, directly or through a compact."""

    class Basis(models.TextChoices):
        LICENSE = "license", "State licence"
        PSYPACT = "psypact", "PSYPACT"
        COUNSELING_COMPACT = "counseling-compact", "Counseling Compact"
        SOCIAL_WORK_COMPACT = "social-work-compact", "Social Work Compact"

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="licensed_states")
    state = models.CharField(max_length=2, choices=STATE_CHOICES)
    basis = models.CharField(max_length=24, choices=Basis.choices, default=Basis.LICENSE)
    license_number = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["state"]
        constraints = [models.UniqueConstraint(fields=["therapist", "state"], name="unique_therapist_state")]
        indexes = [models.Index(fields=["state", "therapist"])]

    def __str__(self) -> str:
        return f"{self.state} ({self.get_basis_display()})"


class CredentialQuerySet(models.QuerySet):
    def verified(self) -> CredentialQuerySet:
        return self.filter(verified_at__isnull=False)

    def current(self, today: datetime.date) -> CredentialQuerySet:
        return self.filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))

    def unverified(self) -> CredentialQuerySet:
        return self.filter(verified_at__isnull=True)


class Credential(models.Model):
    """An IPT credential a therapist claims; it counts only once staff verified it."""

    class Issuer(models.TextChoices):
        IPT_INSTITUTE = "ipt-institute", "IPT Institute"
        ISIPT = "isipt", "International Society of IPT (ISIPT)"

    class Level(models.TextChoices):
        A = "A", "IPT Institute level A: accredited course"
        B = "B", "IPT Institute level B: certified therapist"
        C = "C", "IPT Institute level C: research therapist"
        D = "D", "IPT Institute level D: supervisor"
        E = "E", "IPT Institute level E: trainer"
        ISIPT_THERAPIST = "isipt-therapist", "ISIPT certified therapist"
        ISIPT_SUPERVISOR = "isipt-supervisor", "ISIPT certified supervisor"

    LEVELS_BY_ISSUER = {
        Issuer.IPT_INSTITUTE: {Level.A, Level.B, Level.C, Level.D, Level.E},
        Issuer.ISIPT: {Level.ISIPT_THERAPIST, Level.ISIPT_SUPERVISOR},
    }
    # How each level folds into the training level that search and ranking use.
    TRAINING_LEVELS = {
        Level.A: Therapist.TrainingLevel.TRAINED,
        Level.B: Therapist.TrainingLevel.CERTIFIED,
        Level.C: Therapist.TrainingLevel.CERTIFIED,
        Level.D: Therapist.TrainingLevel.SUPERVISOR,
        Level.E: Therapist.TrainingLevel.SUPERVISOR,
        Level.ISIPT_THERAPIST: Therapist.TrainingLevel.CERTIFIED,
        Level.ISIPT_SUPERVISOR: Therapist.TrainingLevel.SUPERVISOR,
    }

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="ipt_credentials")
    issuer = models.CharField(max_length=20, choices=Issuer.choices)
    level = models.CharField(max_length=20, choices=Level.choices)
    awarded_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    certificate_number = models.CharField(max_length=60, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["-awarded_on", "id"]

    def __str__(self) -> str:
        return f"{self.get_level_display()} ({self.awarded_on:%Y})"

    def clean(self) -> None:
        errors = {}
        if self.issuer and self.level and self.level not in self.LEVELS_BY_ISSUER.get(self.issuer, set()):
            errors["level"] = f"{self.get_issuer_display()} does not award “{self.get_level_display()}”."
        if self.awarded_on and self.expires_on and self.expires_on < self.awarded_on:
            errors["expires_on"] = "The expiry date must come after the date awarded."
        if self.awarded_on and self.awarded_on > timezone.localdate():
            errors["awarded_on"] = "The date awarded cannot be in the future."
        if errors:
            raise ValidationError(errors)

    @property
    def training_level(self) -> str:
        return self.TRAINING_LEVELS[self.level]

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class ListingReportQuerySet(models.QuerySet):
    def open(self) -> ListingReportQuerySet:
        return self.filter(resolved_at__isnull=True)


class ListingReport(models.Model):
    """Anyone's report that a listing is wrong: the ghost-network alarm."""

    class Reason(models.TextChoices):
        UNREACHABLE = "unreachable", "I could not reach this therapist"
        NOT_ACCEPTING = "not-accepting", "They are not accepting new clients"
        NOT_IN_NETWORK = "not-in-network", "They are not in my insurance network"
        OTHER = "other", "Something else"

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.TextField(blank=True, max_length=2000)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    staff_note = models.TextField(
        blank=True, max_length=2000, help_text="For staff only: what was checked, who was called, what was decided"
    )

    objects = ListingReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.therapist}"


class PendingProfile(Therapist):
    """Therapist profiles waiting for staff review, as their own admin queue."""

    class Meta:
        proxy = True
        verbose_name = "pending profile"


class PendingPhoto(Therapist):
    """Therapists whose new photo waits for staff, as the admin's photo queue."""

    class Meta:
        proxy = True
        verbose_name = "pending photo"


# The search index's model lives in its package; imported here so that Django registers it with this app.
from directory.search.models import SearchEntry  # noqa: E402, F401
