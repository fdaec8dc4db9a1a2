"""The service's settings with the URLconf of `bench.http` (the floor route added); nothing else differs."""

from centrali.settings import *  # noqa: F403

ROOT_URLCONF = "bench.http_urls"
