"""Shared fixtures. Fixture modules live beside this file and are registered here."""

pytest_plugins = ["tests.recording"]
