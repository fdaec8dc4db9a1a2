import pytest
from django.db import IntegrityError

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_database_refuses_an_email_differing_only_in_case():
    UserFactory.create(email="ada@acme.test")

    with pytest.raises(IntegrityError):
        UserFactory.create(email="ADA@acme.test")


def test_database_refuses_a_username_differing_only_in_case():
    UserFactory.create(username="ada")

    with pytest.raises(IntegrityError):
        UserFactory.create(username="Ada")
