"""Pages of the recheck list (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.results import views as views_rechecks

urlpatterns: list[URLPattern | URLResolver] = [
    path("rechecks/", views_rechecks.recheck_list_page, name="rechecks"),
    path("rechecks/<int:task_id>/", views_rechecks.recheck_row, name="recheck_row"),
    path(
        "rechecks/<int:task_id>/sample/", views_rechecks.recheck_sample_view, name="recheck_sample"
    ),
    path(
        "rechecks/<int:task_id>/cancel/", views_rechecks.recheck_cancel_view, name="recheck_cancel"
    ),
]
