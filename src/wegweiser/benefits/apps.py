from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "wegweiser.benefits"
    label = "benefits"
