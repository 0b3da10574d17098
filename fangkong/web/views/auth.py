"""Login with progressive delays, logout and the language switch."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.http import public
from fangkong.core.middleware import client_ip
from fangkong.core.services import LoginDelayed, login_check
from fangkong.web.forms import LoginForm


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@public("the login form is shown before anyone is known")
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    if request.method != "POST" or not form.is_valid():
        return render(request, "web/login.html", context)
    try:
        user = login_check(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            client_ip=client_ip(request),
        )
    except LoginDelayed as exc:
        context.update(delayed=True, retry_after=exc.retry_after)
        response = render(request, "web/login.html", context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if user is None:
        form.add_error(None, _("Wrong username or password."))
        return render(request, "web/login.html", context)
    login(request, user)
    return HttpResponseRedirect(_safe_next(request))


@public("ending a session reads no data")
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


@public("switching the display language reads no data")
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    # Django's view, wrapped only so the URL walker sees it marked
    return i18n.set_language(request)
