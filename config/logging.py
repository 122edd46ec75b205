"""Log output that cannot leak patient data.

Exception messages can carry values (a database error quoting a row, a
validation error quoting input), so log records keep an exception's type and
where it happened, never its message.
"""

from __future__ import annotations

import logging
import traceback


class RedactExceptionMessages(logging.Filter):
    """Replace a record's exception with its type and stack frames, without the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = traceback.extract_tb(error.__traceback__)
            where = " <- ".join(f"{frame.name} ({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"
                                for frame in reversed(frames[-6:]))  # fmt: skip
            record.msg = f"{record.getMessage()} [{type(error).__module__}.{type(error).__qualname__} in {where}]"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
