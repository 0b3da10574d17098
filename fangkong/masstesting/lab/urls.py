"""Pages of the lab and of transport (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.lab import views as views_lab

urlpatterns: list[URLPattern | URLResolver] = [
    path("lab/", views_lab.lab_page, name="lab"),
    path("lab/receive/", views_lab.lab_receive, name="lab_receive"),
    path("lab/results/", views_lab.lab_results_upload, name="lab_results_upload"),
    path(
        "lab/batches/<int:batch_id>/errors.xlsx",
        views_lab.lab_batch_errors,
        name="lab_batch_errors",
    ),
    path("transport/", views_lab.transport_page, name="transport"),
    path("transport/pack/", views_lab.transport_pack, name="transport_pack"),
    path(
        "transport/boxes/<int:box_id>/hand-over/",
        views_lab.transport_hand_over,
        name="transport_hand_over",
    ),
]
