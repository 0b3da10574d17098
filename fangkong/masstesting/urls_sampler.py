"""Operator pages of the mass-testing module: sampler (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting import views_sampler

urlpatterns: list[URLPattern | URLResolver] = [
    path("sampler/", views_sampler.sampler, name="sampler"),
    # under sampler/ so that its scope covers the page
    path("sampler/sw.js", views_sampler.sampler_sw, name="sampler_sw"),
]
