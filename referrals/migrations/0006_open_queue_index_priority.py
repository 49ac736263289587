# The team queue orders the referrals waiting to be claimed by priority and counts the urgent ones:
# the partial index over open referrals carries the priority too, so the queue page and its poll
# stay index-only scans. Rebuilt under the same name (PostgreSQL; SQLite keeps the key columns).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0005_open_queue_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="referral",
            name="referral_open_queue",
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ("QUEUED", "ACCEPTED", "IN_PROGRESS", "ON_HOLD"))
                ),
                fields=["team", "status"],
                include=(
                    "priority",
                    "first_contact_at",
                    "contact_by",
                    "at_risk_at",
                    "accept_by",
                    "updated_at",
                    "id",
                ),
                name="referral_open_queue",
            ),
        ),
    ]
