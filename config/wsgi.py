import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _refuse_unsafe_production() -> None:
    # Any WSGI server (not only `fangkong serve`) must refuse demo accounts or DEBUG in production.
    from django.core.exceptions import ImproperlyConfigured

    from fangkong.serving.checks import production_start_problems

    problems = production_start_problems()
    if problems:
        raise ImproperlyConfigured("; ".join(str(p.msg) for p in problems))


_refuse_unsafe_production()
