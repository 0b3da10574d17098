"""Pages of the command ledger, under /command/."""

from django.urls import URLPattern, URLResolver, path

from fangkong.command import views as v
from fangkong.command import views_orders as vo
from fangkong.command import views_reports as vr

app_name = "command"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", v.queue, name="queue"),
    path("units/", v.units, name="units"),
    path("orders/", vo.order_list, name="orders"),
    path("orders/new/", vo.order_new, name="order_new"),
    path("orders/<int:issue_id>/", vo.order_detail, name="order"),
    path("minutes/", vo.minutes, name="minutes"),
    path("obligations/<int:obligation_id>/", v.obligation_detail, name="obligation"),
    path("obligations/<int:obligation_id>/<slug:action>/", v.obligation_act, name="obligation_act"),
    path("reports/", vr.report_page, name="reports"),
    path("reports/compliance/", vr.compliance_page, name="compliance"),
    path("reports/templates/", vr.template_page, name="report_templates"),
    path("evidence/<int:evidence_id>/", v.evidence_download, name="evidence"),
]
