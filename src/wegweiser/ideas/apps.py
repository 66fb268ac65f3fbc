from django.apps import AppConfig


class IdeasConfig(AppConfig):
    name = "wegweiser.ideas"
    label = "ideas"
