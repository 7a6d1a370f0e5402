"""Handlers of consumed events."""
