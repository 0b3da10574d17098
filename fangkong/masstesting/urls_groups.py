"""Operator pages of the mass-testing module: groups (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
