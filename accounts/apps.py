from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # allauth's e-mail addresses already make an "Accounts" section in the admin.
    verbose_name = "Users and audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Signal receivers connect when their module is imported, which needs the models loaded: here.
        from accounts import signals  # noqa: F401
