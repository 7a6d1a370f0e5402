"""Common code of the mall-to-home services: settings, database, events, outbox, consumers."""
