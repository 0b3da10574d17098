"""Pages of the people app: the person registry and person imports under /people/, people
under control and their measures under /control/ (one namespace, `people:`)."""

from django.urls import path

from fangkong.people.views import imports, measures, persons

app_name = "people"
urlpatterns = [
    path("people/", persons.person_list, name="person_list"),
    path("people/search/", persons.person_search, name="person_search"),
    path("people/<int:person_id>/", persons.person_detail, name="person_detail"),
    path("people/<int:person_id>/reveal/", persons.person_reveal, name="person_reveal"),
    path("people/import/", imports.import_upload, name="import_upload"),
    path("people/import/<uuid:job_id>/", imports.import_job, name="import_job"),
    path(
        "people/import/<uuid:job_id>/progress/",
        imports.import_job_progress,
        name="import_job_progress",
    ),
    path("control/", measures.measure_list, name="measure_list"),
    path("control/propose/", measures.measure_propose, name="measure_propose"),
    path("control/<int:measure_id>/", measures.measure_detail, name="measure_detail"),
    path(
        "control/<int:measure_id>/<slug:action>/",
        measures.measure_transition,
        name="measure_transition",
    ),
]
