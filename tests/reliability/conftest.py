"""The API fixtures (a real chDB store per test, a key per role) for the SQL tests here."""

from tests.api.conftest import client, make_client, publisher  # noqa: F401 - fixtures by name
