from django.urls import path

from fangkong.web.views import auth, home, jobs, regions

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("i18n/setlang/", auth.set_language, name="set_language"),
    path("jobs/<uuid:job_id>/", jobs.file_job, name="file_job"),
    path("jobs/<uuid:job_id>/progress/", jobs.file_job_progress, name="file_job_progress"),
    path("jobs/<uuid:job_id>/errors.xlsx", jobs.file_job_errors, name="file_job_errors"),
    path("regions/", regions.region_tree, name="region_tree"),
    path("regions/<str:code>/children/", regions.region_children, name="region_children"),
]
