from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fangkong.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from fangkong.core import tasks  # noqa: F401  (registers with core.queue)
        from fangkong.core.sessions import stamp_login

        user_logged_in.connect(stamp_login, dispatch_uid="fangkong.core.sessions.stamp_login")
