"""Public pages of mass testing, mounted at /hs/: a person's own code and results by token."""

from django.urls import URLPattern, URLResolver

app_name = "masstesting_public"
urlpatterns: list[URLPattern | URLResolver] = []
