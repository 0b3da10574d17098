"""The issue's worked examples as the initial rule table; edited afterwards as data."""

import datetime as dt

from django.db import migrations

# in force from before any outbreak the system will be used for
SEED_VALID_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)

RULES = [
    # priority, name, origin level, within days, itinerary hits risk, plan key
    (10, "7天内高风险地区来返：集中隔离7天+居家健康监测3天", "high", 7, False,
     "centralised_7_home_3"),
    (20, "7天内中风险地区来返：居家隔离7天", "medium", 7, False, "home_quarantine_7"),
    (30, "低风险地区来返，行程涉及风险地区或病例活动场所：三天三检", "low", 7, True,
     "tests_3_in_3"),
]


def forwards(apps, schema_editor):
    rule_model = apps.get_model("screening", "ClassificationRule")
    plan_model = apps.get_model("people", "MeasurePlan")
    if rule_model.objects.exists():
        return
    for priority, name, level, days, itinerary, plan_key in RULES:
        rule_model.objects.create(
            priority=priority,
            name=name,
            origin_level=level,
            within_days=days,
            itinerary_hits_risk=itinerary,
            sources=[],
            plan=plan_model.objects.filter(key=plan_key).first(),
            active=True,
            valid_from=SEED_VALID_FROM,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0001_initial"),
        ("people", "0003_default_measure_plans"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
