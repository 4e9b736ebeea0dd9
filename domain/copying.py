"""Building a record (a frozen dataclass) from an aggregate whose attributes carry the record's
field names, so that the views the service hands out do not restate every field twice.

The API layer has the same mechanics for pydantic models (``api.schemas_common.copied``); the
record classes themselves stay separate per layer.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # For type checkers only: the protocol every dataclass satisfies.
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


def copied_record(record: type[Record], obj: object, /, **overrides: Any) -> Record:
    """``record`` built from ``obj``: each field not in ``overrides`` takes the value of the
    attribute of the same name (a field ``obj`` lacks fails loudly, never silently). Mutable values
    that must not be shared with the aggregate are copied by the caller, through ``overrides``."""
    values = {f.name: getattr(obj, f.name) for f in fields(record) if f.name not in overrides}
    return record(**values, **overrides)
