"""Operator pages of the mass-testing module, one urls_<part>.py per part, one namespace."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting import (
    urls_board,
    urls_codes,
    urls_groups,
    urls_lab,
    urls_rechecks,
    urls_sampler,
    views_capacity,
)

app_name = "masstesting"
urlpatterns: list[URLPattern | URLResolver] = [
    path("capacity/", views_capacity.capacity_planner, name="capacity"),
    *urls_board.urlpatterns,
    *urls_lab.urlpatterns,
    *urls_sampler.urlpatterns,
    *urls_codes.urlpatterns,
    *urls_groups.urlpatterns,
    *urls_rechecks.urlpatterns,
]
