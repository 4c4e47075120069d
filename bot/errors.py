"""The errors the product answers in words, one hierarchy for all of them. Each carries the message
its user reads (in Chinese) and the HTTP status it maps to; the web app turns any of them into an
answer in one middleware (bot/web/app.py), the chat tells the resident, the command line prints it.

    MinshengError
    ├── InvalidInput          422  a value that cannot be taken (a form field, a report, a text too long)
    │   └── NotAPhoto         413/415
    ├── Unauthorized          401  no or a bad API token
    ├── NotPermitted          403  the role or department may not do this
    ├── NotFound              404  no such thing, or not visible to this user
    ├── Conflict              409  not in the ticket's present state, or a reason is missing
    ├── TooManyAttempts       429  wait `seconds` before trying again
    └── ServiceUnavailable    503  a part the request depends on is down
"""

from __future__ import annotations

from typing import Optional


class MinshengError(Exception):
    status = 400

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidInput(MinshengError, ValueError):
    status = 422

    def __init__(self, message: str, field: str = "", status: Optional[int] = None) -> None:
        super().__init__(message, status)
        self.field = field


class NotAPhoto(InvalidInput):
    """An upload that is not a photo we take: 415 for the kind, 413 for the size."""

    status = 415


class Unauthorized(MinshengError):
    status = 401


class NotPermitted(MinshengError):
    status = 403


class NotFound(MinshengError):
    status = 404


class Conflict(MinshengError):
    status = 409


class TooManyAttempts(MinshengError):
    status = 429

    def __init__(self, message: str, seconds: int = 0) -> None:
        super().__init__(message)
        self.seconds = seconds


class ServiceUnavailable(MinshengError):
    status = 503
