"""Helpers shared by the tests (and loaded as a pytest plugin by tests/conftest.py)."""
