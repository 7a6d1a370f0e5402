"""Event contracts. Importing this package registers every payload class for decoding."""

from shared.events import catalog, dispatch, driver, order, topics
from shared.events.envelope import Envelope, Payload, decode, encode, register, wrap

__all__ = [
    "Envelope",
    "Payload",
    "catalog",
    "decode",
    "dispatch",
    "driver",
    "encode",
    "order",
    "register",
    "topics",
    "wrap",
]
