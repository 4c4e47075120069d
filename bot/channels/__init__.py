"""Rasa input channels of the product: Rasa's own rest, callback and socket.io channels, which also
show a resident the updates waiting for them, and push only where a message can really arrive."""
