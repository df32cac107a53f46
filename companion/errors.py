"""One exception type for bad input, whose message names the file, the line and the field."""
from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """Raised by every reader on bad input.

    The message always reads ``"<file>, line <n>, field '<name>': <what is wrong>"`` (line numbers
    are 1-based, as an editor shows them; ``line`` may be omitted for whole-file problems).
    """

    def __init__(self, path: str | Path, problem: str, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(", ".join(where) + ": " + problem)


class SequenceGapError(DataFormatError):
    """A gap in a venue's update-id sequence (e.g. Binance depth diffs) that was not resynced."""
