"""Driver service: The driver app's API: offers, acceptance, pickup, proof of delivery, earnings."""
