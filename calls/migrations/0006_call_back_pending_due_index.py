from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_call_back_outcome"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="callback",
            index=models.Index(
                condition=models.Q(("status", "PENDING")),
                fields=["due_at"],
                name="callback_pending_due",
            ),
        ),
    ]
