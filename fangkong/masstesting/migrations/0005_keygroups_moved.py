# Key-group routine testing became its own app (fangkong.keygroups). Its tables keep their
# names, so only Django's state moves: this removes the models from masstesting's state, and
# keygroups 0001 adds them to its own without touching the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('masstesting', '0004_registrationcode_link'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='KeyGroupMember'),
                migrations.DeleteModel(name='KeyGroupRegime'),
            ],
        ),
    ]
