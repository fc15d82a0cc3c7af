"""Learner-facing messages, marked for translation with gettext's conventions.

`_("...")` translates a message when it is shown; `N_("...")` only marks a message for the
catalogs (for text defined at import time, translated later with `_`). Placeholders are named
and filled after translation: `_("has shape {got}").format(got=...)`, never an f-string, so the
catalogs hold the whole sentence.
"""

from __future__ import annotations


def _(message: str) -> str:
    """The message in the learner's language (English, the source, for now)."""
    return message


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a marker)
    """Mark message for translation without translating it yet."""
    return message
