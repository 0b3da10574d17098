"""Public pages of mass testing, mounted at /hs/: a person's own code and results by token."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.results import views_public

app_name = "masstesting_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:token>/", views_public.self_service, name="self_service"),
]
