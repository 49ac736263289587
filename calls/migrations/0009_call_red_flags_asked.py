from django.db import migrations, models


def flags_recorded_were_asked(apps, schema_editor):
    """A call with red flags recorded asked about them. One without any is not known to have
    asked (the screen had no "None of these"), so it stays not asked: unknown is not absent."""
    Call = apps.get_model("calls", "Call")
    Call.objects.exclude(red_flags=[]).update(red_flags_asked=True)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0008_call_back_cancelled_by_death"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="red_flags_asked",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(flags_recorded_were_asked, migrations.RunPython.noop),
    ]
