"""Operator pages of the mass-testing module (the capacity pages add their routes here)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting import views_capacity

app_name = "masstesting"
urlpatterns: list[URLPattern | URLResolver] = [
    path("capacity/", views_capacity.capacity_planner, name="capacity"),
]
