"""The tool catalog of ``turngym/FunctionCalling-v0``: small apps over an in-memory world.

Each episode gets a fresh :class:`Apps` built from a JSON-compatible *world* (see
:func:`default_world`): a calendar, contacts and messages, a file system, a bank, a shop. Its
public methods are the tools; :func:`build_tools` turns them into
:class:`~turngym.tools.base.FunctionTool` objects whose JSON schemas come from the typed
signatures and Google-style docstrings (``turngym.tools.base``). Lookups (weather, capitals,
time zones, stock prices) and conversions (units, currencies) read fixed tables, so every
answer is reproducible offline.

A tool that is called correctly but cannot do what was asked (an unknown event id, too little
money) raises :class:`ToolError`; the env shows its message to the agent as the tool's result.

The world's layout (every key is a section that a task file may replace)::

    {"calendar": {"events": [{"id", "title", "date", "start_time", "duration_minutes",
                              "attendees"}]},
     "contacts": {NAME: {"phone", "email"}},
     "messages": {"inbox": [{"id", "sender", "text"}], "sent": [{"id", "recipient", "text"}]},
     "files": {PATH: CONTENT},
     "bank": {"accounts": {"checking": float, "savings": float},
              "transactions": [{"id", "account", "amount", "counterparty", "memo"}]},
     "shop": {"products": [{"id", "name", "category", "price", "stock"}],
              "cart": [{"product_id", "quantity"}],
              "orders": [{"id", "items", "total", "account"}]}}

What this does NOT cover: persistence across episodes, time passing, or concurrency.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from turngym.tools.base import FunctionTool

__all__ = [
    "CAPITALS",
    "CURRENCY_TO_USD",
    "STOCK_PRICES",
    "TIMEZONES",
    "TOOL_DOMAINS",
    "UNIT_ALIASES",
    "WEATHER",
    "WORLD_SECTIONS",
    "Apps",
    "ToolError",
    "build_tools",
    "default_world",
    "tool_schemas",
]

Account = Literal["checking", "savings"]
Currency = Literal["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "INR"]
ForecastDay = Literal["today", "tomorrow"]

WORLD_SECTIONS = ("calendar", "contacts", "messages", "files", "bank", "shop")
"""Top-level keys of a world dict."""


class ToolError(ValueError):
    """A well-formed call that the app cannot carry out; the message is shown to the agent."""


# ---- fixed reference data --------------------------------------------------------------

# (factor to the base unit, dimension); temperatures are handled apart (they have offsets).
_UNITS: dict[str, tuple[float, str]] = {
    "m": (1.0, "length"),
    "km": (1000.0, "length"),
    "cm": (0.01, "length"),
    "mm": (0.001, "length"),
    "mi": (1609.344, "length"),
    "ft": (0.3048, "length"),
    "in": (0.0254, "length"),
    "yd": (0.9144, "length"),
    "kg": (1.0, "mass"),
    "g": (0.001, "mass"),
    "lb": (0.45359237, "mass"),
    "oz": (0.028349523125, "mass"),
    "l": (1.0, "volume"),
    "ml": (0.001, "volume"),
    "gal": (3.785411784, "volume"),
    "s": (1.0, "time"),
    "min": (60.0, "time"),
    "h": (3600.0, "time"),
    "day": (86400.0, "time"),
    "c": (1.0, "temperature"),
    "f": (1.0, "temperature"),
    "k": (1.0, "temperature"),
}
UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "m": ("m", "meter", "meters", "metre", "metres"),
    "km": ("km", "kilometer", "kilometers", "kilometre", "kilometres"),
    "cm": ("cm", "centimeter", "centimeters", "centimetre", "centimetres"),
    "mm": ("mm", "millimeter", "millimeters", "millimetre", "millimetres"),
    "mi": ("mi", "mile", "miles"),
    "ft": ("ft", "foot", "feet"),
    "in": ("in", "inch", "inches"),
    "yd": ("yd", "yard", "yards"),
    "kg": ("kg", "kilogram", "kilograms"),
    "g": ("g", "gram", "grams"),
    "lb": ("lb", "lbs", "pound", "pounds"),
    "oz": ("oz", "ounce", "ounces"),
    "l": ("l", "liter", "liters", "litre", "litres"),
    "ml": ("ml", "milliliter", "milliliters", "millilitre", "millilitres"),
    "gal": ("gal", "gallon", "gallons"),
    "s": ("s", "sec", "second", "seconds"),
    "min": ("min", "minute", "minutes"),
    "h": ("h", "hr", "hour", "hours"),
    "day": ("day", "days", "d"),
    "c": ("c", "celsius", "degrees celsius", "°c", "degc"),
    "f": ("f", "fahrenheit", "degrees fahrenheit", "°f", "degf"),
    "k": ("k", "kelvin"),
}
"""Every spelling :meth:`Apps.convert_units` accepts, by canonical unit."""
_ALIAS_TO_UNIT = {alias: unit for unit, aliases in UNIT_ALIASES.items() for alias in aliases}

CURRENCY_TO_USD: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "JPY": 0.0067,
    "CHF": 1.12,
    "CAD": 0.73,
    "INR": 0.012,
}
"""Fixed exchange rates (USD per unit) so that conversions are reproducible."""

WEATHER: dict[str, dict[str, dict[str, Any]]] = {
    "Paris": {
        "today": {"condition": "cloudy", "high_c": 14, "low_c": 8},
        "tomorrow": {"condition": "rain", "high_c": 12, "low_c": 7},
    },
    "Tokyo": {
        "today": {"condition": "sunny", "high_c": 21, "low_c": 15},
        "tomorrow": {"condition": "sunny", "high_c": 23, "low_c": 16},
    },
    "New York": {
        "today": {"condition": "windy", "high_c": 10, "low_c": 3},
        "tomorrow": {"condition": "snow", "high_c": 1, "low_c": -4},
    },
    "Sydney": {
        "today": {"condition": "sunny", "high_c": 27, "low_c": 19},
        "tomorrow": {"condition": "storms", "high_c": 24, "low_c": 18},
    },
    "Nairobi": {
        "today": {"condition": "rain", "high_c": 22, "low_c": 13},
        "tomorrow": {"condition": "cloudy", "high_c": 24, "low_c": 14},
    },
    "Lima": {
        "today": {"condition": "fog", "high_c": 19, "low_c": 16},
        "tomorrow": {"condition": "cloudy", "high_c": 20, "low_c": 16},
    },
}
"""Forecasts by city and day."""

CAPITALS: dict[str, str] = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Kenya": "Nairobi",
    "Peru": "Lima",
    "Canada": "Ottawa",
    "Australia": "Canberra",
    "Brazil": "Brasilia",
    "Norway": "Oslo",
    "Egypt": "Cairo",
    "Vietnam": "Hanoi",
}
"""Capital city by country."""

TIMEZONES: dict[str, str] = {
    "Paris": "Europe/Paris",
    "Tokyo": "Asia/Tokyo",
    "New York": "America/New_York",
    "Sydney": "Australia/Sydney",
    "Nairobi": "Africa/Nairobi",
    "Lima": "America/Lima",
    "Oslo": "Europe/Oslo",
    "Cairo": "Africa/Cairo",
}
"""IANA time zone by city."""

STOCK_PRICES: dict[str, float] = {
    "AAPL": 189.25,
    "MSFT": 411.1,
    "NVDA": 878.4,
    "AMZN": 178.3,
    "TSLA": 171.05,
    "GOOG": 152.8,
}
"""Last price by ticker symbol."""

_CONTACTS: dict[str, dict[str, str]] = {
    "Alice Chen": {"phone": "+1-555-0101", "email": "alice.chen@example.com"},
    "Bob Martin": {"phone": "+1-555-0102", "email": "bob.martin@example.com"},
    "Carla Diaz": {"phone": "+1-555-0103", "email": "carla.diaz@example.com"},
    "Dev Patel": {"phone": "+1-555-0104", "email": "dev.patel@example.com"},
    "Emma Rossi": {"phone": "+1-555-0105", "email": "emma.rossi@example.com"},
    "Farid Haddad": {"phone": "+1-555-0106", "email": "farid.haddad@example.com"},
}

_PRODUCTS: list[dict[str, Any]] = [
    {"id": "P100", "name": "Trail running shoes", "category": "shoes", "price": 89.99},
    {"id": "P101", "name": "Canvas sneakers", "category": "shoes", "price": 45.5},
    {"id": "P102", "name": "Leather boots", "category": "shoes", "price": 129.0},
    {"id": "P200", "name": "Wireless earbuds", "category": "headphones", "price": 59.99},
    {"id": "P201", "name": "Over-ear headphones", "category": "headphones", "price": 149.0},
    {"id": "P202", "name": "Sports headphones", "category": "headphones", "price": 34.95},
    {"id": "P300", "name": "Espresso beans 1kg", "category": "coffee", "price": 24.0},
    {"id": "P301", "name": "Decaf ground coffee", "category": "coffee", "price": 12.75},
    {"id": "P302", "name": "Single origin beans", "category": "coffee", "price": 18.4},
    {"id": "P400", "name": "Hardcover notebook", "category": "notebook", "price": 14.0},
    {"id": "P401", "name": "Dotted notebook", "category": "notebook", "price": 9.5},
    {"id": "P402", "name": "Spiral notebook pack", "category": "notebook", "price": 7.25},
]


def default_world() -> dict[str, Any]:
    """A fresh copy of the default world (the state single-call tasks run against)."""
    return {
        "calendar": {
            "events": [
                {
                    "id": "evt-1",
                    "title": "Team standup",
                    "date": "2026-03-02",
                    "start_time": "09:30",
                    "duration_minutes": 15,
                    "attendees": ["Alice Chen", "Dev Patel"],
                },
                {
                    "id": "evt-2",
                    "title": "Dentist",
                    "date": "2026-03-04",
                    "start_time": "14:00",
                    "duration_minutes": 45,
                    "attendees": [],
                },
            ]
        },
        "contacts": copy.deepcopy(_CONTACTS),
        "messages": {
            "inbox": [
                {"id": "msg-1", "sender": "Alice Chen", "text": "Lunch on Friday?"},
                {"id": "msg-2", "sender": "Bob Martin", "text": "Sent you the slides."},
            ],
            "sent": [],
        },
        "files": {
            "/docs/todo.txt": "buy milk\ncall the plumber",
            "/docs/recipes/pancakes.txt": "flour, eggs, milk",
            "/photos/readme.txt": "holiday photos go here",
        },
        "bank": {
            "accounts": {"checking": 2450.0, "savings": 8000.0},
            "transactions": [],
        },
        "shop": {
            "products": [{**p, "stock": 5} for p in _PRODUCTS],
            "cart": [],
            "orders": [],
        },
    }


# ---- the apps --------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _cents(amount: float) -> float:
    return round(float(amount), 2)


class Apps:
    """The apps of one episode, over a world dict (copied; the caller's dict is not changed).

    Every public method documented with ``Args:`` is a tool (see :data:`TOOL_DOMAINS`).

    Args:
        world: A world dict; sections it lacks come from :func:`default_world`.

    Raises:
        ValueError: ``world`` has a section this class does not know.
    """

    def __init__(self, world: dict[str, Any] | None = None):
        unknown = sorted(set(world or {}) - set(WORLD_SECTIONS))
        if unknown:
            raise ValueError(
                f"world has unknown sections {unknown}; known sections: {list(WORLD_SECTIONS)}"
            )
        self.state: dict[str, Any] = default_world()
        """The live world, changed by the tools."""
        for section, value in (world or {}).items():
            self.state[section] = copy.deepcopy(value)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the world (what goal assertions are checked against)."""
        return copy.deepcopy(self.state)

    def _next_id(self, items: list[dict[str, Any]], prefix: str) -> str:
        numbers = [
            int(item["id"].rsplit("-", 1)[1])
            for item in items
            if str(item.get("id", "")).startswith(prefix + "-")
            and str(item["id"]).rsplit("-", 1)[1].isdigit()
        ]
        return f"{prefix}-{max(numbers, default=0) + 1}"

    def _contact(self, name: str) -> str:
        """The canonical contact name for a full name, a unique first name, a phone or email."""
        key = name.strip().casefold()
        contacts: dict[str, dict[str, str]] = self.state["contacts"]
        for full, info in contacts.items():
            identities = (full, info.get("phone", ""), info.get("email", ""))
            if key in (i.casefold() for i in identities):
                return full
        firsts = [full for full in contacts if full.split()[0].casefold() == key]
        if len(firsts) == 1:
            return firsts[0]
        raise ToolError(
            f"no contact matches {name!r}; known contacts: {', '.join(sorted(contacts))}"
        )

    # ---- calendar ----

    def calendar_create_event(
        self,
        title: str,
        date: str,
        start_time: str,
        duration_minutes: int = 60,
        attendees: list[str] | None = None,
    ) -> dict[str, Any]:
        """Create an event in the user's calendar and return it with its new id.

        Args:
            title: Short title of the event, e.g. "Project review".
            date: Day of the event as YYYY-MM-DD.
            start_time: Start time as HH:MM (24-hour clock).
            duration_minutes: Length of the event in minutes.
            attendees: Contact names to invite, if any.
        """
        if not _DATE_RE.match(date):
            raise ToolError(f"date must be YYYY-MM-DD, got {date!r}")
        if not _TIME_RE.match(start_time):
            raise ToolError(f"start_time must be HH:MM (24-hour), got {start_time!r}")
        if duration_minutes <= 0:
            raise ToolError(f"duration_minutes must be positive, got {duration_minutes}")
        events = self.state["calendar"]["events"]
        event = {
            "id": self._next_id(events, "evt"),
            "title": title,
            "date": date,
            "start_time": start_time,
            "duration_minutes": duration_minutes,
            "attendees": [self._contact(a) for a in attendees or []],
        }
        events.append(event)
        return event

    def calendar_list_events(self, date: str | None = None) -> list[dict[str, Any]]:
        """List calendar events, optionally only those on one day.

        Args:
            date: Only events on this day (YYYY-MM-DD); all events when omitted.
        """
        events = self.state["calendar"]["events"]
        return [e for e in events if date is None or e["date"] == date]

    def calendar_delete_event(self, event_id: str) -> str:
        """Delete (cancel) a calendar event by its id.

        Args:
            event_id: The event's id, as returned by calendar_list_events.
        """
        events = self.state["calendar"]["events"]
        for i, event in enumerate(events):
            if event["id"] == event_id:
                del events[i]
                return f"deleted {event_id}"
        raise ToolError(f"no event with id {event_id!r}; list events to see the ids")

    # ---- contacts and messages ----

    def contacts_lookup(self, name: str) -> dict[str, str]:
        """Look up a contact's phone number and email address by name.

        Args:
            name: The contact's full name or first name.
        """
        full = self._contact(name)
        return {"name": full, **self.state["contacts"][full]}

    def messages_send(self, recipient: str, text: str) -> dict[str, str]:
        """Send a text message to a contact.

        Args:
            recipient: The contact's name (or phone number or email).
            text: The message to send.
        """
        if not text.strip():
            raise ToolError("text must not be empty")
        sent = self.state["messages"]["sent"]
        message = {"id": self._next_id(sent, "sent"), "recipient": self._contact(recipient)}
        message["text"] = text
        sent.append(message)
        return message

    def messages_list_inbox(self, sender: str | None = None) -> list[dict[str, str]]:
        """List received messages in the inbox, optionally only those from one sender.

        Args:
            sender: Only messages whose sender contains this text (case-insensitive).
        """
        inbox = self.state["messages"]["inbox"]
        key = (sender or "").strip().casefold()
        return [m for m in inbox if key in m["sender"].casefold()]

    # ---- files ----

    def files_list(self, directory: str = "/") -> list[str]:
        """List the files under a directory (recursively), as full paths.

        Args:
            directory: The directory, e.g. "/docs"; "/" lists every file.
        """
        prefix = directory.rstrip("/") + "/"
        return sorted(p for p in self.state["files"] if p.startswith(prefix))

    def files_read(self, path: str) -> str:
        """Read a text file and return its content.

        Args:
            path: Full path of the file, e.g. "/docs/todo.txt".
        """
        try:
            return self.state["files"][path]
        except KeyError:
            raise ToolError(f"no file at {path!r}; use files_list to see the files") from None

    def files_write(self, path: str, content: str, overwrite: bool = False) -> str:
        """Write a text file, creating it (and its directories).

        Args:
            path: Full path of the file, starting with "/".
            content: The text to write.
            overwrite: Replace the file if it already exists.
        """
        if not path.startswith("/") or path.endswith("/"):
            raise ToolError(f"path must be a full file path like '/docs/a.txt', got {path!r}")
        if path in self.state["files"] and not overwrite:
            raise ToolError(f"{path!r} exists; pass overwrite=true to replace it")
        self.state["files"][path] = content
        return f"wrote {len(content)} characters to {path}"

    def files_move(self, source: str, destination: str) -> str:
        """Move or rename a file. A destination ending in "/" is a directory.

        Args:
            source: Full path of the file to move.
            destination: New full path, or a directory ending in "/".
        """
        files = self.state["files"]
        if source not in files:
            raise ToolError(f"no file at {source!r}; use files_list to see the files")
        if destination.endswith("/"):
            destination += source.rsplit("/", 1)[1]
        if not destination.startswith("/"):
            raise ToolError(f"destination must start with '/', got {destination!r}")
        if destination in files:
            raise ToolError(f"{destination!r} already exists")
        files[destination] = files.pop(source)
        return f"moved {source} to {destination}"

    def files_delete(self, path: str) -> str:
        """Delete a file.

        Args:
            path: Full path of the file to delete.
        """
        if self.state["files"].pop(path, None) is None:
            raise ToolError(f"no file at {path!r}; use files_list to see the files")
        return f"deleted {path}"

    # ---- bank ----

    def _debit(self, account: str, amount: float, counterparty: str, memo: str) -> None:
        accounts = self.state["bank"]["accounts"]
        if amount <= 0:
            raise ToolError(f"amount must be positive, got {amount}")
        if accounts[account] < amount - 1e-9:
            raise ToolError(
                f"insufficient funds: {account} holds {accounts[account]:.2f}, needs {amount:.2f}"
            )
        accounts[account] = _cents(accounts[account] - amount)
        self._record(account, -amount, counterparty, memo)

    def _record(self, account: str, amount: float, counterparty: str, memo: str) -> None:
        transactions = self.state["bank"]["transactions"]
        transactions.append(
            {
                "id": self._next_id(transactions, "txn"),
                "account": account,
                "amount": _cents(amount),
                "counterparty": counterparty,
                "memo": memo,
            }
        )

    def bank_get_balance(self, account: Account) -> dict[str, Any]:
        """Get the current balance of one of the user's bank accounts, in USD.

        Args:
            account: Which account: "checking" or "savings".
        """
        return {"account": account, "balance": self.state["bank"]["accounts"][account]}

    def bank_transfer(self, from_account: Account, to_account: Account, amount: float) -> str:
        """Transfer money between the user's own bank accounts.

        Args:
            from_account: Account the money leaves.
            to_account: Account the money goes to.
            amount: Amount in USD (positive, at most two decimals).
        """
        if from_account == to_account:
            raise ToolError("from_account and to_account must differ")
        amount = _cents(amount)
        self._debit(from_account, amount, f"transfer to {to_account}", "")
        accounts = self.state["bank"]["accounts"]
        accounts[to_account] = _cents(accounts[to_account] + amount)
        self._record(to_account, amount, f"transfer from {from_account}", "")
        return f"moved {amount:.2f} USD from {from_account} to {to_account}"

    def bank_pay(
        self, recipient: str, amount: float, account: Account = "checking", memo: str = ""
    ) -> str:
        """Pay a person or company (a bill, a refund) from one of the user's accounts.

        Args:
            recipient: Who receives the money, e.g. "Acme Power" or a contact name.
            amount: Amount in USD (positive).
            account: Account to pay from.
            memo: Optional note shown on the payment.
        """
        if not recipient.strip():
            raise ToolError("recipient must not be empty")
        amount = _cents(amount)
        self._debit(account, amount, recipient.strip(), memo)
        return f"paid {amount:.2f} USD to {recipient.strip()} from {account}"

    def bank_list_transactions(self, account: Account, limit: int = 10) -> list[dict[str, Any]]:
        """List the most recent transactions of an account, newest first.

        Args:
            account: Which account.
            limit: How many transactions to return at most.
        """
        if limit <= 0:
            raise ToolError(f"limit must be positive, got {limit}")
        rows = [t for t in self.state["bank"]["transactions"] if t["account"] == account]
        return rows[::-1][:limit]

    # ---- shop ----

    def shop_search_products(
        self, query: str, max_price: float | None = None
    ) -> list[dict[str, Any]]:
        """Search the online shop's products by name or category, cheapest first.

        Args:
            query: Words to look for, e.g. "headphones".
            max_price: Only products costing at most this much (USD).
        """
        words = [w for w in re.split(r"\W+", query.casefold()) if w]
        found = []
        for product in self.state["shop"]["products"]:
            text = f"{product['name']} {product['category']}".casefold()
            if all(w.rstrip("s") in text for w in words) and (
                max_price is None or product["price"] <= max_price + 1e-9
            ):
                found.append(product)
        return sorted(found, key=lambda p: (p["price"], p["id"]))

    def shop_add_to_cart(self, product_id: str, quantity: int = 1) -> dict[str, Any]:
        """Add a product to the shopping cart.

        Args:
            product_id: The product's id, e.g. "P100".
            quantity: How many to add.
        """
        if quantity <= 0:
            raise ToolError(f"quantity must be positive, got {quantity}")
        product = self._product(product_id)
        cart = self.state["shop"]["cart"]
        in_cart = sum(i["quantity"] for i in cart if i["product_id"] == product_id)
        if in_cart + quantity > product["stock"]:
            raise ToolError(f"only {product['stock']} of {product_id} in stock")
        for item in cart:
            if item["product_id"] == product_id:
                item["quantity"] += quantity
                break
        else:
            cart.append({"product_id": product_id, "quantity": quantity})
        return {"cart": cart}

    def shop_view_cart(self) -> dict[str, Any]:
        """Show the shopping cart's items and total price."""
        cart = self.state["shop"]["cart"]
        return {"items": cart, "total": self._cart_total()}

    def shop_checkout(self, account: Account = "checking") -> dict[str, Any]:
        """Buy everything in the cart, paying from a bank account; empties the cart.

        Args:
            account: Bank account to pay with.
        """
        shop = self.state["shop"]
        if not shop["cart"]:
            raise ToolError("the cart is empty; add products first")
        total = self._cart_total()
        self._debit(account, total, "Online Shop", "order")
        for item in shop["cart"]:
            self._product(item["product_id"])["stock"] -= item["quantity"]
        order = {
            "id": self._next_id(shop["orders"], "ord"),
            "items": shop["cart"],
            "total": total,
            "account": account,
        }
        shop["orders"].append(order)
        shop["cart"] = []
        return order

    def _product(self, product_id: str) -> dict[str, Any]:
        for product in self.state["shop"]["products"]:
            if product["id"] == product_id:
                return product
        raise ToolError(f"no product with id {product_id!r}; search the shop first")

    def _cart_total(self) -> float:
        cart = self.state["shop"]["cart"]
        return _cents(sum(self._product(i["product_id"])["price"] * i["quantity"] for i in cart))

    # ---- conversions ----

    def convert_units(self, value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
        """Convert a quantity between units of length, mass, volume, time or temperature.
        Units: meters, kilometers, centimeters, millimeters, miles, feet, inches, yards,
        kilograms, grams, pounds, ounces, liters, milliliters, gallons, seconds, minutes,
        hours, days, Celsius, Fahrenheit, Kelvin (or their symbols: m, km, lb, ...).

        Args:
            value: The quantity to convert.
            from_unit: Unit of the value, e.g. "km", "miles", "lb", "celsius".
            to_unit: Unit to convert to.
        """
        source, target = _unit(from_unit), _unit(to_unit)
        (f_src, dim_src), (f_dst, dim_dst) = _UNITS[source], _UNITS[target]
        if dim_src != dim_dst:
            raise ToolError(f"cannot convert {dim_src} ({from_unit}) to {dim_dst} ({to_unit})")
        if dim_src == "temperature":
            result = _from_kelvin(_to_kelvin(value, source), target)
        else:
            result = value * f_src / f_dst
        return {"value": round(result, 4), "unit": target}

    def convert_currency(
        self, amount: float, from_currency: Currency, to_currency: Currency
    ) -> dict[str, Any]:
        """Convert an amount of money between currencies at today's fixed rates.

        Args:
            amount: The amount to convert.
            from_currency: ISO code of the amount's currency.
            to_currency: ISO code of the currency to convert to.
        """
        usd = amount * CURRENCY_TO_USD[from_currency]
        return {"amount": round(usd / CURRENCY_TO_USD[to_currency], 2), "currency": to_currency}

    # ---- lookups over fixed data ----

    def weather_get_forecast(self, city: str, day: ForecastDay = "today") -> dict[str, Any]:
        """Get the weather forecast (condition, high and low in Celsius) for a city.

        Args:
            city: City name, e.g. "Paris".
            day: Which day: "today" or "tomorrow".
        """
        name = _lookup_key(WEATHER, city, "city")
        return {"city": name, "day": day, **WEATHER[name][day]}

    def lookup_capital(self, country: str) -> str:
        """Look up the capital city of a country.

        Args:
            country: The country's English name, e.g. "Japan".
        """
        return CAPITALS[_lookup_key(CAPITALS, country, "country")]

    def lookup_timezone(self, city: str) -> str:
        """Look up the IANA time zone of a city.

        Args:
            city: City name, e.g. "Tokyo".
        """
        return TIMEZONES[_lookup_key(TIMEZONES, city, "city")]

    def stock_get_price(self, symbol: str) -> dict[str, Any]:
        """Get the latest stock price of a company by its ticker symbol.

        Args:
            symbol: Ticker symbol, e.g. "AAPL".
        """
        key = _lookup_key(STOCK_PRICES, symbol, "symbol")
        return {"symbol": key, "price": STOCK_PRICES[key], "currency": "USD"}


def _unit(name: str) -> str:
    try:
        return _ALIAS_TO_UNIT[name.strip().casefold()]
    except KeyError:
        raise ToolError(
            f"unknown unit {name!r}; known units: {', '.join(sorted(_UNITS))}"
        ) from None


def _to_kelvin(value: float, unit: str) -> float:
    return {"c": value + 273.15, "f": (value - 32) * 5 / 9 + 273.15, "k": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"c": value - 273.15, "f": (value - 273.15) * 9 / 5 + 32, "k": value}[unit]


def _lookup_key(table: dict[str, Any], key: str, what: str) -> str:
    for name in table:
        if name.casefold() == key.strip().casefold():
            return name
    raise ToolError(f"unknown {what} {key!r}; known: {', '.join(table)}")


TOOL_DOMAINS: dict[str, str] = {
    "calendar_create_event": "calendar",
    "calendar_list_events": "calendar",
    "calendar_delete_event": "calendar",
    "contacts_lookup": "messages",
    "messages_send": "messages",
    "messages_list_inbox": "messages",
    "files_list": "files",
    "files_read": "files",
    "files_write": "files",
    "files_move": "files",
    "files_delete": "files",
    "bank_get_balance": "bank",
    "bank_transfer": "bank",
    "bank_pay": "bank",
    "bank_list_transactions": "bank",
    "shop_search_products": "shopping",
    "shop_add_to_cart": "shopping",
    "shop_view_cart": "shopping",
    "shop_checkout": "shopping",
    "convert_units": "conversion",
    "convert_currency": "conversion",
    "weather_get_forecast": "lookup",
    "lookup_capital": "lookup",
    "lookup_timezone": "lookup",
    "stock_get_price": "lookup",
}
"""Every tool of the catalog, in catalog order, with its domain."""


def build_tools(apps: Apps) -> dict[str, FunctionTool]:
    """The catalog's tools bound to ``apps``, by name (in :data:`TOOL_DOMAINS` order)."""
    return {name: FunctionTool(getattr(apps, name)) for name in TOOL_DOMAINS}


_SCHEMAS: dict[str, dict[str, Any]] | None = None


def tool_schemas() -> dict[str, dict[str, Any]]:
    """OpenAI-style schemas of every catalog tool, by name (a fresh copy)."""
    global _SCHEMAS
    if _SCHEMAS is None:
        # Schemas do not depend on the world; derive them once.
        _SCHEMAS = {name: t.schema() for name, t in build_tools(Apps()).items()}
    return copy.deepcopy(_SCHEMAS)
