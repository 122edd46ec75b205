from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "consultations"
    verbose_name = "Consultation requests"

    def ready(self) -> None:
        from consultations import receivers
        from directory.signals import demo_loaded
        from matching.signals import offers_answered

        # directory and matching may not import consultations: they announce, and the measures follow here.
        offers_answered.connect(receivers.measure_after_offers, dispatch_uid="consultations-measure-offers")
        demo_loaded.connect(receivers.add_demo_history, dispatch_uid="consultations-demo-history")
