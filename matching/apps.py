from django.apps import AppConfig


class MatchingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "matching"

    def ready(self) -> None:
        from directory.signals import therapist_unavailable

        # directory may not import matching: it announces, and the offers follow here.
        therapist_unavailable.connect(withdraw_offers, dispatch_uid="matching-withdraw-offers")


def withdraw_offers(sender: type, *, therapist: object, **_: object) -> None:
    from matching import services

    services.withdraw_offers_to(therapist=therapist)
