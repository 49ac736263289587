"""Calls and call-backs now belong to the calls app (calls/migrations/0001_initial.py); referrals only forgets them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0001_initial"),
        ("referrals", "0007_referral_suggested_priority_override"),
    ]

    operations = [
        # The tables stay where they are (db_table): only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="callback",
                    name="call",
                ),
                migrations.AlterField(
                    model_name="referral",
                    name="call",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referrals",
                        to="calls.call",
                    ),
                ),
                migrations.RemoveField(
                    model_name="callback",
                    name="assigned_to",
                ),
                migrations.RemoveField(
                    model_name="callback",
                    name="done_by",
                ),
                migrations.RemoveField(
                    model_name="callback",
                    name="patient",
                ),
                migrations.DeleteModel(
                    name="Call",
                ),
                migrations.DeleteModel(
                    name="CallBack",
                ),
            ]
        ),
    ]
