from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MasstestingConfig(AppConfig):
    name = "fangkong.masstesting"
    label = "masstesting"
    verbose_name = "Mass testing"

    def ready(self) -> None:
        from fangkong.core.filejobs import register_kind
        from fangkong.people.panels import register_person_panel

        register_kind(
            "lab_results",
            handler="fangkong.masstesting.lab.sheets.results_xlsx_job",
            title=_("Lab results upload"),
            template="masstesting/_lab_job_result.html",
            back="masstesting:lab",
        )
        register_person_panel(
            "masstesting.link",
            template="masstesting/_person_panel.html",
            context="fangkong.masstesting.sampling.selectors.link_state",
        )
