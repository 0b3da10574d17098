"""Keyed audit chain: rows get a chain version, the head a MAC and the legacy boundary.

Rows already written keep version 1 (plain SHA-256) and still verify; new rows are version 2
(HMAC-SHA256 under FANGKONG_AUDIT_KEY). The existing head is sealed here, so the unkeyed prefix
cannot later be extended by a database writer who lacks the key.
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.db import migrations, models


def seal_legacy_head(apps: Any, schema_editor: Any) -> None:
    head_model = apps.get_model("core", "AuditHead")
    head = head_model.objects.using(schema_editor.connection.alias).filter(id=1).first()
    if head is None:
        return
    head.legacy_through = head.last_seq
    # frozen copy of fangkong.core.audit.head_mac: migrations must not change with the code
    msg = f"fangkong-audit-head|{head.last_seq}|{head.last_hash}|{head.legacy_through}"
    head.mac = hmac.new(settings.KEYS.audit_key, msg.encode(), hashlib.sha256).hexdigest()
    head.save(update_fields=["legacy_through", "mac"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="chain_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="audithead",
            name="legacy_through",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="audithead",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(seal_legacy_head, migrations.RunPython.noop),
    ]
