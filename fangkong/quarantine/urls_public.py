"""The public page of quarantine, mounted at /hq/: a person's own twice-daily check-in, opened
by their personal link (the masstesting self-service link's secret)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.quarantine import views_health

app_name = "quarantine_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:token>/", views_health.self_check, name="self_check"),
]
