from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "wegweiser.organizations"
    label = "organizations"
