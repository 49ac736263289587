from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Service directory"

    def ready(self) -> None:
        from services.models import Team, TeamMembership
        from services.services import (
            team_changed,
            team_membership_changed,
            team_membership_changing,
        )

        # What a user's requests keep of their teams is named by their teams epoch: raised by
        # every write of a membership or a team, whoever makes it (services.selectors).
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(
                team_membership_changed,
                sender=TeamMembership,
                dispatch_uid=f"teams-epoch-membership-{name}",
            )
        pre_save.connect(
            team_membership_changing,
            sender=TeamMembership,
            dispatch_uid="teams-epoch-membership-changing",
        )
        post_save.connect(team_changed, sender=Team, dispatch_uid="teams-epoch-team")
