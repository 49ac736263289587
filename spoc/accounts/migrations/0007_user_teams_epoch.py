from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_user_phone_extension"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="teams_epoch",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
