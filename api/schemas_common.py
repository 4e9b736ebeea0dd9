"""What the routers' pydantic schemas share: free-text rules stated as JSON Schema, and building a
response model from a domain object whose attributes carry the model's field names.

Request and response schemas stay separate per router; only these mechanics are shared.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from domain.values import OPTIONAL_TEXT_PATTERN, TEXT_PATTERN

Model = TypeVar("Model", bound=BaseModel)


def text_rules(max_length: int, *, optional: bool = False) -> dict[str, Any]:
    """JSON Schema of free text the domain accepts (``domain.values.parse_text`` and
    ``parse_optional_text``), so clients and schemathesis see exactly what is accepted; the domain
    still enforces it, with its own rule codes."""
    return {"maxLength": max_length, "pattern": OPTIONAL_TEXT_PATTERN if optional else TEXT_PATTERN}


def copied(model: type[Model], obj: object, /, **overrides: Any) -> Model:
    """``model`` built from ``obj``: each field not in ``overrides`` takes the value of the
    attribute of the same name (a field ``obj`` lacks fails loudly, never silently). Positional-only
    parameters, so that any field name (``source``, ``model``) can be overridden."""
    values = {name: getattr(obj, name) for name in model.model_fields if name not in overrides}
    return model(**values, **overrides)
