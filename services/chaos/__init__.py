"""`make chaos`: the event backbone proven under kill -9 (see `python -m services.chaos --help`)."""
