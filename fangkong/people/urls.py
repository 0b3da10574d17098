"""Pages of the people app (mounted under /control/): people under control and measures."""

from django.urls import path

from fangkong.people import views_measures

app_name = "people"
urlpatterns = [
    path("", views_measures.measure_list, name="measure_list"),
    path("propose/", views_measures.measure_propose, name="measure_propose"),
    path("<int:measure_id>/", views_measures.measure_detail, name="measure_detail"),
    path(
        "<int:measure_id>/<slug:action>/",
        views_measures.measure_transition,
        name="measure_transition",
    ),
]
