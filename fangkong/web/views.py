from django.http import HttpRequest, HttpResponse

from fangkong.core.http import public, scoped


@scoped
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("fangkong")


@public("the login form is shown before anyone is known")
def login_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("login")
