from django.apps import AppConfig


class ExperienceConfig(AppConfig):
    name = "experience"
    label = "experience"
    verbose_name = "Feedback from patients, carers and bereaved relatives"
