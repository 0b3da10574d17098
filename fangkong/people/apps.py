from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "fangkong.people"
    label = "people"
    verbose_name = "People"

    def ready(self) -> None:
        # registers the app's background tasks with core.queue (see there why by name)
        from fangkong.people import tasks  # noqa: F401
