"""Catalog service: what can reach an address today, never which store holds it."""
