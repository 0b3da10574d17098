from django.apps import AppConfig


class QuarantineConfig(AppConfig):
    name = "fangkong.quarantine"
    label = "quarantine"
    verbose_name = "Quarantine sites, rooms and stays"
