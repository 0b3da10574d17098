"""Re-mask stored ID numbers: the old 4+4 mask narrowed an ID to ~34 candidates (issue 8)."""

from typing import Any

from django.db import migrations


def remask(apps: Any, schema_editor: Any) -> None:
    from fangkong.core import vault

    model = apps.get_model("people", "Person")
    batch = []
    for row in model.objects.only("pk", "id_number_ct", "id_number_mask").iterator(chunk_size=1000):
        try:
            plain = vault.decrypt(row.id_number_ct, purpose="person.id_number")
        except Exception:  # a key no longer configured: hide everything rather than fail
            row.id_number_mask = "*" * len(row.id_number_mask)
        else:
            row.id_number_mask = vault.mask_id_number(plain)
        batch.append(row)
        if len(batch) >= 1000:
            model.objects.bulk_update(batch, ["id_number_mask"])
            batch = []
    model.objects.bulk_update(batch, ["id_number_mask"])


class Migration(migrations.Migration):
    dependencies = [("people", "0004_measure_tests")]

    operations = [migrations.RunPython(remask, migrations.RunPython.noop)]
