"""Operator pages of the mass-testing module: codes (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting import views_codes

urlpatterns: list[URLPattern | URLResolver] = [
    path("codes/", views_codes.code_sheets, name="code_sheets"),
    path("codes/print/", views_codes.code_sheet_print, name="code_sheet_print"),
    path("persons/<int:person_id>/link/", views_codes.person_link, name="person_link"),
]
