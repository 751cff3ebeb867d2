"""The few field values that follow a rule of their own, kept beside the declarations.

Emails are trimmed and lower-cased on every write and in every filter (so uniqueness is
case-insensitive); a phone's digits are stored beside it so ``q`` can compare digit to digit;
timestamps have BSON's millisecond resolution. Pure: no I/O, no imports from the app.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["digits_of", "normalize_email", "phone_digits", "utcnow"]

_DIGITS = frozenset("0123456789")


def normalize_email(email: str | None) -> str | None:
    """Trim and lower-case an email, so uniqueness is case-insensitive (a difference from
    Medusa, see the README)."""
    return email.strip().lower() if isinstance(email, str) else email


def digits_of(value: str | None) -> str:
    """Return only the ASCII digits of ``value`` ("+1 (555) 12-3" → "1555123")."""
    return "".join(c for c in value if c in _DIGITS) if value else ""


def phone_digits(phone: str | None) -> str | None:
    """The digits of a phone number, stored beside it for digit-to-digit search."""
    return digits_of(phone) if phone is not None else None


def utcnow() -> datetime:
    """Return the current UTC time truncated to milliseconds (BSON's resolution).

    Truncating up front means the DTO returned by a write equals what a later read returns.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)
