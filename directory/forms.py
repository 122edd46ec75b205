"""HTML forms for sign-in, the therapist's own profile, and listing reports.

They check and convert input; the rules (what needs re-review, which ZIP is
known, what counts as verified) live in directory.profiles.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from directory.models import (
    Concern,
    Credential,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    ListingReport,
    Office,
    Therapist,
    TherapistInsurer,
)


class WithoutAutofocus:
    """Drops the autofocus Django's account forms put on their first field.

    Focus moved on load skips the "Skip to main content" link, the heading and any
    error summary for keyboard and screen-reader users (WCAG 2.4.3, focus order).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)


def password_rules() -> str:
    """The password validators in force (settings.AUTH_PASSWORD_VALIDATORS) as one plain sentence.

    Django lists each validator's own sentence ("Your password can't be..."),
    four bullets before the box; this says the same in a line, and follows the
    settings, so it cannot promise a rule that is not checked.
    """
    rules = []
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            rules.insert(0, f"At least {validator.min_length} characters")
        elif isinstance(validator, password_validation.NumericPasswordValidator):
            rules.append("not only digits")
        elif isinstance(validator, password_validation.CommonPasswordValidator):
            rules.append("not a common password")
        elif isinstance(validator, password_validation.UserAttributeSimilarityValidator):
            rules.append("not close to your username or email")
    if not rules:
        return ""
    sentence = ", ".join(rules[:-1]) + (" and " if len(rules) > 1 else "") + rules[-1]
    return sentence[0].upper() + sentence[1:] + ". A short phrase of several words is easy to remember."


ACCOUNT_HELP_TEXTS = {
    "username": "You sign in with it. Letters, digits and the signs @ . + - _ only; no spaces.",
    "password1": password_rules,
    "password2": "Type the same password again, to catch a typo.",
    "new_password1": password_rules,
    "new_password2": "Type the same new password again, to catch a typo.",
}


class PlainLabels:
    """Labels as written, without the colon Django adds after each one ("Email:")."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""


def word_empty_choice(field: forms.ChoiceField, text: str) -> None:
    """The empty choice of a drop-down in words ("Choose a state") in place of Django's "---------"."""
    if isinstance(field, forms.ModelChoiceField):
        field.empty_label = text
    else:
        field.choices = [("", text), *[choice for choice in field.choices if choice[0] != ""]]


class PlainHelpTexts:
    """Replaces Django's stock help texts on the account forms with short plain sentences."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for name, help_text in ACCOUNT_HELP_TEXTS.items():
            if name in self.fields:
                self.fields[name].help_text = help_text() if callable(help_text) else help_text


class SignInForm(PlainLabels, WithoutAutofocus, auth_forms.AuthenticationForm):
    pass


class PasswordChangeForm(PlainLabels, PlainHelpTexts, WithoutAutofocus, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(PlainLabels, PlainHelpTexts, WithoutAutofocus, auth_forms.SetPasswordForm):
    """The new password after a reset link."""


class ProfileForm(PlainLabels, forms.ModelForm):
    """The profile's own fields; a section of the editor (`section_form`) shows and takes only its share."""

    # None: every field (an old one-page form still posted by a stale tab).
    section_fields: tuple[str, ...] | None = None

    website = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text="Shown on your listing. For example: example.com",
    )
    focus_areas = forms.ModelMultipleChoiceField(
        FocusArea.objects.all(), required=False, widget=forms.CheckboxSelectMultiple, label="IPT focus areas"
    )
    concerns = forms.ModelMultipleChoiceField(
        Concern.objects.all(), required=False, widget=forms.CheckboxSelectMultiple, label="Concerns treated"
    )
    languages = forms.ModelMultipleChoiceField(
        Language.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Languages you offer sessions in",
    )

    class Meta:
        model = Therapist
        fields = [
            "first_name", "last_name", "credentials", "pronouns", "npi", "email", "phone", "website",
            "bio", "approach", "offers_individual", "offers_family", "offers_group", "offers_online",
            "session_cadence", "serves_children", "serves_adolescents", "serves_adults", "serves_older_adults",
            "focus_areas", "concerns", "languages", "fee_min", "fee_max", "sliding_scale",
            "accepts_new_clients", "capacity",
        ]  # fmt: skip
        help_texts = {
            "credentials": "As clients should read them, for example: LCSW, PhD, LMFT.",
            "pronouns": "Optional. For example: she/her, they/them.",
            "npi": "Your 10-digit National Provider Identifier. Changing it sends the profile back to staff.",
            "email": "Shown on your listing for clients to write to you.",
            "phone": "Shown on your listing. For example: (555) 123-4567.",
            "bio": "Who you are and whom you help, in a few sentences. The start of it shows on search results.",
            "approach": "In your own words: what a course of IPT with you looks like.",
            "fee_min": "Per session, in dollars; leave both fees empty to show “Not listed”.",
            "fee_max": "The same as the lowest if you charge one fee.",
            "sliding_scale": "You lower the fee for clients who cannot pay it.",
            "accepts_new_clients": "Ticking it confirms your availability as of today.",
            "capacity": "How many new clients you could start soon. At 0 you are left out of matches.",
        }
        labels = {
            "npi": "NPI",
            "offers_individual": "Individual",
            "offers_family": "Family",
            "offers_group": "Group",
            "offers_online": "Online (telehealth)",
            "session_cadence": "How often sessions are",
            "serves_children": "Children",
            "serves_adolescents": "Adolescents",
            "serves_adults": "Adults",
            "serves_older_adults": "Older adults",
            "fee_min": "Lowest self-pay fee (USD)",
            "fee_max": "Highest self-pay fee (USD)",
            "sliding_scale": "Sliding scale",
            "accepts_new_clients": "I am accepting new clients",
            "capacity": "Open slots for new clients",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.section_fields is not None:
            for name in [name for name in self.fields if name not in self.section_fields]:
                del self.fields[name]
        if "languages" in self.fields:
            self.fields["languages"].queryset = Language.objects.order_by("name")

    def _post_clean(self) -> None:
        """Skip ModelForm's model validation: directory.profiles.update_profile runs it once, with the offices."""


def section_form(name: str, fields: tuple[str, ...]) -> type[ProfileForm]:
    """The profile form narrowed to one section's fields."""
    return type(f"{name}Form", (ProfileForm,), {"section_fields": fields})


class RowForm(PlainLabels, forms.ModelForm):
    """A row of a list on the profile (an office, a licence...): checked here, validated and saved by the service."""

    empty_choices: dict[str, str] = {}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for name, text in self.empty_choices.items():
            word_empty_choice(self.fields[name], text)

    def _post_clean(self) -> None:
        """Skip ModelForm's model validation: directory.profiles.update_profile runs it, for all rows at once."""


class OfficeForm(RowForm):
    empty_choices = {"state": "Choose a state"}

    class Meta:
        model = Office
        fields = ["label", "address", "city", "state", "postal_code", "wheelchair_accessible"]
        labels = {"label": "Name (optional)", "address": "Street address"}
        help_texts = {
            "label": "When you have more than one office, for example: Downtown.",
            "postal_code": "Clients searching near it find you; an unknown ZIP code is refused.",
        }


class LicensedStateForm(RowForm):
    empty_choices = {"state": "Choose a state"}

    class Meta:
        model = LicensedState
        fields = ["state", "basis", "license_number"]
        labels = {"basis": "Licensed by", "license_number": "Licence number"}
        help_texts = {
            "basis": "A state licence, or the interstate compact that lets you practise there.",
            "license_number": "Staff check it with the state board.",
        }


class TherapistInsurerForm(RowForm):
    insurer = forms.ModelChoiceField(Insurer.objects.all(), label="Insurance plan")
    empty_choices = {"insurer": "Choose a plan"}

    class Meta:
        model = TherapistInsurer
        fields = ["insurer", "accepting_new_clients"]
        labels = {"accepting_new_clients": "Taking new clients on this plan"}
        help_texts = {"accepting_new_clients": "Untick it when this panel is closed to new clients."}


def credential_level_choices() -> list:
    """The levels grouped by the body that awards them (Credential.LEVELS_BY_ISSUER): right without JavaScript."""
    groups = [
        (Credential.Issuer(issuer).label, [(level.value, level.label) for level in Credential.Level if level in levels])
        for issuer, levels in Credential.LEVELS_BY_ISSUER.items()
    ]
    return [("", "Choose a level"), *groups]


class CredentialForm(RowForm):
    empty_choices = {"issuer": "Choose who awarded it"}

    class Meta:
        model = Credential
        fields = ["issuer", "level", "awarded_on", "expires_on", "certificate_number"]
        labels = {"issuer": "Awarded by", "awarded_on": "Date awarded", "expires_on": "Expiry date (if any)"}
        help_texts = {
            "level": "Under the body that awarded it: a level of another body is refused.",
            "certificate_number": "Optional; it helps staff verify the credential.",
        }
        widgets = {
            "awarded_on": forms.DateInput(attrs={"type": "date"}),
            "expires_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = credential_level_choices()


def _formset(form: type[forms.ModelForm], model: type) -> type[forms.BaseInlineFormSet]:
    # No extra row: the editor shows an empty one for an empty list, and "Add another" adds one.
    return forms.inlineformset_factory(Therapist, model, form=form, extra=0, can_delete=True)


OfficeFormSet = _formset(OfficeForm, Office)
LicensedStateFormSet = _formset(LicensedStateForm, LicensedState)
TherapistInsurerFormSet = _formset(TherapistInsurerForm, TherapistInsurer)
CredentialFormSet = _formset(CredentialForm, Credential)


def formset_rows(formset: forms.BaseInlineFormSet, fields: list[str], *, with_id: bool = False) -> list[dict]:
    """The kept rows of a valid formset as plain dicts for the service; empty extra rows are skipped."""
    rows = []
    for form in formset.forms:
        if not form.has_changed() and form.instance.pk is None:
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        row = {name: form.cleaned_data.get(name) for name in fields}
        if with_id:
            row["id"] = form.instance.pk
        rows.append(row)
    return rows


def add_service_errors(error: ValidationError, form: forms.Form, formsets: dict[str, forms.BaseInlineFormSet]) -> None:
    """Place the service's `offices[1].postal_code` style errors on the right form and field."""
    for key, messages in error.message_dict.items():
        prefix, _, field = key.partition(".")
        name, _, index = prefix.partition("[")
        if name in formsets and index:
            kept = [
                subform
                for subform in formsets[name].forms
                if (subform.has_changed() or subform.instance.pk) and not formsets[name]._should_delete_form(subform)
            ]
            position = int(index.rstrip("]"))
            if position < len(kept):
                target = kept[position]
                target.add_error(field if field in target.fields else None, messages)
                continue
        if name in formsets:
            formsets[name]._non_form_errors = formsets[name].error_class([*formsets[name].non_form_errors(), *messages])
            continue
        form.add_error(key if key in form.fields else None, messages)


class PhotoForm(PlainLabels, forms.Form):
    """The profile page's photo upload; what a photo must be is checked by directory.photos."""

    photo = forms.FileField(
        label="Choose a photo",
        help_text="A JPEG, PNG or WebP photo of you, up to {max_mb} MB. Staff check it before it is shown.",
        error_messages={"required": "Choose a photo to upload.", "empty": "The file is empty."},
        # iPhones convert a HEIC photo to JPEG for a field that asks for these types.
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        max_mb = f"{settings.PHOTO_MAX_BYTES / (1024 * 1024):g}"
        self.fields["photo"].help_text = self.fields["photo"].help_text.format(max_mb=max_mb)


class ListingReportForm(PlainLabels, forms.Form):
    reason = forms.ChoiceField(choices=ListingReport.Reason.choices, widget=forms.RadioSelect, label="What is wrong?")
    details = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Details (required for “Something else”)",
    )


def error_summary(errors: Mapping[str, list[str]], labels: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """(label, messages) for the summary at the top of a form: what the page calls a field, not its name.

    A name the page has no field for (`non_field_errors`, `page`) gets no label; its messages stand alone.
    """
    return [(labels.get(name, ""), messages) for name, messages in errors.items()]
