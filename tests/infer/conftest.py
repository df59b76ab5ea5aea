"""Fixtures of the inference tests live in tests/conftest.py (the eval tests share them)."""
