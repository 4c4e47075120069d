"""Rasa input channels of the product: Rasa's own rest, callback and socket.io channels, which also
show a resident the updates waiting for them, and push only where a message can really arrive."""

# Shared with the deliverer and the actions, which must not import Rasa itself.
CHECK_UPDATES = "/check_updates"   # the message a channel handles to show waiting updates
WAITING_SLOT = "updates_waiting"   # set by the deliverer when an update could not be pushed
