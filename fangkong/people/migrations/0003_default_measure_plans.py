"""Default plans and the COVID-19 worked example; editable afterwards as data."""

from django.db import migrations

PLANS = [
    ("centralised_7_home_3", "集中隔离7天+居家健康监测3天 (7+3)",
     [{"kind": "centralised_quarantine", "days": 7}, {"kind": "home_monitoring", "days": 3}],
     [1, 2, 3, 5, 7, 10]),
    ("home_quarantine_7", "居家隔离7天",
     [{"kind": "home_quarantine", "days": 7}], [1, 4, 7]),
    ("home_monitoring_7", "居家健康监测7天",
     [{"kind": "home_monitoring", "days": 7}], [1, 4, 7]),
    ("tests_3_in_3", "三天三检",
     [{"kind": "testing", "days": 3}], [1, 2, 3]),
]


def forwards(apps, schema_editor):
    plan_model = apps.get_model("people", "MeasurePlan")
    profile_model = apps.get_model("people", "DiseaseProfile")
    for key, name, phases, tests in PLANS:
        plan_model.objects.get_or_create(
            key=key, defaults={"name": name, "phases": phases, "test_offsets": tests}
        )
    profile_model.objects.get_or_create(
        key="covid19",
        defaults={
            "name": "COVID-19",
            "active": True,
            "incubation_days": 7,
            "lookback_days": 4,
            "max_generation": 3,
            "investigation_hours": 24,
            "generation_plans": {"1": "centralised_7_home_3", "2": "home_quarantine_7",
                                 "3": "tests_3_in_3"},
        },
    )


class Migration(migrations.Migration):
    dependencies = [("people", "0002_measures")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
