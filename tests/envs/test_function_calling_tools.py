"""The FunctionCalling-v0 tool catalog: every tool's schema and behaviour."""

from __future__ import annotations

import json
from typing import Any

import pytest

from turngym.envs.function_calling.apps import (
    CAPITALS,
    STOCK_PRICES,
    TOOL_DOMAINS,
    WORLD_SECTIONS,
    Apps,
    ToolError,
    build_tools,
    default_world,
    tool_schemas,
)
from turngym.tools.base import FunctionTool, ToolArgumentError

# Required arguments and the JSON type of every argument, written out by hand so that a
# change of a signature shows up here.
EXPECTED_PARAMETERS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "calendar_create_event": (
        ["title", "date", "start_time"],
        {
            "title": "string",
            "date": "string",
            "start_time": "string",
            "duration_minutes": "integer",
            "attendees": "array",
        },
    ),
    "calendar_list_events": ([], {"date": "string"}),
    "calendar_delete_event": (["event_id"], {"event_id": "string"}),
    "contacts_lookup": (["name"], {"name": "string"}),
    "messages_send": (["recipient", "text"], {"recipient": "string", "text": "string"}),
    "messages_list_inbox": ([], {"sender": "string"}),
    "files_list": ([], {"directory": "string"}),
    "files_read": (["path"], {"path": "string"}),
    "files_write": (
        ["path", "content"],
        {"path": "string", "content": "string", "overwrite": "boolean"},
    ),
    "files_move": (["source", "destination"], {"source": "string", "destination": "string"}),
    "files_delete": (["path"], {"path": "string"}),
    "bank_get_balance": (["account"], {"account": "string"}),
    "bank_transfer": (
        ["from_account", "to_account", "amount"],
        {"from_account": "string", "to_account": "string", "amount": "number"},
    ),
    "bank_pay": (
        ["recipient", "amount"],
        {"recipient": "string", "amount": "number", "account": "string", "memo": "string"},
    ),
    "bank_list_transactions": (["account"], {"account": "string", "limit": "integer"}),
    "shop_search_products": (["query"], {"query": "string", "max_price": "number"}),
    "shop_add_to_cart": (["product_id"], {"product_id": "string", "quantity": "integer"}),
    "shop_view_cart": ([], {}),
    "shop_checkout": ([], {"account": "string"}),
    "convert_units": (
        ["value", "from_unit", "to_unit"],
        {"value": "number", "from_unit": "string", "to_unit": "string"},
    ),
    "convert_currency": (
        ["amount", "from_currency", "to_currency"],
        {"amount": "number", "from_currency": "string", "to_currency": "string"},
    ),
    "weather_get_forecast": (["city"], {"city": "string", "day": "string"}),
    "lookup_capital": (["country"], {"country": "string"}),
    "lookup_timezone": (["city"], {"city": "string"}),
    "stock_get_price": (["symbol"], {"symbol": "string"}),
}


@pytest.fixture
def apps() -> Apps:
    return Apps()


@pytest.fixture
def tools(apps: Apps) -> dict[str, FunctionTool]:
    return build_tools(apps)


def _json(text: str) -> Any:
    return json.loads(text)


# ---- schemas ---------------------------------------------------------------------------


def test_catalog_covers_the_domains() -> None:
    assert set(TOOL_DOMAINS) == set(EXPECTED_PARAMETERS)
    assert set(TOOL_DOMAINS.values()) == {
        "calendar",
        "messages",
        "files",
        "bank",
        "shopping",
        "conversion",
        "lookup",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMETERS))
def test_every_schema_is_derived_from_the_signature(name: str) -> None:
    schema = tool_schemas()[name]
    function = schema["function"]
    assert schema["type"] == "function" and function["name"] == name
    assert function["description"] and not function["description"].startswith("Args")
    required, types = EXPECTED_PARAMETERS[name]
    params = function["parameters"]
    assert params["required"] == required
    assert params["additionalProperties"] is False
    assert {arg: prop["type"] for arg, prop in params["properties"].items()} == types
    for arg, prop in params["properties"].items():
        assert prop.get("description"), f"{name}.{arg} has no description"
        if arg not in required:
            assert "default" in prop, f"{name}.{arg} is optional but has no default"


def test_literal_arguments_become_enums() -> None:
    schemas = tool_schemas()
    balance = schemas["bank_get_balance"]["function"]["parameters"]["properties"]["account"]
    assert balance["enum"] == ["checking", "savings"]
    currency = schemas["convert_currency"]["function"]["parameters"]["properties"]
    assert (
        "EUR" in currency["from_currency"]["enum"] and "XYZ" not in currency["to_currency"]["enum"]
    )
    attendees = schemas["calendar_create_event"]["function"]["parameters"]["properties"][
        "attendees"
    ]
    assert attendees["items"] == {"type": "string"} and attendees["nullable"] is True


def test_schemas_are_fresh_copies() -> None:
    first = tool_schemas()
    first["files_read"]["function"]["name"] = "changed"
    assert tool_schemas()["files_read"]["function"]["name"] == "files_read"


def test_arguments_are_validated_before_running(tools: dict[str, FunctionTool]) -> None:
    with pytest.raises(ToolArgumentError, match="'account' must be one of"):
        tools["bank_get_balance"](account="brokerage")
    with pytest.raises(ToolArgumentError, match="'amount' must be a number"):
        tools["bank_transfer"](from_account="checking", to_account="savings", amount="10")
    with pytest.raises(ToolArgumentError, match="'to_unit' is required"):
        tools["convert_units"](value=1.0, from_unit="km")


# ---- world -----------------------------------------------------------------------------


def test_world_sections_replace_defaults_and_do_not_alias() -> None:
    world = {"bank": {"accounts": {"checking": 10.0, "savings": 0.0}, "transactions": []}}
    apps = Apps(world)
    apps.bank_pay("Bob Martin", 4.0)
    assert world["bank"]["accounts"]["checking"] == 10.0  # the caller's dict is untouched
    assert apps.state["bank"]["accounts"]["checking"] == 6.0
    assert apps.state["files"] == default_world()["files"]
    assert set(apps.snapshot()) == set(WORLD_SECTIONS)


def test_unknown_world_section_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown sections \\['garage'\\]"):
        Apps({"garage": {}})


# ---- calendar --------------------------------------------------------------------------


def test_calendar_create_list_delete(tools: dict[str, FunctionTool], apps: Apps) -> None:
    event = _json(
        tools["calendar_create_event"](
            title="Review", date="2026-03-10", start_time="10:00", attendees=["alice"]
        )
    )
    assert event["id"] == "evt-3" and event["attendees"] == ["Alice Chen"]
    assert event["duration_minutes"] == 60
    listed = _json(tools["calendar_list_events"](date="2026-03-10"))
    assert [e["title"] for e in listed] == ["Review"]
    assert len(_json(tools["calendar_list_events"]())) == 3
    assert tools["calendar_delete_event"](event_id="evt-3") == "deleted evt-3"
    assert [e["id"] for e in apps.state["calendar"]["events"]] == ["evt-1", "evt-2"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"date": "10/03/2026", "start_time": "10:00"}, "YYYY-MM-DD"),
        ({"date": "2026-03-10", "start_time": "25:00"}, "HH:MM"),
        ({"date": "2026-03-10", "start_time": "10:00", "duration_minutes": 0}, "positive"),
        ({"date": "2026-03-10", "start_time": "10:00", "attendees": ["Zed"]}, "no contact"),
    ],
)
def test_calendar_refuses_bad_events(apps: Apps, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        apps.calendar_create_event(title="x", **kwargs)
    assert len(apps.state["calendar"]["events"]) == 2


def test_calendar_delete_unknown(apps: Apps) -> None:
    with pytest.raises(ToolError, match="no event with id 'evt-9'"):
        apps.calendar_delete_event("evt-9")


# ---- contacts and messages -------------------------------------------------------------


def test_contacts_lookup_by_full_or_first_name(tools: dict[str, FunctionTool]) -> None:
    bob = _json(tools["contacts_lookup"](name="bob"))
    assert bob == {"name": "Bob Martin", "phone": "+1-555-0102", "email": "bob.martin@example.com"}
    assert _json(tools["contacts_lookup"](name="Carla Diaz"))["phone"] == "+1-555-0103"
    with pytest.raises(ToolError, match="no contact matches 'Zoe'"):
        tools["contacts_lookup"](name="Zoe")


def test_messages_send_resolves_the_recipient(tools: dict[str, FunctionTool], apps: Apps) -> None:
    sent = _json(tools["messages_send"](recipient="+1-555-0104", text="hi"))
    assert sent == {"id": "sent-1", "recipient": "Dev Patel", "text": "hi"}
    tools["messages_send"](recipient="Emma", text="yo")
    assert [m["recipient"] for m in apps.state["messages"]["sent"]] == ["Dev Patel", "Emma Rossi"]
    with pytest.raises(ToolError, match="must not be empty"):
        apps.messages_send("Emma", "   ")


def test_messages_list_inbox_filters_by_sender(tools: dict[str, FunctionTool]) -> None:
    assert len(_json(tools["messages_list_inbox"]())) == 2
    only_bob = _json(tools["messages_list_inbox"](sender="bob"))
    assert [m["id"] for m in only_bob] == ["msg-2"]


# ---- files -----------------------------------------------------------------------------


def test_files_list_read_write(tools: dict[str, FunctionTool], apps: Apps) -> None:
    assert _json(tools["files_list"](directory="/docs")) == [
        "/docs/recipes/pancakes.txt",
        "/docs/todo.txt",
    ]
    assert len(_json(tools["files_list"]())) == 3
    assert tools["files_read"](path="/docs/todo.txt") == "buy milk\ncall the plumber"
    assert "wrote 2 characters" in tools["files_write"](path="/new/a.txt", content="hi")
    assert apps.state["files"]["/new/a.txt"] == "hi"
    with pytest.raises(ToolError, match="exists; pass overwrite=true"):
        apps.files_write("/new/a.txt", "again")
    apps.files_write("/new/a.txt", "again", overwrite=True)
    assert apps.files_read("/new/a.txt") == "again"
    with pytest.raises(ToolError, match="full file path"):
        apps.files_write("relative.txt", "x")
    with pytest.raises(ToolError, match="no file at '/nope'"):
        apps.files_read("/nope")


def test_files_move_and_delete(tools: dict[str, FunctionTool], apps: Apps) -> None:
    assert tools["files_move"](source="/docs/todo.txt", destination="/archive/") == (
        "moved /docs/todo.txt to /archive/todo.txt"
    )
    assert "/docs/todo.txt" not in apps.state["files"]
    apps.files_move("/archive/todo.txt", "/archive/done.txt")
    assert apps.files_read("/archive/done.txt").startswith("buy milk")
    with pytest.raises(ToolError, match="already exists"):
        apps.files_move("/photos/readme.txt", "/archive/done.txt")
    assert tools["files_delete"](path="/archive/done.txt") == "deleted /archive/done.txt"
    with pytest.raises(ToolError, match="no file at"):
        apps.files_delete("/archive/done.txt")


# ---- bank ------------------------------------------------------------------------------


def test_bank_balance_transfer_pay_and_history(tools: dict[str, FunctionTool], apps: Apps) -> None:
    assert _json(tools["bank_get_balance"](account="savings")) == {
        "account": "savings",
        "balance": 8000.0,
    }
    tools["bank_transfer"](from_account="savings", to_account="checking", amount=100.5)
    assert apps.state["bank"]["accounts"] == {"checking": 2550.5, "savings": 7899.5}
    assert "paid 50.25 USD to Acme Power" in tools["bank_pay"](
        recipient="Acme Power", amount=50.25, memo="INV-1"
    )
    assert apps.state["bank"]["accounts"]["checking"] == 2500.25
    history = _json(tools["bank_list_transactions"](account="checking"))
    assert [(t["counterparty"], t["amount"]) for t in history] == [
        ("Acme Power", -50.25),
        ("transfer from savings", 100.5),
    ]
    assert len(_json(tools["bank_list_transactions"](account="checking", limit=1))) == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda a: a.bank_pay("X", 1e6), "insufficient funds"),
        (lambda a: a.bank_pay("X", -5), "must be positive"),
        (lambda a: a.bank_pay(" ", 5), "recipient must not be empty"),
        (lambda a: a.bank_transfer("checking", "checking", 5), "must differ"),
        (lambda a: a.bank_list_transactions("checking", limit=0), "limit must be positive"),
    ],
)
def test_bank_refusals_leave_the_state_unchanged(call: Any, message: str, apps: Apps) -> None:
    before = apps.snapshot()
    with pytest.raises(ToolError, match=message):
        call(apps)
    assert apps.snapshot() == before


# ---- shop ------------------------------------------------------------------------------


def test_shop_search_is_cheapest_first_with_price_cap(tools: dict[str, FunctionTool]) -> None:
    found = _json(tools["shop_search_products"](query="headphones"))
    assert [p["id"] for p in found] == ["P202", "P200", "P201"]
    capped = _json(tools["shop_search_products"](query="headphone", max_price=60))
    assert [p["id"] for p in capped] == ["P202", "P200"]
    assert _json(tools["shop_search_products"](query="bicycle")) == []


def test_shop_cart_and_checkout_pay_from_the_bank(
    tools: dict[str, FunctionTool], apps: Apps
) -> None:
    tools["shop_add_to_cart"](product_id="P401", quantity=2)
    tools["shop_add_to_cart"](product_id="P300")
    assert _json(tools["shop_view_cart"]())["total"] == 43.0
    order = _json(tools["shop_checkout"](account="savings"))
    assert order["total"] == 43.0 and order["account"] == "savings"
    assert apps.state["bank"]["accounts"]["savings"] == 7957.0
    assert apps.state["shop"]["cart"] == []
    stock = {p["id"]: p["stock"] for p in apps.state["shop"]["products"]}
    assert stock["P401"] == 3 and stock["P300"] == 4
    with pytest.raises(ToolError, match="cart is empty"):
        apps.shop_checkout()


def test_shop_refusals(apps: Apps) -> None:
    with pytest.raises(ToolError, match="no product with id 'P999'"):
        apps.shop_add_to_cart("P999")
    with pytest.raises(ToolError, match="only 5 of P100 in stock"):
        apps.shop_add_to_cart("P100", quantity=6)
    with pytest.raises(ToolError, match="quantity must be positive"):
        apps.shop_add_to_cart("P100", quantity=0)


# ---- conversions and lookups -----------------------------------------------------------


@pytest.mark.parametrize(
    "value, source, target, expected",
    [
        (10.0, "km", "miles", 6.2137),
        (1.0, "lb", "g", 453.5924),
        (100.0, "degrees celsius", "f", 212.0),
        (32.0, "Fahrenheit", "kelvin", 273.15),
        (2.0, "h", "minutes", 120.0),
        (1.0, "gal", "l", 3.7854),
    ],
)
def test_convert_units(
    tools: dict[str, FunctionTool], value: float, source: str, target: str, expected: float
) -> None:
    result = _json(tools["convert_units"](value=value, from_unit=source, to_unit=target))
    assert result["value"] == pytest.approx(expected, abs=1e-4)


def test_convert_units_refuses_mismatched_or_unknown_units(apps: Apps) -> None:
    with pytest.raises(ToolError, match="cannot convert length"):
        apps.convert_units(1.0, "km", "kg")
    with pytest.raises(ToolError, match="unknown unit 'parsec'"):
        apps.convert_units(1.0, "parsec", "km")


def test_convert_currency(tools: dict[str, FunctionTool]) -> None:
    result = _json(tools["convert_currency"](amount=100, from_currency="EUR", to_currency="USD"))
    assert result == {"amount": 108.0, "currency": "USD"}
    back = _json(tools["convert_currency"](amount=127, from_currency="USD", to_currency="GBP"))
    assert back["amount"] == pytest.approx(100.0)


def test_lookups(tools: dict[str, FunctionTool]) -> None:
    forecast = _json(tools["weather_get_forecast"](city="tokyo", day="tomorrow"))
    assert forecast == {
        "city": "Tokyo",
        "day": "tomorrow",
        "condition": "sunny",
        "high_c": 23,
        "low_c": 16,
    }
    assert _json(tools["weather_get_forecast"](city="Paris"))["day"] == "today"
    assert tools["lookup_capital"](country="peru") == CAPITALS["Peru"] == "Lima"
    assert tools["lookup_timezone"](city="New York") == "America/New_York"
    assert _json(tools["stock_get_price"](symbol="nvda"))["price"] == STOCK_PRICES["NVDA"]
    with pytest.raises(ToolError, match="unknown city 'Atlantis'"):
        tools["weather_get_forecast"](city="Atlantis")
    with pytest.raises(ToolError, match="unknown symbol"):
        tools["stock_get_price"](symbol="ZZZZ")
