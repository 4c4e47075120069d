"""How much text the product takes, in characters: read by the channels (what reaches the NLU
pipeline), the actions (what the resident is told), the console (form fields) and the store, which
refuses anything longer whoever sends it."""

from __future__ import annotations

# A resident's chat message: longer ones are cut before the NLU pipeline sees them.
MESSAGE = 2000
# What a ticket keeps of the resident's words.
DESCRIPTION = 2000
LOCATION = 200
DETAIL = 1000
# Staff notes, replies, reasons and what was done; a survey comment.
NOTE = 2000
COMMENT = 500
# Identifiers: a conversation (the sender id of a channel), a channel's name, a phone number.
CONVERSATION_ID = 200
CHANNEL = 40
PHONE = 40
# A knowledge-base entry: its question (and each other phrasing of it) and its answer.
QUESTION = 200
ANSWER = 2000
