"""Operator pages of the mass-testing module: sampler (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting import views_sampler

urlpatterns: list[URLPattern | URLResolver] = [
    path("sampler/", views_sampler.sampler, name="sampler"),
]
