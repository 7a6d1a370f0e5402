"""The local runtime: starts PostgreSQL, Kafka and the four services, and stops them."""
