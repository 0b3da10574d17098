from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("fangkong.people.urls")),
    path("screening/", include("fangkong.screening.urls")),
    path("declare/", include("fangkong.screening.urls_public")),
    path("tracing/", include("fangkong.tracing.urls")),
    path("masstesting/", include("fangkong.masstesting.urls")),
    path("masstesting/", include("fangkong.keygroups.urls")),
    path("quarantine/", include("fangkong.quarantine.urls")),
    path("command/", include("fangkong.command.urls")),
    path("hs/", include("fangkong.masstesting.results.urls_public")),
    path("hq/", include("fangkong.quarantine.urls_public")),
    path("", include("fangkong.web.urls")),
]
