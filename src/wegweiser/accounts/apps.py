from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wegweiser.accounts"
    label = "accounts"

    def ready(self) -> None:
        from wegweiser.accounts import receivers  # noqa: F401 - connects auth signals
