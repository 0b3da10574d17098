"""Pages of key-group routine testing, under /masstesting/groups/ beside the campaigns."""

from django.urls import URLPattern, URLResolver, path

from fangkong.keygroups import views as v

app_name = "keygroups"
urlpatterns: list[URLPattern | URLResolver] = [
    path("groups/", v.regimes, name="groups"),
    path("groups/regimes/<int:regime_id>/", v.regime_edit, name="groups_regime_edit"),
    path("groups/regimes/<int:regime_id>/round/", v.regime_round, name="groups_regime_round"),
    path("groups/members/", v.members, name="groups_members"),
    path("groups/members/sync/", v.members_sync, name="groups_members_sync"),
    path("groups/members/import/", v.members_import, name="groups_members_import"),
    path("groups/bulletin/", v.bulletin, name="groups_bulletin"),
    path("groups/bulletin/export/", v.bulletin_xlsx, name="groups_bulletin_xlsx"),
]
