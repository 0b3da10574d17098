from django.apps import AppConfig


class MasstestingConfig(AppConfig):
    name = "fangkong.masstesting"
    label = "masstesting"
    verbose_name = "Mass testing"
