"""zh-Hans formats: Django's, with operational figures grouped in thousands (25,670,000) as
command-centre statistics are written, instead of Django's ungrouped default."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
