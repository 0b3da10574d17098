from django.urls import path

from fangkong.web.views import auth, home, imports, jobs, people, regions

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("i18n/setlang/", auth.set_language, name="set_language"),
    path("people/", people.person_list, name="person_list"),
    path("people/search/", people.person_search, name="person_search"),
    path("people/<int:person_id>/", people.person_detail, name="person_detail"),
    path("people/<int:person_id>/reveal/", people.person_reveal, name="person_reveal"),
    path("people/import/", imports.import_upload, name="import_upload"),
    path("people/import/<uuid:job_id>/", imports.import_job, name="import_job"),
    path(
        "people/import/<uuid:job_id>/progress/",
        imports.import_job_progress,
        name="import_job_progress",
    ),
    path("jobs/<uuid:job_id>/", jobs.file_job, name="file_job"),
    path("jobs/<uuid:job_id>/progress/", jobs.file_job_progress, name="file_job_progress"),
    path("regions/", regions.region_tree, name="region_tree"),
    path("regions/<str:code>/children/", regions.region_children, name="region_children"),
]
