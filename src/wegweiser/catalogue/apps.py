from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "wegweiser.catalogue"
    label = "catalogue"
