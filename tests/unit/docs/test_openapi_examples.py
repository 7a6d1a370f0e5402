"""Every operation of the four services shows an example request body and success response.

The examples are checked against the models they illustrate, so a renamed or dropped field
fails here instead of misleading an integrator. Building an app does not start its lifespan:
no Kafka or PostgreSQL is needed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args, get_origin

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from catalog_service.app import create_app as create_catalog
from catalog_service.domain.seed import MAX_STORES_PER_MALL, generate_catalog
from catalog_service.settings import CatalogSettings
from dispatch_service.app import create_app as create_dispatch
from dispatch_service.settings import DispatchSettings
from driver_service.app import create_app as create_driver
from driver_service.settings import DriverSettings
from order_service.app import create_app as create_order
from order_service.settings import OrderSettings
from shared.malls import pilot_malls

# Never connected to: the apps are only asked for their OpenAPI documents.
UNUSED_DB = "postgresql+asyncpg://docs@127.0.0.1:1/docs"

APPS: dict[str, Callable[[], FastAPI]] = {
    "catalog": lambda: create_catalog(CatalogSettings(database_url=UNUSED_DB)),
    "order": lambda: create_order(OrderSettings(database_url=UNUSED_DB)),
    "dispatch": lambda: create_dispatch(DispatchSettings(database_url=UNUSED_DB)),
    "driver": lambda: create_driver(DriverSettings(database_url=UNUSED_DB)),
}
CUSTOMER_FACING = ("catalog", "order")
REF_PREFIX = "#/components/schemas/"


@cache
def spec_of(service: str) -> dict[str, Any]:
    return APPS[service]().openapi()


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str

    @property
    def spec(self) -> dict[str, Any]:
        operation: dict[str, Any] = spec_of(self.service)["paths"][self.path][self.method]
        return operation

    def __str__(self) -> str:
        return f"{self.service} {self.method.upper()} {self.path}"


def operations() -> Iterator[Operation]:
    for service in APPS:
        for path, item in spec_of(service)["paths"].items():
            for method in item:
                yield Operation(service, method, path)


ALL_OPERATIONS = list(operations())


def examples_of(media: dict[str, Any], schemas: dict[str, Any]) -> list[Any]:
    """The media type's examples, else those of its schema (followed through a `$ref`)."""
    if "example" in media:
        return [media["example"]]
    if media.get("examples"):
        return [named["value"] for named in media["examples"].values()]
    schema = media.get("schema", {})
    # An optional body is `anyOf: [model, null]`: the model's examples are the body's.
    for option in schema.get("anyOf", [schema]):
        named = schemas.get(option.get("$ref", "").removeprefix(REF_PREFIX), option)
        if named.get("examples"):
            found: list[Any] = named["examples"]
            return found
    return []


def model_named(service: str, name: str) -> type[BaseModel]:
    """The pydantic model an OpenAPI schema was generated from, by its name."""
    packages = (f"{service}_service.", "shared.")
    found = {
        value
        for module_name, module in list(sys.modules.items())
        if module_name.startswith(packages)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__name__ == name
        and value.__module__.startswith(packages)
    }
    assert len(found) == 1, f"{service}: {len(found)} models named {name}"
    return found.pop()


@dataclass(frozen=True)
class Shape:
    model: type[BaseModel]
    is_list: bool = False

    def canonical(self, example: Any) -> Any:
        """The example as the model would render it; raises if the model rejects it."""
        items = example if self.is_list else [example]
        dumped = [
            self.model.model_validate(with_nulls(self.model, item)).model_dump(mode="json")
            for item in items
        ]
        return dumped if self.is_list else dumped[0]


def with_nulls(model: type[BaseModel], example: Any) -> Any:
    """The example with the nulls FastAPI drops from OpenAPI documents put back.

    FastAPI renders the document with `exclude_none`, so `"eta": null` in an example reaches
    readers as a missing key (fastapi/fastapi#5559). Only keys whose field may be null are
    restored: any other missing field still fails validation.
    """
    if not isinstance(example, dict):
        return example
    restored = dict(example)
    for name, field in model.model_fields.items():
        options = get_args(field.annotation) or (field.annotation,)
        if name not in restored:
            if type(None) in options:
                restored[name] = None
            continue
        for option in options:
            nested = get_args(option)[0] if get_origin(option) is list else option
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                value = restored[name]
                restored[name] = (
                    [with_nulls(nested, item) for item in value]
                    if isinstance(value, list)
                    else with_nulls(nested, value)
                )
    return restored


def shape_of(service: str, schema: dict[str, Any]) -> Shape | None:
    """The model behind a schema, or None when the schema is no named model (a form, text)."""
    if "$ref" in schema:
        return Shape(model_named(service, schema["$ref"].removeprefix(REF_PREFIX)))
    if schema.get("type") == "array":
        item = shape_of(service, schema["items"])
        return None if item is None else Shape(item.model, is_list=True)
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return shape_of(service, option)
    # A schema embedded by hand (a raw, signed body) keeps its model's name as title.
    if schema.get("type") == "object" and "title" in schema:
        return Shape(model_named(service, schema["title"]))
    return None


def unknown_keys(example: Any, canonical: Any, at: str = "") -> list[str]:
    """Keys of the example that the validated model would not produce: typos, stale fields."""
    if isinstance(example, dict) and isinstance(canonical, dict):
        return [
            found
            for key, value in example.items()
            for found in (
                [f"{at}.{key}"]
                if key not in canonical
                else unknown_keys(value, canonical[key], f"{at}.{key}")
            )
        ]
    if isinstance(example, list) and isinstance(canonical, list):
        return [
            found
            for index, (item, known) in enumerate(zip(example, canonical, strict=True))
            for found in unknown_keys(item, known, f"{at}[{index}]")
        ]
    return []


def assert_examples_fit(
    operation: Operation, what: str, content: dict[str, Any], schemas: dict[str, Any]
) -> None:
    for media_type, media in content.items():
        examples = examples_of(media, schemas)
        assert examples, f"{operation}: no example for the {what} ({media_type})"
        shape = (
            shape_of(operation.service, media.get("schema", {}))
            if media_type == "application/json"
            else None
        )
        if shape is None:
            continue
        for example in examples:
            canonical = shape.canonical(example)
            assert unknown_keys(example, canonical) == [], f"{operation}: {what} example"


@pytest.mark.parametrize("operation", ALL_OPERATIONS, ids=str)
def test_the_operation_has_examples_that_fit_its_models(operation: Operation) -> None:
    schemas = spec_of(operation.service).get("components", {}).get("schemas", {})
    body = operation.spec.get("requestBody")
    if body is not None:
        assert_examples_fit(operation, "request body", body["content"], schemas)
    successes = {s: r for s, r in operation.spec["responses"].items() if s.startswith("2")}
    assert successes, f"{operation}: no success response documented"
    for status, response in successes.items():
        assert_examples_fit(operation, f"{status} response", response.get("content", {}), schemas)


def test_every_service_is_covered() -> None:
    covered = {op.service for op in ALL_OPERATIONS if op.path.startswith("/v1/")}

    assert covered == set(APPS)
    assert len(ALL_OPERATIONS) > 40


def store_and_mall_identifiers() -> set[str]:
    """Every identifier the catalog can seed, whatever its size: the values no example may use."""
    malls = pilot_malls()
    seeded = generate_catalog(malls, MAX_STORES_PER_MALL, skus=1)
    found = {value for mall in malls for value in (mall.id, mall.name, mall.address)}
    for store in seeded.stores:
        found |= {store.name, store.address, store.phone, store.pickup_instructions}
    for retailer in seeded.retailers:
        found |= {retailer.id, retailer.name}
    return {value.casefold() for value in found}


@pytest.mark.parametrize("service", CUSTOMER_FACING)
def test_customer_facing_documents_name_no_real_store_or_mall(service: str) -> None:
    text = str(spec_of(service)).casefold()
    identifiers = store_and_mall_identifiers()

    assert len(identifiers) > 4 * MAX_STORES_PER_MALL
    assert sorted(i for i in identifiers if i in text) == []
