"""Rasa input channels of the product: Rasa's own rest, callback and socket.io channels, which also
show a resident the updates waiting for them, push only where a message can really arrive, cut
over-long messages before the NLU pipeline sees them, and answer honestly when a part of the system
is down."""

# Shared with the deliverer and the actions, which must not import Rasa itself.
CHECK_UPDATES = "/check_updates"  # the message a channel handles to show waiting updates
WAITING_SLOT = "updates_waiting"  # set by the deliverer when an update could not be pushed
# Message metadata the channels set (anything a client sends under these names is dropped):
SOURCE_KEY = "source"  # the network address the message came from, where known
CUT_FROM_KEY = "cut_from"  # the length of a message that was cut to bot.limits.MESSAGE
# The words the chat page showed for a button the resident pressed (a payload such as /affirm), so
# that the page shows them again when it is reopened; only for payloads, at most SHOWN_LIMIT chars.
SHOWN_KEY = "shown"
SHOWN_LIMIT = 40

# An output channel that can reach the resident neither now nor by retrying soon (WeChat: the
# 48-hour window closed and no subscription message, or the resident unsubscribed) raises an error
# whose text carries this mark; the deliverer then keeps the update for the resident's next message
# instead of pushing it again and again.
UNREACHABLE = "[resident-unreachable]"

# Said when the action server or the conversation store fails during a turn; nothing of the turn
# was kept, so the same message sent again later carries on where the conversation was.
BUSY = "系统暂时有点忙，没能处理您刚才这条消息。前面说过的我都记着，请稍等一会儿再把这条发一次。"
