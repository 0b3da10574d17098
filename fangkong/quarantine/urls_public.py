"""The public page of quarantine, mounted at /hq/: a person's own twice-daily check-in, opened
by their personal link (the masstesting self-service link's secret); and the page a release
notice's QR code opens."""

from django.urls import URLPattern, URLResolver, path

from fangkong.quarantine import views_health, views_release

app_name = "quarantine_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:token>/", views_health.self_check, name="self_check"),
    path("notice/<str:token>/", views_release.release_verify, name="release_verify"),
]
