from django.db import migrations, models

SUMMARIES = ("InterventionDayStat", "DeathOutcome", "DeathBlockStat")
# The job reads every intervention and death again once its watermarks are back at 0.
SOURCES = ("interventions", "deaths")


def summaries_forget(apps, schema_editor):
    """Rows kept before the first-preference, place-of-care and primary-care counts have none of
    them: empty those tables and their watermarks, so that the summary job reads every
    intervention and death again (or run rebuild_summaries)."""
    for name in SUMMARIES:
        apps.get_model("dashboards", name).objects.all().delete()
    apps.get_model("dashboards", "SummaryWatermark").objects.filter(source__in=SOURCES).delete()


def _count(name):
    return migrations.AddField(
        model_name="deathblockstat",
        name=name,
        field=models.PositiveIntegerField(default=0),
        preserve_default=False,
    )


def _flag(name):
    return migrations.AddField(
        model_name="deathoutcome",
        name=name,
        field=models.BooleanField(default=False),
        preserve_default=False,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0004_telephony"),
    ]

    operations = [
        migrations.RunPython(summaries_forget, migrations.RunPython.noop),
        _count("first_preference_achieved"),
        _count("care_recorded"),
        _count("preferred_care_achieved"),
        _flag("first_preference_achieved"),
        _flag("care_recorded"),
        _flag("preferred_care_achieved"),
        migrations.AddField(
            model_name="interventiondaystat",
            name="primary_care_avoided",
            field=models.PositiveIntegerField(default=0),
            preserve_default=False,
        ),
    ]
