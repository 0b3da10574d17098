"""Pages of the campaign board (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.board import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.board, name="board"),
    path("board/<int:campaign_id>/", views.campaign_board, name="campaign_board"),
    path("board/<int:campaign_id>/not-sampled/", views.not_sampled, name="not_sampled"),
    path(
        "board/<int:campaign_id>/not-sampled/export/",
        views.not_sampled_export,
        name="not_sampled_export",
    ),
]
