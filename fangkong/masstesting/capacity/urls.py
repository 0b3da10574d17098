"""The capacity planner page (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.capacity import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("capacity/", views.capacity_planner, name="capacity"),
]
