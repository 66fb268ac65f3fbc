from django.apps import AppConfig


class MaturityConfig(AppConfig):
    name = "wegweiser.maturity"
    label = "maturity"
