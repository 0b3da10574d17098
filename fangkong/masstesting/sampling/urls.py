"""Pages of sampling and registration codes (included by masstesting/urls.py); the public
self-service page is in urls_public.py, mounted at /hs/."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.sampling.views import codes, sampler

urlpatterns: list[URLPattern | URLResolver] = [
    path("sampler/", sampler.sampler, name="sampler"),
    # under sampler/ so that its scope covers the page
    path("sampler/sw.js", sampler.sampler_sw, name="sampler_sw"),
    path("codes/", codes.code_sheets, name="code_sheets"),
    path("codes/print/", codes.code_sheet_print, name="code_sheet_print"),
    path("persons/<int:person_id>/link/", codes.person_link, name="person_link"),
]
