"""The admin app as the staff console (its own module: the app registry imports it before any model)."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """INSTALLED_APPS names this instead of django.contrib.admin, so `admin.site` is the console."""

    default_site = "centrali.console.ConsoleSite"
