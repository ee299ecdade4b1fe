"""Function-calling tasks: a seeded generator and a JSONL loader.

Categories follow the Berkeley Function Calling Leaderboard (BFCL, Patil et al. 2024) plus
stateful multi-turn tasks in the spirit of AppWorld (Trivedi et al. 2024):

* ``simple``: one tool is offered; one call answers the request.
* ``multiple``: several tools are offered; one call of the right one answers it.
* ``parallel``: one tool, called several times in the same turn.
* ``parallel_multiple``: several different tools, all called in the same turn.
* ``irrelevance``: no offered tool fits; the right action is to call nothing.
* ``multi_turn``: the whole catalog is offered; the agent reaches a goal state through a
  sequence of calls, reading results as it goes (e.g. read a bill in the inbox, then pay it);
  judged by assertions on the final world.

A task is a JSON-compatible dict:

* ``id`` (str), ``category`` (one of :data:`CATEGORIES`), ``request`` (the user's words);
* ``tools``: names of the catalog tools offered (default: the whole catalog);
* ``expected_calls``: for the four calling categories, the calls the judged turn must make,
  each ``{"name", "arguments": {arg: [accepted values]}}`` (see :mod:`.matching`);
* ``assertions``: for ``multi_turn``, goal assertions on the final world (see :mod:`.matching`);
* ``state``: optional world sections replacing the defaults (see :mod:`.apps`);
* ``solution``: optional reference turns ``[[{"name", "arguments"}, ...], ...]`` (for scripted
  oracles and docs; never shown to the agent).

What this does NOT cover: natural-language paraphrase diversity beyond a few templates per
tool, or tasks whose goal depends on the agent's final text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from turngym.envs.base import Task, seeded_rng
from turngym.envs.function_calling.apps import (
    CAPITALS,
    CURRENCY_TO_USD,
    STOCK_PRICES,
    TIMEZONES,
    TOOL_DOMAINS,
    UNIT_ALIASES,
    WEATHER,
    Apps,
    default_world,
    tool_schemas,
)
from turngym.envs.function_calling.matching import validate_assertion, validate_expected_call
from turngym.envs.task_files import (
    FixedTaskSet,
    TaskFileError,
    check_generator_index,
    check_split,
    hash_unit,
    iter_jsonl_rows,
    train_test_from_jsonl,
)

__all__ = [
    "CALLING_CATEGORIES",
    "CATEGORIES",
    "FunctionCallingTaskGenerator",
    "FunctionCallingTaskSet",
    "TaskFileError",
    "load_tasks_jsonl",
    "reference_solution",
    "validate_task",
]

CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "multi_turn")
"""Task categories, in the generator's round-robin order."""
CALLING_CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple")
"""Categories judged by matching the calls of one turn."""

Rng = np.random.Generator
Spec = dict[str, Any]


def _pick(rng: Rng, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _sample(rng: Rng, items: Sequence[Any], n: int) -> list[Any]:
    return [items[i] for i in rng.choice(len(items), size=n, replace=False)]


def _spec(tool_name: str, /, **accepted: list[Any]) -> Spec:
    return {"name": tool_name, "arguments": {k: list(v) for k, v in accepted.items()}}


def _concrete(spec: Spec) -> dict[str, Any]:
    """The first accepted value of every argument: a call that matches ``spec``."""
    return {"name": spec["name"], "arguments": {k: v[0] for k, v in spec["arguments"].items()}}


def _call(tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    return {"name": tool_name, "arguments": arguments}


# ---- single-call templates: rng -> (request, expected call) ----------------------------

_UNIT_WORDS = {
    "km": "kilometers",
    "mi": "miles",
    "kg": "kilograms",
    "lb": "pounds",
    "ft": "feet",
    "m": "meters",
    "c": "degrees Celsius",
    "f": "degrees Fahrenheit",
    "l": "liters",
    "gal": "gallons",
    "h": "hours",
    "min": "minutes",
    "in": "inches",
    "cm": "centimeters",
}
_UNIT_PAIRS = [
    ("km", "mi"),
    ("mi", "km"),
    ("kg", "lb"),
    ("lb", "kg"),
    ("ft", "m"),
    ("c", "f"),
    ("f", "c"),
    ("l", "gal"),
    ("h", "min"),
    ("in", "cm"),
]
_FIRST_NAMES = {
    "Alice Chen": "Alice",
    "Bob Martin": "Bob",
    "Carla Diaz": "Carla",
    "Dev Patel": "Dev",
    "Emma Rossi": "Emma",
    "Farid Haddad": "Farid",
}
_TEXTS = [
    "Running 10 minutes late",
    "See you at the gym",
    "Happy birthday!",
    "Call me when you land",
    "The keys are under the mat",
    "Dinner is at 7",
]
_EVENT_TITLES = ["Project review", "Budget sync", "Design critique", "Yoga class", "Book club"]
_CATEGORY_WORDS = {
    "shoes": ["shoes", "shoe"],
    "headphones": ["headphones", "headphone"],
    "coffee": ["coffee"],
    "notebook": ["notebooks", "notebook"],
}


def _unit_value(rng: Rng) -> float:
    return float(round(float(rng.uniform(1, 200)), 1))


def _units_spec(rng: Rng, pair: tuple[str, str] | None = None) -> tuple[str, Spec, str]:
    source, target = pair or _pick(rng, _UNIT_PAIRS)
    value = _unit_value(rng)
    spec = _spec(
        "convert_units",
        value=[value],
        from_unit=list(UNIT_ALIASES[source]),
        to_unit=list(UNIT_ALIASES[target]),
    )
    return f"{value:g} {_UNIT_WORDS[source]}", spec, _UNIT_WORDS[target]


def _t_units(rng: Rng) -> tuple[str, Spec]:
    quantity, spec, target = _units_spec(rng)
    form = _pick(rng, ["Convert {q} to {t}.", "How many {t} is {q}?", "What is {q} in {t}?"])
    return form.format(q=quantity, t=target), spec


def _t_currency(rng: Rng) -> tuple[str, Spec]:
    source, target = _sample(rng, list(CURRENCY_TO_USD), 2)
    amount = int(rng.integers(10, 5000))
    spec = _spec("convert_currency", amount=[amount], from_currency=[source], to_currency=[target])
    form = _pick(rng, ["How much is {a} {s} in {t}?", "Convert {a} {s} to {t}."])
    return form.format(a=amount, s=source, t=target), spec


def _t_weather(rng: Rng) -> tuple[str, Spec]:
    city = _pick(rng, list(WEATHER))
    day = _pick(rng, ["today", "tomorrow", None])
    if day is None:
        return f"What's the weather like in {city}?", _spec(
            "weather_get_forecast", city=[city], day=["today"]
        )
    return f"What's the weather forecast for {city} {day}?", _spec(
        "weather_get_forecast", city=[city], day=[day]
    )


def _t_capital(rng: Rng) -> tuple[str, Spec]:
    country = _pick(rng, list(CAPITALS))
    return f"What is the capital of {country}?", _spec("lookup_capital", country=[country])


def _t_timezone(rng: Rng) -> tuple[str, Spec]:
    city = _pick(rng, list(TIMEZONES))
    return f"Which time zone is {city} in?", _spec("lookup_timezone", city=[city])


def _t_stock(rng: Rng) -> tuple[str, Spec]:
    symbol = _pick(rng, list(STOCK_PRICES))
    return f"What's the current stock price of {symbol}?", _spec("stock_get_price", symbol=[symbol])


def _t_contact(rng: Rng) -> tuple[str, Spec]:
    full = _pick(rng, list(_FIRST_NAMES))
    what = _pick(rng, ["email address", "phone number"])
    return f"What's {full}'s {what}?", _spec("contacts_lookup", name=[full, _FIRST_NAMES[full]])


def _t_send(rng: Rng) -> tuple[str, Spec]:
    full = _pick(rng, list(_FIRST_NAMES))
    text = _pick(rng, _TEXTS)
    spec = _spec("messages_send", recipient=[full, _FIRST_NAMES[full]], text=[text])
    return f'Text {full}: "{text}"', spec


def _t_event(rng: Rng) -> tuple[str, Spec]:
    title = _pick(rng, _EVENT_TITLES)
    date = f"2026-03-{int(rng.integers(5, 29)):02d}"
    time = f"{int(rng.integers(8, 18)):02d}:{_pick(rng, ['00', '30'])}"
    minutes = int(_pick(rng, [30, 45, 90]))
    spec = _spec(
        "calendar_create_event",
        title=[title],
        date=[date],
        start_time=[time],
        duration_minutes=[minutes],
    )
    return f'Put "{title}" in my calendar on {date} at {time} for {minutes} minutes.', spec


def _t_balance(rng: Rng) -> tuple[str, Spec]:
    account = _pick(rng, ["checking", "savings"])
    request = f"How much money is in my {account} account?"
    return request, _spec("bank_get_balance", account=[account])


def _t_transfer(rng: Rng) -> tuple[str, Spec]:
    source, target = _pick(rng, [("checking", "savings"), ("savings", "checking")])
    amount = int(rng.integers(2, 60)) * 5
    spec = _spec("bank_transfer", from_account=[source], to_account=[target], amount=[amount])
    return f"Move ${amount} from my {source} account to {target}.", spec


def _t_pay(rng: Rng) -> tuple[str, Spec]:
    full = _pick(rng, list(_FIRST_NAMES))
    amount = int(rng.integers(5, 120))
    account = _pick(rng, ["checking", "savings"])
    spec = _spec(
        "bank_pay", recipient=[full, _FIRST_NAMES[full]], amount=[amount], account=[account]
    )
    return f"Pay {full} ${amount} from my {account} account.", spec


def _t_search(rng: Rng) -> tuple[str, Spec]:
    category = _pick(rng, list(_CATEGORY_WORDS))
    limit = int(_pick(rng, [20, 50, 100]))
    words = _CATEGORY_WORDS[category]
    spec = _spec("shop_search_products", query=words, max_price=[limit])
    return f"Search the shop for {words[0]} under ${limit}.", spec


def _t_read(rng: Rng) -> tuple[str, Spec]:
    path = _pick(rng, sorted(default_world()["files"]))
    return f"Show me what's in the file {path}.", _spec("files_read", path=[path])


_SIMPLE: list[Callable[[Rng], tuple[str, Spec]]] = [
    _t_units,
    _t_currency,
    _t_weather,
    _t_capital,
    _t_timezone,
    _t_stock,
    _t_contact,
    _t_send,
    _t_event,
    _t_balance,
    _t_transfer,
    _t_pay,
    _t_search,
    _t_read,
]


# ---- parallel templates: rng -> (request, expected calls of one tool) -------------------


def _join(items: Sequence[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def _p_weather(rng: Rng) -> tuple[str, list[Spec]]:
    cities = _sample(rng, list(WEATHER), int(rng.integers(2, 4)))
    day = _pick(rng, ["today", "tomorrow"])
    specs = [_spec("weather_get_forecast", city=[c], day=[day]) for c in cities]
    return f"What's the weather forecast {day} in {_join(cities)}?", specs


def _p_capital(rng: Rng) -> tuple[str, list[Spec]]:
    countries = _sample(rng, list(CAPITALS), int(rng.integers(2, 4)))
    specs = [_spec("lookup_capital", country=[c]) for c in countries]
    return f"What are the capitals of {_join(countries)}?", specs


def _p_stock(rng: Rng) -> tuple[str, list[Spec]]:
    symbols = _sample(rng, list(STOCK_PRICES), int(rng.integers(2, 4)))
    specs = [_spec("stock_get_price", symbol=[s]) for s in symbols]
    return f"Get me the stock prices of {_join(symbols)}.", specs


def _p_timezone(rng: Rng) -> tuple[str, list[Spec]]:
    cities = _sample(rng, list(TIMEZONES), int(rng.integers(2, 4)))
    specs = [_spec("lookup_timezone", city=[c]) for c in cities]
    return f"Which time zones are {_join(cities)} in?", specs


def _p_currency(rng: Rng) -> tuple[str, list[Spec]]:
    codes = list(CURRENCY_TO_USD)
    target = _pick(rng, codes)
    sources = _sample(rng, [c for c in codes if c != target], int(rng.integers(2, 4)))
    amounts = [int(rng.integers(10, 2000)) for _ in sources]
    specs = [
        _spec("convert_currency", amount=[a], from_currency=[s], to_currency=[target])
        for a, s in zip(amounts, sources, strict=True)
    ]
    parts = [f"{a} {s}" for a, s in zip(amounts, sources, strict=True)]
    return f"Convert each of these to {target}: {_join(parts)}.", specs


def _p_balances(rng: Rng) -> tuple[str, list[Spec]]:
    specs = [_spec("bank_get_balance", account=[a]) for a in ("checking", "savings")]
    form = _pick(
        rng,
        [
            "What are the balances of my checking and savings accounts?",
            "Check both my savings and my checking balance.",
        ],
    )
    return form, specs


def _p_units(rng: Rng) -> tuple[str, list[Spec]]:
    pairs = _sample(rng, _UNIT_PAIRS, int(rng.integers(2, 4)))
    parts, specs = [], []
    for pair in pairs:
        quantity, spec, target = _units_spec(rng, pair)
        parts.append(f"{quantity} to {target}")
        specs.append(spec)
    return f"Convert {_join(parts)}.", specs


_PARALLEL: list[Callable[[Rng], tuple[str, list[Spec]]]] = [
    _p_weather,
    _p_capital,
    _p_stock,
    _p_timezone,
    _p_currency,
    _p_balances,
    _p_units,
]


# ---- irrelevance: requests no catalog tool can serve -------------------------------------

_IRRELEVANT_FORMS: list[Callable[[Rng], str]] = [
    lambda r: "Write a {} about {}.".format(
        _pick(r, ["haiku", "short poem", "limerick", "two-sentence story"]),
        _pick(r, ["autumn", "the sea", "a lost cat", "city lights", "mountains", "rain"]),
    ),
    lambda r: "Book me a flight from {} to {} next {}.".format(
        *_sample(r, ["Berlin", "Madrid", "Rome", "Oslo", "Lisbon", "Dublin"], 2),
        _pick(r, ["Monday", "Friday", "weekend"]),
    ),
    lambda r: "Translate '{}' into {}.".format(
        _pick(r, ["good morning", "thank you very much", "where is the station"]),
        _pick(r, ["Italian", "German", "Korean", "Swahili"]),
    ),
    lambda r: "Tell me a joke about {}.".format(
        _pick(r, ["penguins", "programmers", "cheese", "dentists", "trains"])
    ),
    lambda r: "Play some {} music in the living room.".format(
        _pick(r, ["jazz", "classical", "lo-fi", "salsa"])
    ),
    lambda r: "Turn {} the {} lights.".format(
        _pick(r, ["on", "off"]), _pick(r, ["kitchen", "bedroom", "garden", "hallway"])
    ),
    lambda r: "Summarize the plot of {}.".format(
        _pick(r, ["Hamlet", "Moby Dick", "Don Quixote", "The Odyssey"])
    ),
]


# ---- multi-turn stateful templates: rng -> (request, world, assertions, solution) -------


def _world(rng: Rng) -> dict[str, Any]:
    world = default_world()
    # Varied balances so that the goal amounts cannot be memorized.
    world["bank"]["accounts"] = {
        "checking": int(rng.integers(150_000, 400_000)) / 100,
        "savings": int(rng.integers(300_000, 900_000)) / 100,
    }
    return world


_MultiTurn = tuple[str, dict[str, Any], list[dict[str, Any]], list[list[dict[str, Any]]]]


def _m_pay_bill(rng: Rng) -> _MultiTurn:
    world = _world(rng)
    biller = _pick(rng, ["Acme Power", "City Water", "FiberNet Internet", "Metro Gas"])
    amount = int(rng.integers(4_000, 25_000)) / 100
    ref = f"INV-{int(rng.integers(1000, 9999))}"
    world["messages"]["inbox"].append(
        {
            "id": "msg-3",
            "sender": biller,
            "text": f"Your bill of ${amount:.2f} is due on March 15. Reference {ref}.",
        }
    )
    checking = world["bank"]["accounts"]["checking"]
    request = f"Pay the {biller} bill that is in my inbox, from my checking account."
    assertions = [
        {
            "kind": "equals",
            "path": ["bank", "accounts", "checking"],
            "value": round(checking - amount, 2),
            "description": f"checking balance went down by the bill ({amount:.2f})",
        },
        {
            "kind": "contains",
            "path": ["bank", "transactions"],
            "match": {"counterparty": biller, "amount": -amount},
            "description": f"a payment of {amount:.2f} to {biller} was made",
        },
        {
            "kind": "count",
            "path": ["bank", "transactions"],
            "value": 1,
            "description": "exactly one transaction (no double payment)",
        },
    ]
    solution = [
        [_call("messages_list_inbox", sender=biller)],
        [_call("bank_pay", recipient=biller, amount=amount, account="checking", memo=ref)],
    ]
    return request, world, assertions, solution


def _m_forward_code(rng: Rng) -> _MultiTurn:
    world = _world(rng)
    place = _pick(rng, ["gym", "office", "cabin", "studio"])
    code = f"{int(rng.integers(1000, 9999))}{_pick(rng, ['A', 'B', 'X', 'K'])}"
    path = f"/notes/{place}.txt"
    world["files"][path] = f"Door code for the {place}: {code}\nWifi: guest / welcome1"
    full = _pick(rng, list(_FIRST_NAMES))
    request = f"Read {path} and text {full} the door code that is in it."
    assertions = [
        {
            "kind": "contains",
            "path": ["messages", "sent"],
            "match": {"recipient": full, "text": {"contains": code}},
            "description": f"{full} was sent a message containing {code}",
        },
        {
            "kind": "count",
            "path": ["messages", "sent"],
            "value": 1,
            "description": "exactly one message was sent",
        },
    ]
    solution = [
        [_call("files_read", path=path)],
        [_call("messages_send", recipient=full, text=f"The {place} door code is {code}.")],
    ]
    return request, world, assertions, solution


def _m_buy_cheapest(rng: Rng) -> _MultiTurn:
    world = _world(rng)
    category = _pick(rng, list(_CATEGORY_WORDS))
    account = _pick(rng, ["checking", "savings"])
    products = [p for p in world["shop"]["products"] if p["category"] == category]
    cheapest = min(products, key=lambda p: p["price"])
    balance = world["bank"]["accounts"][account]
    word = _CATEGORY_WORDS[category][-1]
    request = f"Buy the cheapest {word} in the shop (just one) and pay with my {account} account."
    assertions = [
        {
            "kind": "count",
            "path": ["shop", "orders"],
            "value": 1,
            "description": "exactly one order was placed",
        },
        {
            "kind": "contains",
            "path": ["shop", "orders"],
            "match": {"items": [{"product_id": cheapest["id"], "quantity": 1}], "account": account},
            "description": f"the order is one {cheapest['id']} paid from {account}",
        },
        {
            "kind": "equals",
            "path": ["bank", "accounts", account],
            "value": round(balance - cheapest["price"], 2),
            "description": f"{account} balance went down by {cheapest['price']:.2f}",
        },
    ]
    solution = [
        [_call("shop_search_products", query=word)],
        [_call("shop_add_to_cart", product_id=cheapest["id"], quantity=1)],
        [_call("shop_checkout", account=account)],
    ]
    return request, world, assertions, solution


def _m_reschedule(rng: Rng) -> _MultiTurn:
    world = _world(rng)
    title = _pick(rng, _EVENT_TITLES)
    day_from, day_to = (int(d) for d in rng.choice(np.arange(5, 29), size=2, replace=False))
    old, new = f"2026-03-{day_from:02d}", f"2026-03-{day_to:02d}"
    time = f"{int(rng.integers(8, 18)):02d}:{_pick(rng, ['00', '30'])}"
    minutes = int(_pick(rng, [30, 45, 60, 90]))
    guest = _pick(rng, list(_FIRST_NAMES))
    world["calendar"]["events"].append(
        {
            "id": "evt-3",
            "title": title,
            "date": old,
            "start_time": time,
            "duration_minutes": minutes,
            "attendees": [guest],
        }
    )
    request = (
        f'Move my "{title}" event on {old} to {new}. Keep its start time, length and attendees.'
    )
    assertions = [
        {
            "kind": "contains",
            "path": ["calendar", "events"],
            "match": {
                "title": title,
                "date": new,
                "start_time": time,
                "duration_minutes": minutes,
                "attendees": [guest],
            },
            "description": f'"{title}" is on {new} at {time}, {minutes} min, with {guest}',
        },
        {
            "kind": "not_contains",
            "path": ["calendar", "events"],
            "match": {"title": title, "date": old},
            "description": f'"{title}" is no longer on {old}',
        },
        {
            "kind": "count",
            "path": ["calendar", "events"],
            "value": 3,
            "description": "no other event was added or removed",
        },
    ]
    solution = [
        [_call("calendar_list_events", date=old)],
        [
            _call("calendar_delete_event", event_id="evt-3"),
            _call(
                "calendar_create_event",
                title=title,
                date=new,
                start_time=time,
                duration_minutes=minutes,
                attendees=[guest],
            ),
        ],
    ]
    return request, world, assertions, solution


def _m_archive(rng: Rng) -> _MultiTurn:
    world = _world(rng)
    names = _sample(
        rng, ["invoice", "receipt", "letter", "scan", "ticket", "memo"], 2 + int(rng.integers(2))
    )
    files = {f"/inbox/{n}-{int(rng.integers(10, 99))}.txt": f"{n} contents" for n in names}
    world["files"].update(files)
    request = "Move every file in /inbox into the /archive folder, keeping the file names."
    assertions: list[dict[str, Any]] = []
    moves = []
    for path, content in files.items():
        target = "/archive/" + path.rsplit("/", 1)[1]
        assertions.append(
            {"kind": "absent", "path": ["files", path], "description": f"{path} is gone"}
        )
        assertions.append(
            {
                "kind": "equals",
                "path": ["files", target],
                "value": content,
                "description": f"{target} holds the file",
            }
        )
        moves.append(_call("files_move", source=path, destination=target))
    assertions.append(
        {
            "kind": "count",
            "path": ["files"],
            "value": len(world["files"]),
            "description": "no file was deleted or added",
        }
    )
    return request, world, assertions, [[_call("files_list", directory="/inbox")], moves]


def _m_half_to_savings(rng: Rng) -> _MultiTurn:
    world = _world(rng)
    half_cents = int(rng.integers(50_000, 200_000))
    world["bank"]["accounts"]["checking"] = 2 * half_cents / 100
    savings = world["bank"]["accounts"]["savings"]
    half = half_cents / 100
    request = "Transfer exactly half of my checking balance to my savings account."
    assertions = [
        {
            "kind": "equals",
            "path": ["bank", "accounts", "checking"],
            "value": half,
            "description": f"checking holds {half:.2f}",
        },
        {
            "kind": "equals",
            "path": ["bank", "accounts", "savings"],
            "value": round(savings + half, 2),
            "description": f"savings grew by {half:.2f}",
        },
    ]
    solution = [
        [_call("bank_get_balance", account="checking")],
        [_call("bank_transfer", from_account="checking", to_account="savings", amount=half)],
    ]
    return request, world, assertions, solution


_MULTI_TURN: list[Callable[[Rng], _MultiTurn]] = [
    _m_pay_bill,
    _m_forward_code,
    _m_buy_cheapest,
    _m_reschedule,
    _m_archive,
    _m_half_to_savings,
]


# ---- the generator ---------------------------------------------------------------------


def _distractors(rng: Rng, needed: Sequence[str], low: int = 3, high: int = 6) -> list[str]:
    others = [n for n in TOOL_DOMAINS if n not in needed]
    chosen = _sample(rng, others, int(rng.integers(low, high + 1))) + list(needed)
    return [chosen[i] for i in rng.permutation(len(chosen))]


def generate_task(rng: Rng, category: str) -> Task:
    """One task of ``category`` drawn with ``rng`` (no ``id``; the caller adds it)."""
    if category == "simple":
        request, spec = _pick(rng, _SIMPLE)(rng)
        return _calling_task(category, request, [spec], [spec["name"]])
    if category == "multiple":
        request, spec = _pick(rng, _SIMPLE)(rng)
        return _calling_task(category, request, [spec], _distractors(rng, [spec["name"]]))
    if category == "parallel":
        request, specs = _pick(rng, _PARALLEL)(rng)
        return _calling_task(category, request, specs, [specs[0]["name"]])
    if category == "parallel_multiple":
        templates = _sample(rng, _SIMPLE, int(rng.integers(2, 4)))
        pairs = [t(rng) for t in templates]
        request = " Also, ".join(
            r if i == 0 else r[0].lower() + r[1:] for i, (r, _) in enumerate(pairs)
        )
        specs = [s for _, s in pairs]
        tools = _distractors(rng, [s["name"] for s in specs], 1, 3)
        return _calling_task(category, request, specs, tools)
    if category == "irrelevance":
        request = _pick(rng, _IRRELEVANT_FORMS)(rng)
        return {
            "category": category,
            "request": request,
            "tools": _distractors(rng, [], 3, 6),
            "expected_calls": [],
            "solution": [],
        }
    if category == "multi_turn":
        request, world, assertions, solution = _pick(rng, _MULTI_TURN)(rng)
        return {
            "category": category,
            "request": request,
            "tools": list(TOOL_DOMAINS),
            "state": world,
            "assertions": assertions,
            "solution": solution,
        }
    raise ValueError(f"unknown category {category!r}; choose from {list(CATEGORIES)}")


def _calling_task(category: str, request: str, specs: list[Spec], tools: list[str]) -> Task:
    return {
        "category": category,
        "request": request,
        "tools": tools,
        "expected_calls": specs,
        "solution": [[_concrete(s) for s in specs]],
    }


def _split_of(request: str, test_fraction: float) -> str:
    return "test" if hash_unit("function_calling:" + request) < test_fraction else "train"


def _request_split(task: Task, test_fraction: float) -> str:
    return _split_of(task["request"], test_fraction)


class FunctionCallingTaskGenerator:
    """An unbounded, seeded stream of generated tasks (a finite test split).

    ``get_task(index, split)`` depends only on ``(seed, categories, test_fraction, split,
    index)``. Categories take turns (``index % len(categories)``), so every window of
    ``len(categories)`` tasks is balanced. A request belongs to the test split when a hash of
    its text falls below ``test_fraction``, so no request appears in both splits.

    Args:
        seed: Which tasks: different seeds give different streams.
        categories: Categories to draw from (None: all of :data:`CATEGORIES`).
        test_fraction: Share of the request space reserved for the test split.
        num_test_tasks: Size of the test split; the train split is unbounded.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        categories: Sequence[str] | None = None,
        test_fraction: float = 0.2,
        num_test_tasks: int = 120,
    ):
        self.categories = _check_categories(categories)
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        if num_test_tasks < 0:
            raise ValueError(f"num_test_tasks must be >= 0, got {num_test_tasks!r}")
        self.seed = seed
        self.test_fraction = test_fraction
        self.num_test_tasks = num_test_tasks

    def num_tasks(self, split: str = "train") -> int | None:
        check_split(split)
        return None if split == "train" else self.num_test_tasks

    def get_task(self, index: int, split: str = "train") -> Task:
        check_split(split)
        check_generator_index(index, split, self.num_test_tasks)
        category = self.categories[index % len(self.categories)]
        rng = seeded_rng("function_calling", self.seed, split, index)
        for _ in range(10_000):
            task = generate_task(rng, category)
            if _split_of(task["request"], self.test_fraction) == split:
                return {"id": f"fc-{self.seed}-{split}-{index}", **task}
        raise RuntimeError(f"could not draw a {split} {category} task")  # pragma: no cover


def _check_categories(categories: Sequence[str] | None) -> tuple[str, ...]:
    if categories is None:
        return CATEGORIES
    if isinstance(categories, str):
        categories = [categories]
    chosen = tuple(categories)
    unknown = [c for c in chosen if c not in CATEGORIES]
    if not chosen or unknown:
        raise ValueError(
            f"categories must be a non-empty list drawn from {list(CATEGORIES)}, got {list(chosen)}"
        )
    return chosen


# ---- task validation and files ---------------------------------------------------------


def validate_task(row: Any, where: str = "task") -> Task:
    """Check a task dict (generated or from a file); return a normalized copy.

    Raises:
        ValueError: Naming ``where`` and what is wrong.
    """
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a task must be a JSON object, got {type(row).__name__}")
    category = row.get("category")
    if category not in CATEGORIES:
        raise ValueError(f"{where}: 'category' must be one of {list(CATEGORIES)}, got {category!r}")
    request = row.get("request")
    if not isinstance(request, str) or not request.strip():
        raise ValueError(f"{where}: 'request' must be a non-empty string")
    schemas = tool_schemas()
    tools = row.get("tools", list(TOOL_DOMAINS))
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ValueError(f"{where}: 'tools' must be a list of tool names")
    unknown = [t for t in tools if t not in schemas]
    if unknown:
        raise ValueError(f"{where}: unknown tools {unknown}; the catalog has {sorted(schemas)}")
    task: Task = {**row, "tools": list(tools)}
    expected = row.get("expected_calls", [])
    if not isinstance(expected, list):
        raise ValueError(f"{where}: 'expected_calls' must be a list")
    if category in CALLING_CATEGORIES and not expected:
        raise ValueError(f"{where}: category {category!r} needs a non-empty 'expected_calls'")
    if category in ("irrelevance", "multi_turn") and expected:
        raise ValueError(
            f"{where}: category {category!r} takes no 'expected_calls' (irrelevance expects "
            "no call; multi_turn is judged by 'assertions')"
        )
    specs = []
    for i, raw in enumerate(expected):
        spec = validate_expected_call(raw, f"{where}: expected_calls[{i}]")
        if spec["name"] not in tools:
            raise ValueError(
                f"{where}: expected_calls[{i}] calls {spec['name']!r}, which is not in 'tools'"
            )
        params = schemas[spec["name"]]["function"]["parameters"]["properties"]
        bad = [a for a in spec["arguments"] if a not in params]
        if bad:
            raise ValueError(
                f"{where}: expected_calls[{i}] ({spec['name']}) has unknown arguments {bad}; "
                f"its parameters are {list(params)}"
            )
        specs.append(spec)
    task["expected_calls"] = specs
    assertions = row.get("assertions", [])
    if category == "multi_turn":
        if not isinstance(assertions, list) or not assertions:
            raise ValueError(f"{where}: category 'multi_turn' needs a non-empty 'assertions' list")
        task["assertions"] = [
            validate_assertion(a, f"{where}: assertions[{i}]") for i, a in enumerate(assertions)
        ]
    elif assertions:
        raise ValueError(f"{where}: only 'multi_turn' tasks take 'assertions'")
    state = row.get("state")
    if state is not None:
        if not isinstance(state, dict):
            raise ValueError(f"{where}: 'state' must be an object of world sections")
        try:
            Apps(state)
        except ValueError as exc:
            raise ValueError(f"{where}: 'state': {exc}") from None
    solution = row.get("solution")
    if solution is not None and not (
        isinstance(solution, list)
        and all(
            isinstance(turn, list)
            and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in turn)
            for turn in solution
        )
    ):
        raise ValueError(f"{where}: 'solution' must be a list of turns, each a list of calls")
    return task


def load_tasks_jsonl(path: str | Path) -> list[Task]:
    """Read and validate a JSONL task file (blank lines are skipped).

    Raises:
        TaskFileError: The file is missing, or a line is not valid JSON or not a valid task;
            the message names the file and line number.
    """
    path = Path(path)
    if not path.is_file():
        raise TaskFileError(f"{path}: task file not found")
    tasks = []
    for lineno, where, row in iter_jsonl_rows(path):
        try:
            task = validate_task(row, where)
        except ValueError as exc:
            raise TaskFileError(str(exc)) from None
        task.setdefault("id", f"{path.stem}-{lineno}")
        tasks.append(task)
    if not tasks:
        raise TaskFileError(f"{path}: no tasks in file")
    return tasks


class FunctionCallingTaskSet(FixedTaskSet):
    """Fixed task lists per split, e.g. loaded from JSONL files.

    Args:
        train: Training tasks.
        test: Test tasks.
    """

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        *,
        test_path: str | Path | None = None,
        test_fraction: float = 0.2,
        categories: Sequence[str] | None = None,
    ) -> FunctionCallingTaskSet:
        """Load tasks; split ``path`` by a hash of the request unless ``test_path`` is given.

        Args:
            path: JSONL of training tasks (or of all tasks, when ``test_path`` is None).
            test_path: JSONL of test tasks.
            test_fraction: Share of ``path`` held out when there is no ``test_path``.
            categories: Keep only tasks of these categories (None keeps all).

        Raises:
            TaskFileError: A bad file, or no training task left.
        """
        kept = None if categories is None else set(_check_categories(categories))
        train, test = train_test_from_jsonl(
            path,
            test_path=test_path,
            test_fraction=test_fraction,
            load=load_tasks_jsonl,
            split_of=_request_split,
            keep=None if kept is None else (lambda t: t["category"] in kept),
        )
        return cls(train, test)

    @staticmethod
    def copy_task(task: Task) -> Task:
        """A deep copy: an env changes the nested ``state`` of its task."""
        return json.loads(json.dumps(task))


def reference_solution(task: Task) -> list[list[dict[str, Any]]]:
    """The task's reference turns: its ``solution``, else one turn of its expected calls."""
    if task.get("solution") is not None:
        return [[dict(c) for c in turn] for turn in task["solution"]]
    specs = task.get("expected_calls") or []
    return [[_concrete(s) for s in specs]] if specs else []
