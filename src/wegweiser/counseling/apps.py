from django.apps import AppConfig


class CounselingConfig(AppConfig):
    name = "wegweiser.counseling"
    label = "counseling"
