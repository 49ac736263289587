# The API's referral list reads its pages newest first, from the top or from a cursor: an index on
# (created_at, id) gives them in that order, so a page is a short backward index scan with no sort
# step (on created_at alone PostgreSQL sorted each instant's rows by id, and once planned it in
# parallel workers slower to start than the page; docs/performance.md, "API lists"). Both
# databases.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0018_bereavement_screen"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["created_at", "id"], name="referral_created_id"),
        ),
    ]
