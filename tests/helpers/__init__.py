"""Reusable test helpers (import as `from tests.helpers.packs import make_test_pack`)."""
