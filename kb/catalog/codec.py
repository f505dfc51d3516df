"""Items as JSON and back: a catalog row keeps the item a file means, so a page needs no YAML parsing.

Generic over the content model's dataclasses (Promise, Source, Claim and what they hold), driven by
their type hints: dates as ISO strings, paths as strings, nested dataclasses as objects.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any


def encode(item: Any) -> str:
    """The item as compact JSON."""
    return json.dumps(_plain(item), ensure_ascii=False, separators=(",", ":"))


def decode(kind_type: type, text: str) -> Any:
    """The item of dataclass `kind_type` that `encode` wrote."""
    return _build(kind_type, json.loads(text))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(element) for element in value]
    if isinstance(value, dict):
        return {key: _plain(element) for key, element in value.items()}
    return value


def _build(hint: Any, value: Any) -> Any:
    return _builder(hint)(value)


@cache
def _builder(hint: Any):
    """A function turning JSON into a value of type `hint`, worked out once per type (decoding is on the page path)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = _builder(next(option for option in typing.get_args(hint) if option is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is list:
        element = _builder(typing.get_args(hint)[0])
        return lambda value: None if value is None else [element(item) for item in value]
    if origin is dict:
        return lambda value: None if value is None else dict(value)
    if dataclasses.is_dataclass(hint):
        fields = {name: _builder(field_hint) for name, field_hint in typing.get_type_hints(hint).items()}

        def build(value):
            if value is None:
                return None
            return hint(**{name: fields[name](element) for name, element in value.items() if name in fields})

        return build
    if hint is date:
        return lambda value: None if value is None else date.fromisoformat(value)
    if hint is Path:
        return lambda value: None if value is None else Path(value)
    return lambda value: value
