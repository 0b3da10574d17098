"""Operator pages of mass testing under /masstesting/, one namespace; each part keeps its own
urls.py."""

from django.urls import URLPattern, URLResolver

from fangkong.masstesting.board import urls as board
from fangkong.masstesting.capacity import urls as capacity
from fangkong.masstesting.lab import urls as lab
from fangkong.masstesting.planning import urls as planning
from fangkong.masstesting.results import urls as results
from fangkong.masstesting.sampling import urls as sampling

app_name = "masstesting"
urlpatterns: list[URLPattern | URLResolver] = [
    *capacity.urlpatterns,
    *board.urlpatterns,
    *planning.urlpatterns,
    *lab.urlpatterns,
    *sampling.urlpatterns,
    *results.urlpatterns,
]
