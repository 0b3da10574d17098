"""Operator pages of the mass-testing module: campaign board and campaign planning (included
by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting import views_board, views_plan

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views_board.board, name="board"),
    path("board/<int:campaign_id>/", views_board.campaign_board, name="campaign_board"),
    path("board/<int:campaign_id>/not-sampled/", views_board.not_sampled, name="not_sampled"),
    path(
        "board/<int:campaign_id>/not-sampled/export/",
        views_board.not_sampled_export,
        name="not_sampled_export",
    ),
    path("campaigns/", views_plan.campaign_list, name="campaign_list"),
    path("campaigns/new/", views_plan.campaign_new, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views_plan.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/close/", views_plan.campaign_close, name="campaign_close"),
    path("campaigns/<int:campaign_id>/points/new/", views_plan.point_new, name="point_new"),
    path("points/<int:point_id>/edit/", views_plan.point_edit, name="point_edit"),
    path("points/<int:point_id>/teams/new/", views_plan.team_new, name="team_new"),
]
