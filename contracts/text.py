"""Free text people type (names, titles, reasons, evidence, labels): any printable Unicode,
no control characters. C0 (U+0000-U+001F, tab and newline included), DEL and C1
(U+007F-U+009F) are refused: they corrupt logs, CSV exports, e-mail headers and terminals,
and PostgreSQL cannot store U+0000. The JSON Schema carries the same rule as a `pattern`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f"
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def _no_control_characters(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at position {found.start()}: "
            "text fields take printable characters only"
        )
    return value


class _DocumentedPattern:
    """Adds the rule to the JSON Schema, so clients and schema-driven fuzzers know it."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema["pattern"] = NO_CONTROL_PATTERN
        return schema


Text = Annotated[str, AfterValidator(_no_control_characters), _DocumentedPattern()]
"""A `str` without control characters; add length limits with `Field(...)` where used."""
