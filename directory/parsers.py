"""The API's JSON parser, bounded: a body nested deeper than any input needs is a 400, never a RecursionError."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest input (a profile's offices: body -> list -> office) is 3 levels; 20 leaves room and stops abuse.
MAX_JSON_DEPTH = 20


class BoundedJSONParser(JSONParser):
    def parse(self, stream: object, media_type: str | None = None, parser_context: dict | None = None) -> object:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:  # Python's decoder gives up near 1,000 levels
            raise ParseError(too_deep_message()) from error
        if deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(too_deep_message())
        return data


def too_deep_message() -> str:
    return f"JSON nested deeper than {MAX_JSON_DEPTH} levels."


def deeper_than(value: object, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels, walked without recursion."""
    level = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, (list, dict))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        level = [item for item in level if isinstance(item, (list, dict))]
        if not level:
            return False
    return True
