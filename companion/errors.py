"""One exception type for bad input, whose message names the file, the line and the field."""
from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """Raised by every reader on bad input.

    The message always reads ``"<file>, line <n>, field '<name>': <what is wrong>"`` (line numbers
    are 1-based, as an editor shows them; ``line`` may be omitted for whole-file problems).

    Parameters
    ----------
    path : str or pathlib.Path
        The offending file.
    problem : str
        What is wrong, in words.
    line : int, optional
        1-based line number.
    field : str, optional
        Name of the offending field.

    Examples
    --------
    >>> str(DataFormatError("day.csv", "price is not an integer", line=3, field="price"))
    "day.csv, line 3, field 'price': price is not an integer"
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
