"""Pages of campaign planning (included by masstesting/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from fangkong.masstesting.planning import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/close/", views.campaign_close, name="campaign_close"),
    path("campaigns/<int:campaign_id>/points/new/", views.point_new, name="point_new"),
    path("points/<int:point_id>/edit/", views.point_edit, name="point_edit"),
    path("points/<int:point_id>/teams/new/", views.team_new, name="team_new"),
]
