from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "fangkong.quarantine"
    label = "quarantine"
    verbose_name = "Quarantine sites, rooms and stays"

    def ready(self) -> None:
        from fangkong.core.filejobs import register_kind
        from fangkong.people.signals import measure_ended
        from fangkong.quarantine import receivers

        register_kind(
            "quarantine_rooms",
            handler="fangkong.quarantine.services.room_import.rooms_import_job",
            title=_("Room list import"),
            template="quarantine/_rooms_job_result.html",
            back="quarantine:sites",
        )
        measure_ended.connect(receivers.measure_ended, dispatch_uid="quarantine.measure_ended")
