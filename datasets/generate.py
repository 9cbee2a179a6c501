"""Write the three demo datasets (``ecommerce``, ``support``, ``sensors``) and ``registry.json``.

The demo data is committed, and tests, benchmarks and golden answers depend on it, so the
generator must give byte-identical files on every run: one ``random.Random`` per dataset with a
fixed seed, money in ``Decimal``, every number formatted explicitly, rows written in a fixed
order. It uses the standard library only (plus ``sandbox_server.registry``/``plan``, which need
pydantic) so ``python datasets/generate.py`` works without the server's dependencies.

The data is synthetic but shaped so questions have interesting answers: seasonal and growing
orders, Clothing returned most, urgent tickets resolved fastest, a warm datacenter, anomalies
that are temperature spikes. ``--scale N`` multiplies row counts for benchmarks (more orders,
products, customers, tickets and sensors; date ranges stay the same).

usage: python datasets/generate.py [--out DIR] [--scale N]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

# Run as a script, Python puts datasets/ (not the repository) on sys.path; the registry models
# live in the repository's package, so make it importable without installing anything.
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sandbox_server.plan import Aggregate, Filter  # noqa: E402
from sandbox_server.registry import (  # noqa: E402
    ColumnInfo,
    ColumnProfile,
    ColumnType,
    Dataset,
    Measure,
    Registry,
    Relationship,
    TableInfo,
    version_hash,
)

DEFAULT_OUT = Path(__file__).resolve().parent
SEED = 20250101
MAX_LISTED_VALUES = 50  # text columns with at most this many distinct values list them all

# The closed vocabularies of DESIGN.md ("Demo datasets"); tests import them from here.
ORDER_STATUSES = ("pending", "shipped", "delivered", "cancelled")
CATEGORIES = ("Electronics", "Home", "Clothing", "Books", "Sports", "Beauty", "Toys")
TICKET_CATEGORIES = ("billing", "technical", "account", "shipping", "other")
PRIORITIES = ("low", "medium", "high", "urgent")
LOCATIONS = ("warehouse-a", "warehouse-b", "office", "datacenter", "lab")

ORDERS_START, ORDERS_END = date(2024, 1, 1), date(2025, 12, 31)
TICKETS_START, TICKETS_END = datetime(2024, 1, 1), datetime(2025, 12, 31, 23, 59, 59)
SENSORS_START, SENSOR_DAYS = datetime(2025, 1, 1), 90
SLA_TARGET_HOURS = {"urgent": 4, "high": 12, "medium": 24, "low": 72}

Row = list[str]
Tables = dict[str, list[Row]]


# --------------------------------------------------------------------------- cell formatting
def _iso_date(d: date) -> str:
    return d.strftime("%Y-%m-%d")


def _iso_ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _bool(b: bool) -> str:
    return "true" if b else "false"


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --------------------------------------------------------------------------- schema (registry text)
@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    description: str
    synonyms: tuple[str, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    synonyms: tuple[str, ...] = ()
    primary_key: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    name: str
    description: str
    tables: tuple[TableSpec, ...]
    generate: Callable[[random.Random, int], Tables]
    relationships: tuple[tuple[str, str], ...] = ()
    measures: tuple[Measure, ...] = ()
    prompts: tuple[str, ...] = ()


C = ColumnSpec

ORDERS = TableSpec(
    "orders",
    "One row per customer order, 2024-01-01 to 2025-12-31.",
    (
        C("order_id", "BIGINT", "Unique order number.", ("order number", "order")),
        C("customer_id", "BIGINT", "Customer who placed the order.", ("customer", "buyer", "client")),
        C("order_date", "DATE", "Day the order was placed.", ("date", "purchase date", "ordered on")),
        C(
            "total",
            "DOUBLE",
            "Order value in USD: sum of price * quantity * (1 - discount) of its items, rounded to cents.",
            ("amount", "order value", "sales", "order total"),
        ),
        C(
            "status",
            "VARCHAR",
            "Fulfilment state: pending, shipped, delivered or cancelled.",
            ("state", "order status", "fulfilment status"),
        ),
        C(
            "returned",
            "BOOLEAN",
            "True when the customer sent the order back.",
            ("return", "refunded", "sent back"),
        ),
    ),
    synonyms=("purchases", "sales orders", "transactions"),
    primary_key="order_id",
)
ORDER_ITEMS = TableSpec(
    "order_items",
    "One row per product line of an order.",
    (
        C("item_id", "BIGINT", "Unique order line number.", ("line id", "line")),
        C("order_id", "BIGINT", "Order this line belongs to (orders.order_id).", ("order", "order number")),
        C("product_id", "BIGINT", "Product sold (inventory.product_id).", ("product", "sku")),
        C(
            "category",
            "VARCHAR",
            "Product category, the same as the product's inventory.category.",
            ("product category", "department", "segment"),
        ),
        C("quantity", "BIGINT", "Units of the product in this line.", ("units", "qty", "count of units")),
        C("price", "DOUBLE", "List price of one unit in USD.", ("unit price", "list price")),
        C(
            "discount",
            "DOUBLE",
            "Discount on this line as a fraction from 0 to 0.5 (0.1 = 10% off).",
            ("markdown", "rebate", "discount rate"),
        ),
    ),
    synonyms=("line items", "items", "order lines", "basket"),
    primary_key="item_id",
)
INVENTORY = TableSpec(
    "inventory",
    "The product catalogue with current stock.",
    (
        C("product_id", "BIGINT", "Unique product number.", ("product", "sku")),
        C("name", "VARCHAR", "Product name.", ("product name", "title")),
        C("category", "VARCHAR", "Product category.", ("product category", "department", "segment")),
        C(
            "stock",
            "BIGINT",
            "Units in stock now (0 = out of stock).",
            ("units in stock", "on hand", "stock level"),
        ),
    ),
    synonyms=("products", "catalogue", "catalog", "stock"),
    primary_key="product_id",
)
TICKETS = TableSpec(
    "tickets",
    "Customer support tickets opened 2024-01-01 to 2025-12-31.",
    (
        C("ticket_id", "BIGINT", "Unique ticket number.", ("case id", "ticket number")),
        C(
            "created_at",
            "TIMESTAMP",
            "When the ticket was opened.",
            ("opened", "created", "opened at", "date"),
        ),
        C(
            "resolved_at",
            "TIMESTAMP",
            "When the ticket was resolved; empty while the ticket is still open.",
            ("closed", "resolved", "closed at"),
            nullable=True,
        ),
        C(
            "category",
            "VARCHAR",
            "Topic: billing, technical, account, shipping or other.",
            ("topic", "type", "issue type"),
        ),
        C("priority", "VARCHAR", "Priority: low, medium, high or urgent.", ("severity", "urgency")),
        C(
            "csat_score",
            "BIGINT",
            "Customer satisfaction rating 1 (worst) to 5 (best); empty when the customer did not answer.",
            ("satisfaction", "csat", "rating", "customer satisfaction"),
            nullable=True,
        ),
        C(
            "sla_met",
            "BOOLEAN",
            "True when resolved within the priority's target (urgent 4 h, high 12 h, medium 24 h, low 72 h); false while open.",
            ("sla", "within sla", "on time"),
        ),
    ),
    synonyms=("cases", "requests", "support tickets", "issues"),
    primary_key="ticket_id",
)
READINGS = TableSpec(
    "sensors",
    "Hourly readings of 20 environmental sensors from 2025-01-01 for 90 days.",
    (
        C("sensor_id", "VARCHAR", "Sensor name, S01 to S20.", ("sensor", "device")),
        C("timestamp", "TIMESTAMP", "Hour of the reading.", ("time", "date", "reading time")),
        C(
            "location",
            "VARCHAR",
            "Where the sensor is installed (a sensor never moves).",
            ("site", "room", "place"),
        ),
        C("temp", "DOUBLE", "Temperature in degrees Celsius.", ("temperature", "degrees", "celsius")),
        C("humidity", "DOUBLE", "Relative humidity in percent.", ("relative humidity", "rh", "moisture")),
        C(
            "anomaly_flag",
            "BOOLEAN",
            "True when the reading is an anomaly (a temperature spike).",
            ("anomaly", "alert", "anomalous"),
        ),
    ),
    synonyms=("readings", "measurements", "telemetry"),
)


# --------------------------------------------------------------------------- ecommerce
# share of products, unit price range in USD, chance that an order with such an item is returned
_CATALOGUE: dict[str, tuple[float, tuple[float, float], float]] = {
    "Electronics": (0.18, (15.0, 900.0), 0.10),
    "Home": (0.17, (8.0, 300.0), 0.06),
    "Clothing": (0.18, (10.0, 150.0), 0.24),
    "Books": (0.12, (5.0, 45.0), 0.03),
    "Sports": (0.13, (10.0, 400.0), 0.07),
    "Beauty": (0.12, (5.0, 80.0), 0.05),
    "Toys": (0.10, (6.0, 120.0), 0.05),
}
_NOUNS = {
    "Electronics": ("Headphones", "Speaker", "Monitor", "Keyboard", "Mouse", "Charger", "Tablet", "Camera", "Router", "Smartwatch"),
    "Home": ("Lamp", "Cushion", "Vase", "Blanket", "Mug Set", "Cutting Board", "Kettle", "Clock", "Rug", "Shelf"),
    "Clothing": ("T-Shirt", "Jeans", "Jacket", "Sweater", "Dress", "Hoodie", "Scarf", "Sneakers", "Socks", "Cap"),
    "Books": ("Cookbook", "Novel", "Atlas", "Biography", "Poetry Collection", "Guidebook", "Workbook", "Comic", "Anthology", "Dictionary"),
    "Sports": ("Yoga Mat", "Dumbbells", "Tennis Racket", "Football", "Bike Helmet", "Water Bottle", "Running Belt", "Jump Rope", "Tent", "Backpack"),
    "Beauty": ("Face Cream", "Shampoo", "Lipstick", "Perfume", "Serum", "Sunscreen", "Hand Soap", "Nail Polish", "Body Lotion", "Hair Oil"),
    "Toys": ("Puzzle", "Building Blocks", "Plush Bear", "Board Game", "Toy Car", "Kite", "Doll", "Train Set", "Yo-Yo", "Card Game"),
}  # fmt: skip
_ADJECTIVES = (
    "Classic", "Urban", "Nordic", "Compact", "Deluxe", "Eco", "Vintage", "Pro", "Essential", "Bright",
    "Cozy", "Sport", "Smart", "Premium", "Basic", "Summit", "Coastal", "Studio", "Everyday", "Royal",
)  # fmt: skip
# Orders per day: busy before Christmas, quiet in February.
_MONTH_FACTOR = {1: 0.85, 2: 0.6, 3: 0.9, 4: 0.95, 5: 1.0, 6: 0.95, 7: 0.9, 8: 0.95, 9: 1.0, 10: 1.1, 11: 1.6, 12: 1.85}  # fmt: skip
_DISCOUNTS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)
_DISCOUNT_WEIGHTS = (10, 12, 8, 8, 4, 3, 2, 1)


def _growth(day: date, start: date, end: date, growth: float) -> float:
    """Linear growth from 1 at ``start`` to ``1 + growth`` at ``end``."""
    return 1.0 + growth * (day - start).days / (end - start).days


def _order_status(rng: random.Random, age_days: int) -> str:
    # Recent orders are still in the pipeline; old ones are delivered or were cancelled.
    if age_days <= 2:
        weights = (55, 35, 5, 5)
    elif age_days <= 7:
        weights = (15, 55, 25, 5)
    elif age_days <= 21:
        weights = (3, 17, 74, 6)
    else:
        weights = (0, 0, 94, 6)
    return rng.choices(ORDER_STATUSES, weights)[0]


def generate_ecommerce(rng: random.Random, scale: int) -> Tables:
    # The catalogue: each product has one category, one list price, a popularity.
    n_products = 200 * scale
    product_categories = rng.choices(list(_CATALOGUE), [s for s, _, _ in _CATALOGUE.values()], k=n_products)
    seen: set[str] = set()
    inventory: list[Row] = []
    prices: list[Decimal] = []
    for pid, category in enumerate(product_categories, start=1):
        base = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS[category])}"
        name, n = base, 2
        while name in seen:
            name, n = f"{base} {n}", n + 1
        seen.add(name)
        low, high = _CATALOGUE[category][1]
        # Log-uniform prices ending in .99: many cheap products, a few expensive ones.
        whole = max(1, round(math.exp(rng.uniform(math.log(low), math.log(high)))))
        prices.append(Decimal(whole) - Decimal("0.01"))
        stock = 0 if rng.random() < 0.08 else int(rng.lognormvariate(4.0, 0.9))
        inventory.append([str(pid), name, category, str(stock)])
    popularity = list(itertools.accumulate(rng.lognormvariate(0.0, 0.8) for _ in range(n_products)))
    product_ids = list(range(1, n_products + 1))

    days = _days(ORDERS_START, ORDERS_END)
    day_weights = [
        _MONTH_FACTOR[d.month]
        * _growth(d, ORDERS_START, ORDERS_END, 0.6)
        * (1.15 if d.weekday() >= 5 else 1.0)
        for d in days
    ]
    order_dates = sorted(rng.choices(days, day_weights, k=5000 * scale))
    n_customers = 1500 * scale

    orders: list[Row] = []
    items: list[Row] = []
    item_id = 0
    for order_id, order_date in enumerate(order_dates, start=1):
        # Some customers order far more often than others.
        customer_id = int(n_customers * rng.random() ** 2) + 1
        n_lines = rng.choices((1, 2, 3, 4, 5, 6), (20, 25, 22, 15, 10, 8))[0]
        chosen: list[int] = []
        while len(chosen) < n_lines:
            pid = rng.choices(product_ids, cum_weights=popularity)[0]
            if pid not in chosen:
                chosen.append(pid)
        no_discount = 0.35 if order_date.month == 11 else 0.6  # November sales
        total = Decimal(0)
        return_chance = 0.0
        for pid in chosen:
            item_id += 1
            category = product_categories[pid - 1]
            price = prices[pid - 1]
            quantity = rng.choices((1, 2, 3, 4, 5), (60, 22, 10, 5, 3))[0]
            discount = 0.0 if rng.random() < no_discount else rng.choices(_DISCOUNTS, _DISCOUNT_WEIGHTS)[0]
            discount_text = f"{discount:.2f}"
            total += price * quantity * (1 - Decimal(discount_text))
            return_chance = max(return_chance, _CATALOGUE[category][2])
            items.append(
                [str(item_id), str(order_id), str(pid), category, str(quantity), f"{price}", discount_text]
            )
        status = _order_status(rng, (ORDERS_END - order_date).days)
        returned = status == "delivered" and rng.random() < return_chance
        orders.append(
            [
                str(order_id),
                str(customer_id),
                _iso_date(order_date),
                f"{_cents(total)}",
                status,
                _bool(returned),
            ]
        )
    return {"orders": orders, "order_items": items, "inventory": inventory}


# --------------------------------------------------------------------------- support
# median hours to resolve; the category multiplies it (technical issues take longest)
_RESOLUTION_MEDIAN_HOURS = {"urgent": 2.0, "high": 7.0, "medium": 18.0, "low": 40.0}
_CATEGORY_SLOWNESS = {"billing": 0.8, "technical": 1.5, "account": 0.9, "shipping": 1.15, "other": 1.0}
_TICKET_CATEGORY_WEIGHTS = (25, 35, 15, 18, 7)
_PRIORITY_WEIGHTS = (35, 35, 20, 10)
_HOUR_WEIGHTS = tuple(1 if h < 7 or h >= 20 else (6 if 9 <= h < 17 else 3) for h in range(24))
_CSAT_WEIGHTS_MET = (3, 5, 12, 35, 45)
_CSAT_WEIGHTS_MISSED = (15, 22, 30, 20, 13)


def generate_support(rng: random.Random, scale: int) -> Tables:
    days = _days(TICKETS_START.date(), TICKETS_END.date())
    day_weights = [
        _growth(d, days[0], days[-1], 0.5)
        * (0.5 if d.weekday() >= 5 else 1.0)
        * (1.3 if d.month == 12 else 1.0)
        for d in days
    ]
    created: list[datetime] = []
    for d in rng.choices(days, day_weights, k=5000 * scale):
        hour = rng.choices(range(24), _HOUR_WEIGHTS)[0]
        created.append(datetime(d.year, d.month, d.day, hour, rng.randrange(60), rng.randrange(60)))
    created.sort()

    tickets: list[Row] = []
    for ticket_id, opened in enumerate(created, start=1):
        category = rng.choices(TICKET_CATEGORIES, _TICKET_CATEGORY_WEIGHTS)[0]
        priority = rng.choices(PRIORITIES, _PRIORITY_WEIGHTS)[0]
        median = _RESOLUTION_MEDIAN_HOURS[priority] * _CATEGORY_SLOWNESS[category]
        hours = rng.lognormvariate(math.log(median), 0.8)
        resolved: datetime | None = opened + timedelta(seconds=round(hours * 3600))
        age_days = (TICKETS_END - opened).days
        # A backlog: recent tickets are often still waiting, a few old ones were never closed.
        stalled = 0.15 if age_days < 14 else (0.03 if age_days < 60 else 0.002)
        if resolved is None or resolved > TICKETS_END or rng.random() < stalled:
            resolved = None
        sla_met = resolved is not None and hours <= SLA_TARGET_HOURS[priority]
        csat = ""
        if resolved is not None and rng.random() < 0.7:  # 30% of customers do not answer the survey
            weights = _CSAT_WEIGHTS_MET if sla_met else _CSAT_WEIGHTS_MISSED
            csat = str(rng.choices((1, 2, 3, 4, 5), weights)[0])
        tickets.append(
            [
                str(ticket_id),
                _iso_ts(opened),
                _iso_ts(resolved) if resolved else "",
                category,
                priority,
                csat,
                _bool(sla_met),
            ]
        )
    return {"tickets": tickets}


# --------------------------------------------------------------------------- sensors
# mean °C, daily swing °C, warming °C over the 90 days, mean humidity %, daily humidity swing %
_CLIMATE = {
    "warehouse-a": (15.0, 3.0, 3.0, 60.0, 6.0),
    "warehouse-b": (12.5, 3.5, 3.5, 66.0, 7.0),
    "office": (21.5, 1.5, 0.5, 45.0, 3.0),
    "datacenter": (27.0, 1.0, 0.0, 38.0, 2.0),
    "lab": (20.0, 0.8, 0.3, 50.0, 2.0),
}


def sensor_location(index: int) -> str:
    """Sensors are spread round-robin: S01 warehouse-a, S02 warehouse-b, ..., S06 warehouse-a."""
    return LOCATIONS[index % len(LOCATIONS)]


def generate_sensors(rng: random.Random, scale: int) -> Tables:
    n_sensors = 20 * scale
    width = max(2, len(str(n_sensors)))
    sensors = [
        (f"S{i + 1:0{width}d}", sensor_location(i), rng.gauss(0.0, 0.5), 0.01 * rng.uniform(0.3, 1.7))
        for i in range(n_sensors)
    ]
    rows: list[Row] = []
    for hour in range(SENSOR_DAYS * 24):
        at = SENSORS_START + timedelta(hours=hour)
        stamp = _iso_ts(at)
        # Warmest mid-afternoon (15:00), coolest before dawn.
        cycle = math.sin(2 * math.pi * (at.hour - 9) / 24)
        progress = hour / (SENSOR_DAYS * 24)
        for sensor_id, location, offset, anomaly_rate in sensors:
            mean_t, swing_t, warming, mean_h, swing_h = _CLIMATE[location]
            temp = mean_t + offset + swing_t * cycle + warming * progress + rng.gauss(0.0, 0.4)
            humidity = min(95.0, max(5.0, mean_h - swing_h * cycle + rng.gauss(0.0, 1.5)))
            anomaly = rng.random() < anomaly_rate
            if anomaly:
                temp += rng.uniform(8.0, 18.0)
            rows.append([sensor_id, stamp, location, f"{temp:.1f}", f"{humidity:.1f}", _bool(anomaly)])
    return {"sensors": rows}


# --------------------------------------------------------------------------- measures and prompts
def _measure(
    name: str,
    table: str,
    aggregate: Aggregate,
    description: str,
    synonyms: Sequence[str] = (),
    fmt: Literal["number", "currency", "percent"] = "number",
) -> Measure:
    return Measure(
        name=name,
        table=table,
        aggregate=aggregate,
        description=description,
        synonyms=list(synonyms),
        format=fmt,
    )


_NOT_CANCELLED = [Filter(column="status", op="!=", value="cancelled")]

DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        id="ecommerce",
        name="E-commerce orders",
        description="Online shop orders, order lines and product catalogue, 2024-2025.",
        tables=(ORDERS, ORDER_ITEMS, INVENTORY),
        generate=generate_ecommerce,
        relationships=(
            ("order_items.order_id", "orders.order_id"),
            ("order_items.product_id", "inventory.product_id"),
        ),
        measures=(
            _measure(
                "revenue",
                "orders",
                Aggregate(func="sum", column="total", where=_NOT_CANCELLED),
                "Sum of order totals, cancelled orders excluded.",
                ("sales", "turnover", "gross sales"),
                "currency",
            ),
            _measure(
                "order_count",
                "orders",
                Aggregate(func="count"),
                "Number of orders.",
                ("number of orders", "order volume", "how many orders"),
            ),
            _measure(
                "average_order_value",
                "orders",
                Aggregate(func="avg", column="total", where=_NOT_CANCELLED),
                "Average order total, cancelled orders excluded.",
                ("aov", "average basket", "avg order value", "average order size"),
                "currency",
            ),
            _measure(
                "return_rate",
                "orders",
                Aggregate(func="rate", column="returned"),
                "Share of orders that were returned.",
                ("returns", "share returned", "percent returned"),
                "percent",
            ),
            _measure(
                "item_revenue",
                "order_items",
                Aggregate(func="sum", expr="price * quantity * (1 - discount)"),
                "Sum of price * quantity * (1 - discount) over order lines (all statuses).",
                ("line revenue", "product revenue", "category revenue", "item sales"),
                "currency",
            ),
        ),
        prompts=(
            "What is the total revenue by month in 2025?",
            "Which 5 product categories have the highest return rate?",
            "How many orders are there in each status?",
            "What is the average order value by quarter?",
            "Which 10 products generated the most item revenue?",
            "How many products are out of stock in each category?",
        ),
    ),
    DatasetSpec(
        id="support",
        name="Support tickets",
        description="Customer support tickets with priority, SLA outcome and satisfaction, 2024-2025.",
        tables=(TICKETS,),
        generate=generate_support,
        measures=(
            _measure(
                "ticket_count",
                "tickets",
                Aggregate(func="count"),
                "Number of tickets.",
                ("number of tickets", "ticket volume", "number of cases"),
            ),
            _measure(
                "sla_rate",
                "tickets",
                Aggregate(func="rate", column="sla_met"),
                "Share of tickets resolved within their SLA target.",
                ("sla compliance", "within sla", "on-time rate"),
                "percent",
            ),
            _measure(
                "avg_csat",
                "tickets",
                Aggregate(func="avg", column="csat_score"),
                "Average satisfaction score (1-5) of the tickets that were rated.",
                ("average csat", "average satisfaction", "mean csat score"),
            ),
            _measure(
                "open_ticket_count",
                "tickets",
                Aggregate(func="count", where=[Filter(column="resolved_at", op="is_null")]),
                "Number of tickets not resolved yet.",
                ("open tickets", "backlog", "unresolved tickets"),
            ),
        ),
        prompts=(
            "How many tickets were opened per month?",
            "What is the SLA rate by priority?",
            "How many urgent tickets were resolved within SLA?",
            "What is the average CSAT score by ticket category?",
            "How many tickets are still open, by priority?",
            "Which ticket category had the lowest SLA rate in 2025?",
        ),
    ),
    DatasetSpec(
        id="sensors",
        name="Environmental sensors",
        description="Hourly temperature and humidity of 20 sensors at 5 locations, Q1 2025, with anomaly flags.",
        tables=(READINGS,),
        generate=generate_sensors,
        measures=(
            _measure(
                "avg_temp",
                "sensors",
                Aggregate(func="avg", column="temp"),
                "Average temperature in degrees Celsius.",
                ("average temperature", "mean temperature"),
            ),
            _measure(
                "avg_humidity",
                "sensors",
                Aggregate(func="avg", column="humidity"),
                "Average relative humidity in percent.",
                ("average humidity", "mean humidity"),
            ),
            _measure(
                "anomaly_rate",
                "sensors",
                Aggregate(func="rate", column="anomaly_flag"),
                "Share of readings flagged as anomalies.",
                ("share of anomalies", "anomaly share", "percent anomalies"),
                "percent",
            ),
            _measure(
                "anomaly_count",
                "sensors",
                Aggregate(func="count", where=[Filter(column="anomaly_flag", op="=", value=True)]),
                "Number of readings flagged as anomalies.",
                ("anomalies", "number of anomalies", "spikes"),
            ),
            _measure(
                "reading_count",
                "sensors",
                Aggregate(func="count"),
                "Number of readings.",
                ("number of readings", "number of measurements"),
            ),
        ),
        prompts=(
            "What is the average temperature per location?",
            "Which sensors had the most anomalies?",
            "Show the daily average temperature in the datacenter",
            "What is the anomaly rate per location?",
            "What is the average humidity by hour of day in the office?",
            "What was the maximum temperature recorded by each sensor?",
        ),
    ),
)


# --------------------------------------------------------------------------- profiles and writing
def profile_column(column_type: ColumnType, cells: Sequence[str]) -> ColumnProfile:
    """What the registry tells the planner about a column, from its cells as written."""
    present = [c for c in cells if c != ""]
    distinct = set(present)
    values: list[str] | None = None
    low: str | float | int | None = None
    high: str | float | int | None = None
    if column_type == "VARCHAR" and len(distinct) <= MAX_LISTED_VALUES:
        values = sorted(distinct)
    elif column_type == "BIGINT" and present:
        numbers = [int(c) for c in present]
        low, high = min(numbers), max(numbers)
    elif column_type == "DOUBLE" and present:
        floats = [float(c) for c in present]
        low, high = min(floats), max(floats)
    elif column_type in ("DATE", "TIMESTAMP") and present:
        low, high = min(present), max(present)  # ISO text sorts like the time it names
    return ColumnProfile(
        distinct_count=len(distinct), null_count=len(cells) - len(present), values=values, min=low, max=high
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def build_dataset(spec: DatasetSpec, out_dir: Path, scale: int, seed: int) -> Dataset:
    """Generate one dataset's rows, write its CSV files, and describe them."""
    tables = spec.generate(random.Random(seed), scale)
    infos: list[TableInfo] = []
    files: list[tuple[str, Path]] = []
    for table in spec.tables:
        rows = tables[table.name]
        path = out_dir / spec.id / f"{table.name}.csv"
        write_csv(path, [c.name for c in table.columns], rows)
        files.append((table.name, path))
        columns = [
            ColumnInfo(
                name=c.name,
                type=c.type,
                description=c.description,
                synonyms=list(c.synonyms),
                nullable=c.nullable,
                profile=profile_column(c.type, [row[i] for row in rows]),
            )
            for i, c in enumerate(table.columns)
        ]
        infos.append(
            TableInfo(
                name=table.name,
                file=path.name,
                description=table.description,
                synonyms=list(table.synonyms),
                primary_key=table.primary_key,
                row_count=len(rows),
                columns=columns,
            )
        )
    return Dataset(
        id=spec.id,
        name=spec.name,
        description=spec.description,
        version_hash=version_hash(files),
        tables=infos,
        relationships=[Relationship(from_=a, to=b) for a, b in spec.relationships],
        measures=list(spec.measures),
        prompts=list(spec.prompts),
    )


def generate(out_dir: Path = DEFAULT_OUT, scale: int = 1) -> Registry:
    """Write every demo dataset under ``out_dir`` and ``out_dir/registry.json``; return the registry."""
    if scale < 1:
        raise ValueError(f"scale must be a whole number >= 1, got {scale}")
    registry = Registry(
        datasets=[build_dataset(spec, out_dir, scale, SEED + i) for i, spec in enumerate(DATASETS)]
    )
    text = json.dumps(
        registry.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2, ensure_ascii=False
    )
    (out_dir / "registry.json").write_text(text + "\n", encoding="utf-8")
    return registry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument(
        "--scale", type=int, default=1, help="multiply row counts, for benchmarks (default: 1)"
    )
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error(f"--scale must be a whole number >= 1, got {args.scale}")
    registry = generate(args.out, args.scale)
    for dataset in registry.datasets:
        sizes = ", ".join(f"{t.name} {t.row_count}" for t in dataset.tables)
        print(f"{dataset.id}: {sizes} rows; version {dataset.version_hash[:12]}")
    print(f"wrote {args.out / 'registry.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
