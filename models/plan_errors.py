"""The errors every plan reader raises, apart so that the readers need not import each other."""

from __future__ import annotations


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
