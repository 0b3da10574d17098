from django.urls import path

from fangkong.screening import views_public

app_name = "declare"
urlpatterns = [
    path("", views_public.declare, name="declare"),
]
