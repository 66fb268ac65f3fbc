from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "wegweiser.realtime"
    label = "realtime"
