# The index on created_at alone is covered by referral_created_id, (created_at, id) (0019): every
# look-up by time uses that one, and each new referral updates one index fewer. Both databases.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0019_referral_created_id_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="referral",
            name="created_at",
            field=models.DateTimeField(),
        ),
    ]
