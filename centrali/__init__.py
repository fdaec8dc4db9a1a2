from centrali.celery import app as celery_app

__all__ = ("celery_app",)
__version__ = "5.1.2"
