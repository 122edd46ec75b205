"""The roster's forms: the claim of an invited profile, and staff's upload of a roster CSV."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile

from directory.forms import PlainHelpTexts, PlainLabels, WithoutAutofocus
from directory.models import Therapist


class ClaimForm(PlainLabels, PlainHelpTexts, WithoutAutofocus, auth_forms.UserCreationForm):
    """A username and a password for the invited therapist; the password rules see their name and email."""

    class Meta(auth_forms.UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username"]

    def __init__(self, *args: object, therapist: Therapist, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password2"].label = "Password again"
        # UserAttributeSimilarityValidator compares the password with these.
        self.instance.email = therapist.email
        self.instance.first_name, self.instance.last_name = therapist.first_name, therapist.last_name


class UploadForm(PlainLabels, forms.Form):
    """A roster CSV for staff to preview; roster.uploads checks what is inside it."""

    file = forms.FileField(
        label="Roster file (CSV)",
        help_text="The template's columns, saved as “CSV UTF-8”. The preview changes nothing.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    publish = forms.BooleanField(
        required=False,
        label="Publish as I import",
        help_text="New profiles are published, and changed ones stay published, vouched for by you "
        "(their IPT credentials marked verified by you). Unticked, they wait in the review queue.",
    )

    def clean_file(self) -> UploadedFile:
        # Before the file is read into memory; roster.uploads checks what is inside it.
        upload = self.cleaned_data["file"]
        if upload.size > settings.ROSTER_UPLOAD_MAX_MB * 1024 * 1024:
            raise forms.ValidationError(f"The file is larger than {settings.ROSTER_UPLOAD_MAX_MB} MB; split it.")
        return upload
