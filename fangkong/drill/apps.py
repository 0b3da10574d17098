from django.apps import AppConfig


class DrillConfig(AppConfig):
    name = "fangkong.drill"
    label = "drill"
    verbose_name = "Drill"

    def ready(self) -> None:
        # registers the production start check
        from fangkong.drill import checks  # noqa: F401
