"""Profile rules: NPI check digits, geocoding offices on save, fee ranges."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from directory.models import Office, Therapist, npi_is_valid, validate_npi

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1000000004", "1679576722"])
def test_valid_npis_pass_the_luhn_check(npi: str) -> None:
    assert npi_is_valid(npi)
    validate_npi(npi)


def test_an_npi_ending_in_zero_can_be_valid() -> None:
    valid_with_zero = [f"10000{number:04d}" for number in range(10000)]
    ending_in_zero = [prefix + "0" for prefix in valid_with_zero if npi_is_valid(prefix + "0")]
    assert ending_in_zero


@pytest.mark.parametrize("npi", ["1234567890", "1234567894", "123456789", "12345678901", "12345abcde", ""])
def test_invalid_npis_are_refused_with_a_reason(npi: str) -> None:
    assert not npi_is_valid(npi)
    with pytest.raises(ValidationError):
        validate_npi(npi)


def test_npi_is_unique(accepting_therapist: Therapist) -> None:
    duplicate = Therapist(npi=accepting_therapist.npi, first_name="A", last_name="B", credentials="LCSW")
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert "npi" in error.value.message_dict


def test_office_is_geocoded_on_save(accepting_therapist: Therapist) -> None:
    office = Office.objects.create(
        therapist=accepting_therapist, address="1 Main St", city="Boston", state="MA", postal_code="02115"
    )
    assert office.latitude == pytest.approx(42.34, abs=0.05)
    assert office.longitude == pytest.approx(-71.09, abs=0.05)


def test_unknown_office_zip_is_a_field_error(accepting_therapist: Therapist) -> None:
    office = Office(therapist=accepting_therapist, address="1 Main St", city="X", state="NY", postal_code="00000")
    with pytest.raises(ValidationError) as error:
        office.full_clean()
    assert "postal_code" in error.value.message_dict


def test_fee_range_must_be_ordered(accepting_therapist: Therapist) -> None:
    accepting_therapist.fee_min, accepting_therapist.fee_max = 200, 100
    with pytest.raises(ValidationError) as error:
        accepting_therapist.full_clean()
    assert "fee_max" in error.value.message_dict


def test_accepting_requires_fresh_confirmation(accepting_therapist: Therapist, settings: object) -> None:
    assert accepting_therapist.is_accepting()
    settings.AVAILABILITY_FRESHNESS_DAYS = 0
    assert not accepting_therapist.is_accepting()
    assert not Therapist.objects.accepting().filter(pk=accepting_therapist.pk).exists()
