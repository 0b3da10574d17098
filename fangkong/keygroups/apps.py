from django.apps import AppConfig


class KeygroupsConfig(AppConfig):
    name = "fangkong.keygroups"
    label = "keygroups"
    verbose_name = "Key-group routine testing"
