from django.urls import path

from fangkong.screening import views, views_admin

app_name = "screening"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.record_new, name="new"),
    path("lookup/", views.token_lookup, name="lookup"),
    path("<int:record_id>/", views.record_detail, name="detail"),
    path("<int:record_id>/confirm/", views.record_confirm, name="confirm"),
    path("<int:record_id>/reject/", views.record_reject, name="reject"),
    path("risk-areas/", views_admin.risk_areas, name="risk_areas"),
    path("risk-areas/import/", views_admin.risk_area_import, name="risk_area_import"),
    path("risk-areas/<int:area_id>/revise/", views_admin.risk_area_revise, name="risk_area_revise"),
    path("risk-areas/<int:area_id>/close/", views_admin.risk_area_close, name="risk_area_close"),
    path("zones/", views_admin.zones, name="zones"),
    path("zones/<int:zone_id>/close/", views_admin.zone_close, name="zone_close"),
    path("rules/", views_admin.rules, name="rules"),
    path("rules/new/", views_admin.rule_edit, name="rule_new"),
    path("rules/<int:rule_id>/", views_admin.rule_edit, name="rule_edit"),
    path("assistance/", views_admin.assistance_list, name="assistance_list"),
    path("assistance/layout.xlsx", views_admin.assistance_layout_xlsx, name="assistance_layout"),
    path(
        "assistance/<uuid:request_id>/",
        views_admin.assistance_detail,
        name="assistance_detail",
    ),
    path(
        "assistance/<uuid:request_id>/errors.xlsx",
        views_admin.assistance_errors_xlsx,
        name="assistance_errors_xlsx",
    ),
]
