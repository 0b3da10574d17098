from django.urls import path

from fangkong.tracing import views

app_name = "tracing"
urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/graph.json", views.case_graph, name="case_graph"),
    path("cases/<int:case_id>/export/", views.case_export, name="case_export"),
    path("investigations/", views.investigation_list, name="investigation_list"),
    path(
        "investigations/<int:investigation_id>/<str:action>/",
        views.investigation_action,
        name="investigation_action",
    ),
]
