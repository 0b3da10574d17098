from django.urls import path

from fangkong.tracing import views, views_actions, views_config

app_name = "tracing"
urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("cases/new/", views_actions.case_new, name="case_new"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/graph.json", views.case_graph, name="case_graph"),
    path("cases/<int:case_id>/export/", views.case_export, name="case_export"),
    path("cases/<int:case_id>/status/", views_actions.case_status, name="case_status"),
    path("cases/<int:case_id>/exposures/", views_actions.case_exposures, name="case_exposures"),
    path("cases/<int:case_id>/generations/", views_actions.case_recompute, name="case_recompute"),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/",
        views_actions.contact_edit,
        name="contact_edit",
    ),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/trace/",
        views_actions.contact_trace,
        name="contact_trace",
    ),
    path(
        "cases/<int:case_id>/contacts/<int:contact_id>/start/",
        views_actions.contact_start,
        name="contact_start",
    ),
    path("investigations/", views.investigation_list, name="investigation_list"),
    path(
        "investigations/<int:investigation_id>/<str:action>/",
        views.investigation_action,
        name="investigation_action",
    ),
    path("config/", views_config.config, name="config"),
    path("config/profile/", views_config.profile_save, name="profile_save"),
    path("config/plans/new/", views_config.plan_edit, name="plan_new"),
    path("config/plans/<slug:key>/", views_config.plan_edit, name="plan_edit"),
]
