from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_user_teams_epoch"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="devices_epoch",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
