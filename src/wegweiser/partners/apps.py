from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "wegweiser.partners"
    label = "partners"
