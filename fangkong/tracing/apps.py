from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "fangkong.tracing"
    label = "tracing"
    verbose_name = "Tracing"

    def ready(self) -> None:
        # registers the app's background tasks with core.queue (see there why by name)
        from fangkong.tracing import tasks  # noqa: F401
