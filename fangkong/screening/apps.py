from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "fangkong.screening"
    label = "screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        from fangkong.core.filejobs import register_kind

        register_kind(
            "assistance",
            handler="fangkong.screening.services.assistance.assistance_job",
            title=_("Assistance list import"),
            template="screening/_assistance_job_result.html",
            back="screening:assistance_list",
        )
        register_kind(
            "risk_areas",
            handler="fangkong.screening.services.areas.risk_areas_job",
            title=_("Risk-area list import"),
            template="screening/_risk_areas_job_result.html",
            back="screening:risk_areas",
        )
