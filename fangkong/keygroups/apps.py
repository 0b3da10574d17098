from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KeygroupsConfig(AppConfig):
    name = "fangkong.keygroups"
    label = "keygroups"
    verbose_name = "Key-group routine testing"

    def ready(self) -> None:
        from fangkong.core.filejobs import register_kind

        register_kind(
            "keygroup_members",
            handler="fangkong.keygroups.services.members_import_job",
            title=_("Key-group member list import"),
            template="keygroups/_members_job_result.html",
            back="keygroups:groups_members",
        )
