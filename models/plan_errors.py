"""The errors every plan reader raises (and their "did you mean"), apart so that the readers need not import
each other."""

from __future__ import annotations

import difflib


class PlanFormatError(ValueError):
    """A plan file that cannot be read; the message names the place and the problem."""


class PlanWorkbookError(PlanFormatError):
    """Rows of the Excel plan template that cannot be read: each is listed, and nothing from the file is imported."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        count = len(problems)
        self.summary = (
            f"nothing imported from {source}: {count} problem{'s' if count != 1 else ''}"
            " (fix the rows above and import again)"
        )
        super().__init__("\n".join([*problems, self.summary]))


def closest(word, choices) -> str:
    """' (did you mean X?)' for the closest valid choice, or '' when nothing is close."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.4)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
