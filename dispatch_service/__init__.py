"""Dispatch service: Batches ready orders into routes and offers them to drivers."""
