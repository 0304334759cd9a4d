"""The one error every plan reader raises, apart so that the readers need not import each other."""

from __future__ import annotations


class PlanFormatError(ValueError):
    """A plan file that cannot be read; the message names the place and the problem."""
