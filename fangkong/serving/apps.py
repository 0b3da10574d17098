from django.apps import AppConfig


class ServingConfig(AppConfig):
    """Production serving: `fangkong serve` (gunicorn with the task worker beside it) and the
    start check that refuses unsafe production settings."""

    name = "fangkong.serving"
    label = "serving"
    verbose_name = "Serving"

    def ready(self) -> None:
        # registers the production start check
        from fangkong.serving import checks  # noqa: F401
