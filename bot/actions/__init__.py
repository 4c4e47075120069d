"""rasa-sdk actions of the assistant (`rasa run actions --actions bot.actions`)."""

from bot.actions import duplicates, questions, report, status, survey, updates, validation  # noqa: F401  (registers the actions)
