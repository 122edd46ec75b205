"""Validation against the vendored HSDS 3.1 schemas, with a `referencing` registry built from the files."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from interop.hsds.api import SCHEMA_DIRECTORY


@cache
def registry() -> Registry:
    """Every schema file under its own name: the schemas refer to each other as "phone.json"."""
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012))
        for path in sorted(Path(SCHEMA_DIRECTORY).glob("*.json"))
        if path.name != "openapi.json"
    ]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator of `name` (such as "service.json") that also checks formats: uuid, uri, email, date-time."""
    schema = registry()[name].contents
    return Draft202012Validator(schema, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(instance: dict, name: str) -> list[str]:
    """What the schema refuses, and every property it does not declare (the schemas allow extra ones; we add none)."""
    found = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator(name).iter_errors(instance)
    ]
    return found + undeclared(instance, name)


def undeclared(instance: dict, name: str, path: str = "") -> list[str]:
    properties = registry()[name].contents["properties"]
    problems = []
    for key, value in instance.items():
        declared = properties.get(key)
        if declared is None:
            problems.append(f"{path}{key}: not a property of {name}")
            continue
        reference = declared.get("$ref") or declared.get("items", {}).get("$ref")
        for item in value if isinstance(value, list) else [value]:
            if reference and isinstance(item, dict):
                problems.extend(undeclared(item, reference, f"{path}{key}."))
    return problems
