"""HTTP routers with their request and response models."""
