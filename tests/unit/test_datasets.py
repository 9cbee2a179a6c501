"""The demo datasets: the generator is deterministic, the committed files honour the
vocabularies and invariants of DESIGN.md, the data has the shape the demo prompts rely on,
and registry.json describes the files as they are."""

from __future__ import annotations

import csv
import importlib.util
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from sandbox_server.plan import QueryPlan
from sandbox_server.registry import Dataset, Registry, load_registry, version_hash

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASETS_DIR = REPO_ROOT / "datasets"
GENERATOR = DATASETS_DIR / "generate.py"

Rows = list[dict[str, str]]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_datasets_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _read(path: Path) -> Rows:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and (p.suffix == ".csv" or p.name == "registry.json")
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Registry]:
    out = tmp_path_factory.mktemp("gen-a")
    return out, gen.generate(out)


@pytest.fixture(scope="module")
def orders() -> Rows:
    return _read(DATASETS_DIR / "ecommerce" / "orders.csv")


@pytest.fixture(scope="module")
def items() -> Rows:
    return _read(DATASETS_DIR / "ecommerce" / "order_items.csv")


@pytest.fixture(scope="module")
def inventory() -> Rows:
    return _read(DATASETS_DIR / "ecommerce" / "inventory.csv")


@pytest.fixture(scope="module")
def tickets() -> Rows:
    return _read(DATASETS_DIR / "support" / "tickets.csv")


@pytest.fixture(scope="module")
def readings() -> Rows:
    return _read(DATASETS_DIR / "sensors" / "sensors.csv")


def _ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- determinism
def test_generator_is_byte_identical_across_runs(generated: tuple[Path, Registry], tmp_path: Path) -> None:
    first_dir, first = generated
    # CPU time, not wall-clock: the machine is shared, its load is not the generator's cost.
    started = time.process_time()
    second = gen.generate(tmp_path)
    assert time.process_time() - started < 5.0, "the generator should take well under 5 s"
    assert _files(first_dir) == _files(tmp_path)
    assert [d.version_hash for d in first.datasets] == [d.version_hash for d in second.datasets]


def test_committed_data_is_what_the_generator_writes(generated: tuple[Path, Registry]) -> None:
    out, _ = generated
    committed = _files(DATASETS_DIR)
    fresh = _files(out)
    assert sorted(fresh) == sorted(committed)
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"regenerate with `python datasets/generate.py`: {stale} differ"


def test_scale_2_writes_about_twice_the_rows(tmp_path: Path) -> None:
    out = tmp_path / "big"
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), "--scale", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    big = load_registry(out)  # also checks headers and hashes of the bigger copy
    small = load_registry(DATASETS_DIR)
    for dataset in small.datasets:
        for table in dataset.tables:
            scaled = big.get(dataset.id).table(table.name)
            assert scaled is not None and scaled.row_count is not None and table.row_count
            assert 1.8 <= scaled.row_count / table.row_count <= 2.2, (dataset.id, table.name)
    sensor_ids = big.get("sensors").tables[0].column("sensor_id")
    assert sensor_ids is not None and sensor_ids.profile.distinct_count == 40


def test_scale_below_one_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--scale", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--scale" in done.stderr
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- ecommerce invariants
def test_orders_vocabularies(orders: Rows) -> None:
    assert len(orders) == 5000
    assert {o["status"] for o in orders} == set(gen.ORDER_STATUSES)
    assert {o["returned"] for o in orders} == {"true", "false"}
    dates = [o["order_date"] for o in orders]
    assert min(dates) >= "2024-01-01" and max(dates) <= "2025-12-31"
    assert all(date.fromisoformat(d) for d in dates)
    assert len({o["order_id"] for o in orders}) == len(orders)


def test_order_totals_are_the_rounded_sum_of_their_items(orders: Rows, items: Rows) -> None:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for it in items:
        sums[it["order_id"]] += Decimal(it["price"]) * int(it["quantity"]) * (1 - Decimal(it["discount"]))
    assert set(sums) == {o["order_id"] for o in orders}, "every order has items, every item an order"
    wrong = [
        o["order_id"]
        for o in orders
        if Decimal(o["total"]) != sums[o["order_id"]].quantize(Decimal("0.01"), ROUND_HALF_UP)
    ]
    assert not wrong


def test_order_items_match_the_catalogue(items: Rows, inventory: Rows) -> None:
    assert 14_000 <= len(items) <= 16_000
    assert len(inventory) == 200
    category_of = {p["product_id"]: p["category"] for p in inventory}
    assert set(category_of.values()) == set(gen.CATEGORIES)
    assert all(it["category"] == category_of[it["product_id"]] for it in items)
    discounts = {Decimal(it["discount"]) for it in items}
    assert min(discounts) == 0 and max(discounts) <= Decimal("0.5")
    assert all(int(it["quantity"]) >= 1 and Decimal(it["price"]) > 0 for it in items)
    assert all(int(p["stock"]) >= 0 for p in inventory)
    assert any(p["stock"] == "0" for p in inventory), "some products are out of stock"


def test_orders_are_seasonal_and_growing(orders: Rows) -> None:
    by_month = Counter(int(o["order_date"][5:7]) for o in orders)
    assert by_month[11] > 1.5 * by_month[2]
    assert by_month[12] > 1.5 * by_month[2]
    assert by_month[2] == min(by_month.values())
    by_year = Counter(o["order_date"][:4] for o in orders)
    assert by_year["2025"] > 1.1 * by_year["2024"]


def test_status_mix(orders: Rows) -> None:
    status = Counter(o["status"] for o in orders)
    assert status["delivered"] > 0.8 * len(orders)
    recent = [o for o in orders if o["order_date"] >= "2025-12-17"]
    old = [o for o in orders if o["order_date"] < "2025-12-01"]

    def in_flight(rows: Rows) -> float:
        return sum(o["status"] in ("pending", "shipped") for o in rows) / len(rows)

    assert in_flight(recent) > 0.4 > 0.01 > in_flight(old)
    assert all(o["status"] == "delivered" for o in orders if o["returned"] == "true")


def test_clothing_is_returned_most(orders: Rows, items: Rows) -> None:
    returned = {o["order_id"]: o["returned"] == "true" for o in orders}
    by_category: dict[str, list[bool]] = defaultdict(list)
    for it in items:
        by_category[it["category"]].append(returned[it["order_id"]])
    rates = {c: sum(v) / len(v) for c, v in by_category.items()}
    assert max(rates, key=rates.__getitem__) == "Clothing"
    assert rates["Clothing"] > 1.5 * statistics.median(rates.values())


# --------------------------------------------------------------------------- support invariants
def test_tickets_vocabularies(tickets: Rows) -> None:
    assert len(tickets) == 5000
    assert {t["category"] for t in tickets} == set(gen.TICKET_CATEGORIES)
    assert {t["priority"] for t in tickets} == set(gen.PRIORITIES)
    assert {t["sla_met"] for t in tickets} == {"true", "false"}
    created = [_ts(t["created_at"]) for t in tickets]
    assert min(created) >= datetime(2024, 1, 1) and max(created) < datetime(2026, 1, 1)
    assert {t["csat_score"] for t in tickets} == {"", "1", "2", "3", "4", "5"}


def test_open_tickets_have_no_resolution(tickets: Rows) -> None:
    open_ = [t for t in tickets if t["resolved_at"] == ""]
    closed = [t for t in tickets if t["resolved_at"] != ""]
    assert open_ and closed
    assert all(t["csat_score"] == "" and t["sla_met"] == "false" for t in open_)
    for t in closed:
        assert _ts(t["created_at"]) <= _ts(t["resolved_at"]) < datetime(2026, 1, 1)
    assert any(t["csat_score"] == "" for t in closed), "some customers do not answer the survey"
    # The backlog is mostly recent.
    recent = [t for t in tickets if t["created_at"] >= "2025-12-01"]
    older = [t for t in tickets if t["created_at"] < "2025-12-01"]

    def open_share(rows: Rows) -> float:
        return sum(t["resolved_at"] == "" for t in rows) / len(rows)

    assert open_share(recent) > 5 * open_share(older)


def test_sla_targets_define_sla_met(tickets: Rows) -> None:
    for t in tickets:
        if t["resolved_at"]:
            hours = (_ts(t["resolved_at"]) - _ts(t["created_at"])).total_seconds() / 3600
            # Resolution times are rounded to the second, the SLA decided on the exact time.
            limit = gen.SLA_TARGET_HOURS[t["priority"]]
            if abs(hours - limit) > 1 / 3600:
                assert (t["sla_met"] == "true") == (hours <= limit), t


def test_urgent_tickets_are_resolved_faster(tickets: Rows) -> None:
    hours: dict[str, list[float]] = defaultdict(list)
    for t in tickets:
        if t["resolved_at"]:
            hours[t["priority"]].append((_ts(t["resolved_at"]) - _ts(t["created_at"])).total_seconds() / 3600)
    medians = {p: statistics.median(v) for p, v in hours.items()}
    assert medians["urgent"] < medians["high"] < medians["medium"] < medians["low"]


def test_sla_and_csat_depend_on_category_and_outcome(tickets: Rows) -> None:
    def sla_rate(rows: Rows) -> float:
        return sum(t["sla_met"] == "true" for t in rows) / len(rows)

    by_category = {c: sla_rate([t for t in tickets if t["category"] == c]) for c in gen.TICKET_CATEGORIES}
    assert max(by_category.values()) - min(by_category.values()) > 0.15
    csat_met = [int(t["csat_score"]) for t in tickets if t["csat_score"] and t["sla_met"] == "true"]
    csat_missed = [int(t["csat_score"]) for t in tickets if t["csat_score"] and t["sla_met"] == "false"]
    assert statistics.mean(csat_met) > statistics.mean(csat_missed) + 0.5


# --------------------------------------------------------------------------- sensors invariants
def test_sensors_are_fixed_and_hourly(readings: Rows) -> None:
    assert len(readings) == 20 * 90 * 24
    by_sensor: dict[str, list[str]] = defaultdict(list)
    locations: dict[str, set[str]] = defaultdict(set)
    for r in readings:
        by_sensor[r["sensor_id"]].append(r["timestamp"])
        locations[r["sensor_id"]].add(r["location"])
    assert sorted(by_sensor) == [f"S{i:02d}" for i in range(1, 21)]
    assert all(len(places) == 1 for places in locations.values()), "a sensor never moves"
    spread = Counter(next(iter(places)) for places in locations.values())
    assert set(spread) == set(gen.LOCATIONS) and min(spread.values()) >= 2
    expected = [
        (datetime(2025, 1, 1) + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S") for h in range(90 * 24)
    ]
    assert all(sorted(stamps) == expected for stamps in by_sensor.values())
    assert {r["anomaly_flag"] for r in readings} == {"true", "false"}
    assert all(0 <= float(r["humidity"]) <= 100 for r in readings)


def test_sensor_climate(readings: Rows) -> None:
    temps: dict[str, list[float]] = defaultdict(list)
    humidity: dict[str, list[float]] = defaultdict(list)
    by_hour: dict[int, list[float]] = defaultdict(list)
    for r in readings:
        if r["anomaly_flag"] == "false":
            temps[r["location"]].append(float(r["temp"]))
            humidity[r["location"]].append(float(r["humidity"]))
            if r["location"] == "warehouse-a":
                by_hour[int(r["timestamp"][11:13])].append(float(r["temp"]))
    means = {loc: statistics.mean(v) for loc, v in temps.items()}
    assert max(means, key=means.__getitem__) == "datacenter"
    assert 35 <= statistics.mean(humidity["office"]) <= 55
    assert statistics.mean(by_hour[15]) > statistics.mean(by_hour[3]) + 2, "a daily cycle"


def test_anomalies_are_rare_temperature_spikes(readings: Rows) -> None:
    flagged = [r for r in readings if r["anomaly_flag"] == "true"]
    assert 0.005 <= len(flagged) / len(readings) <= 0.015
    temps: dict[str, list[float]] = defaultdict(list)
    for r in readings:
        temps[r["sensor_id"]].append(float(r["temp"]))
    spikes: dict[str, list[float]] = defaultdict(list)
    for r in flagged:
        spikes[r["sensor_id"]].append(float(r["temp"]))
    assert len(spikes) >= 15
    for sensor, values in spikes.items():
        assert statistics.mean(values) > statistics.mean(temps[sensor]) + 6, sensor


# --------------------------------------------------------------------------- registry describes the files
@pytest.fixture(scope="module")
def committed() -> Registry:
    return load_registry(DATASETS_DIR)


def test_registry_has_the_three_demo_datasets(committed: Registry) -> None:
    assert [d.id for d in committed.datasets] == ["ecommerce", "support", "sensors"]
    assert {d.id: d.table_names for d in committed.datasets} == {
        "ecommerce": ["orders", "order_items", "inventory"],
        "support": ["tickets"],
        "sensors": ["sensors"],
    }


@pytest.mark.parametrize("dataset_id", ["ecommerce", "support", "sensors"])
def test_registry_profiles_match_the_files(committed: Registry, dataset_id: str) -> None:
    dataset = committed.get(dataset_id)
    con = duckdb.connect()
    try:
        for table in dataset.tables:
            path = dataset.file_paths()[table.name]
            detected = con.execute(f"DESCRIBE SELECT * FROM read_csv('{path}')").fetchall()
            assert [(c.name, c.type) for c in table.columns] == [(n, t) for n, t, *_ in detected]
            assert con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchone() == (table.row_count,)
            for column in table.columns:
                _check_profile(con, path, column.name, column.type, column.profile.model_dump())
                assert column.description and "\n" not in column.description
            assert table.description and (table.primary_key is None or table.column(table.primary_key))
    finally:
        con.close()


def _check_profile(con: duckdb.DuckDBPyConnection, path: Path, name: str, type_: str, profile: Any) -> None:
    q = f'SELECT count(DISTINCT "{name}"), count(*) - count("{name}") FROM read_csv(\'{path}\')'
    assert con.execute(q).fetchone() == (profile["distinct_count"], profile["null_count"]), name
    if type_ in ("BIGINT", "DOUBLE", "DATE", "TIMESTAMP"):
        row = con.execute(f'SELECT min("{name}"), max("{name}") FROM read_csv(\'{path}\')').fetchone()
        assert row is not None
        low, high = (v if type_ in ("BIGINT", "DOUBLE") else str(v) for v in row)
        assert (low, high) == (profile["min"], profile["max"]), name
    if type_ == "VARCHAR" and profile["distinct_count"] <= 50:
        got = con.execute(f"SELECT DISTINCT \"{name}\" FROM read_csv('{path}') ORDER BY 1").fetchall()
        assert profile["values"] == [v for (v,) in got if v is not None], name
    else:
        assert profile["values"] is None, name


def test_registry_vocabularies_are_the_design_ones(committed: Registry) -> None:
    def values(dataset: str, table: str, column: str) -> list[str] | None:
        info = committed.get(dataset).table(table)
        assert info is not None
        col = info.column(column)
        assert col is not None
        return col.profile.values

    assert values("ecommerce", "orders", "status") == sorted(gen.ORDER_STATUSES)
    assert values("ecommerce", "order_items", "category") == sorted(gen.CATEGORIES)
    assert values("support", "tickets", "priority") == sorted(gen.PRIORITIES)
    assert values("support", "tickets", "category") == sorted(gen.TICKET_CATEGORIES)
    assert values("sensors", "sensors", "location") == sorted(gen.LOCATIONS)


@pytest.mark.parametrize(
    ("dataset_id", "table", "column", "synonym"),
    [
        ("ecommerce", "orders", "total", "amount"),
        ("ecommerce", "orders", "total", "order value"),
        ("ecommerce", "orders", "total", "sales"),
        ("sensors", "sensors", "temp", "temperature"),
        ("support", "tickets", "csat_score", "satisfaction"),
        ("support", "tickets", "csat_score", "csat"),
    ],
)
def test_column_synonyms(committed: Registry, dataset_id: str, table: str, column: str, synonym: str) -> None:
    info = committed.get(dataset_id).table(table)
    assert info is not None
    col = info.column(column)
    assert col is not None and synonym in col.synonyms


def test_table_synonyms_and_relationships(committed: Registry) -> None:
    tickets = committed.get("support").table("tickets")
    assert tickets is not None and {"cases", "requests"} <= set(tickets.synonyms)
    ecommerce = committed.get("ecommerce")
    assert {(r.from_, r.to) for r in ecommerce.relationships} == {
        ("order_items.order_id", "orders.order_id"),
        ("order_items.product_id", "inventory.product_id"),
    }
    for rel in ecommerce.relationships:
        for ref in (rel.from_, rel.to):
            table, column = ref.split(".")
            info = ecommerce.table(table)
            assert info is not None and info.column(column) is not None, ref


@pytest.mark.parametrize(
    ("dataset_id", "measures"),
    [
        ("ecommerce", {"revenue", "order_count", "average_order_value", "return_rate", "item_revenue"}),
        ("support", {"ticket_count", "sla_rate", "avg_csat"}),
        ("sensors", {"anomaly_rate", "avg_temp", "avg_humidity"}),
    ],
)
def test_measures_are_defined_over_existing_columns(
    committed: Registry, dataset_id: str, measures: set[str]
) -> None:
    dataset: Dataset = committed.get(dataset_id)
    assert measures <= {m.name for m in dataset.measures}
    for measure in dataset.measures:
        table = dataset.table(measure.table)
        assert table is not None, measure.name
        agg = measure.aggregate
        if agg.column is not None:
            col = table.column(agg.column)
            assert col is not None, measure.name
            if agg.func == "rate":
                assert col.type == "BOOLEAN", measure.name
            elif agg.func in ("sum", "avg"):
                assert col.is_numeric, measure.name
        if agg.expr is not None:
            names = {w for w in agg.expr.replace("(", " ").replace(")", " ").split() if w.isidentifier()}
            assert names <= set(table.column_names), measure.name
        for f in agg.where:
            assert table.column(f.column) is not None, measure.name
    revenue = committed.get("ecommerce").measure("revenue")
    if dataset_id == "ecommerce":
        assert revenue is not None and revenue.format == "currency"
        assert {"sales", "turnover"} <= set(revenue.synonyms)
        assert [(f.column, f.op, f.value) for f in revenue.aggregate.where] == [("status", "!=", "cancelled")]


def test_each_dataset_has_six_prompts_and_a_name(committed: Registry) -> None:
    for dataset in committed.datasets:
        assert dataset.name and dataset.description
        assert len(dataset.prompts) == 6 and len(set(dataset.prompts)) == 6
    assert "Which sensors had the most anomalies?" in committed.get("sensors").prompts


def test_version_hash_is_over_the_csv_files(committed: Registry) -> None:
    for dataset in committed.datasets:
        assert dataset.version_hash == version_hash(dataset.file_paths().items())
    assert len({d.version_hash for d in committed.datasets}) == 3


# --------------------------------------------------------------------------- prompts are answerable
# One reference plan per demo prompt, in the registry's order, and what its answer must show.
# They show the prompts need nothing beyond group/filter/aggregate/time-bucket/join plans.
_REFERENCE_PLANS: dict[str, list[tuple[dict[str, Any], Callable[[list[tuple[Any, ...]]], bool]]]] = {
    "ecommerce": [
        (
            {
                "table": "orders",
                "filters": [{"column": "order_date", "op": "between", "value": ["2025-01-01", "2025-12-31"]}],
                "group_by": [{"column": "order_date", "bucket": "month"}],
                "select": [{"measure": "revenue"}],
            },
            lambda rows: len(rows) == 12 and max(rows, key=lambda r: r[1])[0].month == 12,
        ),
        (
            {
                # Per order line: a line of a returned order counts as returned (the
                # return_rate measure itself would be inflated by the join, and is refused).
                "table": "orders",
                "joins": [{"table": "order_items"}],
                "group_by": ["category"],
                "select": [
                    {
                        "func": "rate",
                        "where": [{"column": "returned", "op": "=", "value": True}],
                        "alias": "return_rate",
                    }
                ],
                "order_by": ["return_rate desc"],
                "limit": 5,
            },
            lambda rows: len(rows) == 5 and rows[0][0] == "Clothing",
        ),
        (
            {"table": "orders", "group_by": ["status"], "select": [{"measure": "order_count"}]},
            lambda rows: sum(n for _, n in rows) == 5000 and len(rows) == 4,
        ),
        (
            {
                "table": "orders",
                "group_by": [{"column": "order_date", "bucket": "quarter"}],
                "select": [{"measure": "average_order_value"}],
            },
            lambda rows: len(rows) == 8 and all(v > 0 for _, v in rows),
        ),
        (
            {
                "table": "order_items",
                "joins": [{"table": "inventory"}],
                "group_by": ["name"],
                "select": [{"measure": "item_revenue"}],
                "order_by": ["item_revenue desc"],
                "limit": 10,
            },
            lambda rows: len(rows) == 10 and rows[0][1] >= rows[-1][1] > 0,
        ),
        (
            {
                "table": "inventory",
                "filters": [{"column": "stock", "op": "=", "value": 0}],
                "group_by": ["category"],
                "select": [{"func": "count"}],
            },
            lambda rows: len(rows) >= 3,
        ),
    ],
    "support": [
        (
            {
                "table": "tickets",
                "group_by": [{"column": "created_at", "bucket": "month"}],
                "select": [{"measure": "ticket_count"}],
            },
            lambda rows: len(rows) == 24,
        ),
        (
            {"table": "tickets", "group_by": ["priority"], "select": [{"measure": "sla_rate"}]},
            lambda rows: len(rows) == 4 and all(0 < r < 1 for _, r in rows),
        ),
        (
            {
                "table": "tickets",
                "filters": [
                    {"column": "priority", "op": "=", "value": "urgent"},
                    {"column": "sla_met", "op": "=", "value": True},
                ],
                "select": [{"func": "count"}],
            },
            lambda rows: rows[0][0] > 100,
        ),
        (
            {"table": "tickets", "group_by": ["category"], "select": [{"measure": "avg_csat"}]},
            lambda rows: len(rows) == 5 and all(1 <= v <= 5 for _, v in rows),
        ),
        (
            {
                "table": "tickets",
                "filters": [{"column": "resolved_at", "op": "is_null"}],
                "group_by": ["priority"],
                "select": [{"func": "count"}],
            },
            lambda rows: len(rows) == 4,
        ),
        (
            {
                "table": "tickets",
                "filters": [{"column": "created_at", "op": ">=", "value": "2025-01-01"}],
                "group_by": ["category"],
                "select": [{"measure": "sla_rate"}],
                "order_by": ["sla_rate asc"],
                "limit": 1,
            },
            lambda rows: rows[0][0] == "technical",
        ),
    ],
    "sensors": [
        (
            {"table": "sensors", "group_by": ["location"], "select": [{"measure": "avg_temp"}]},
            lambda rows: max(rows, key=lambda r: r[1])[0] == "datacenter",
        ),
        (
            {
                "table": "sensors",
                "group_by": ["sensor_id"],
                "select": [{"measure": "anomaly_count"}],
                "order_by": ["anomaly_count desc"],
                "limit": 5,
            },
            lambda rows: len(rows) == 5 and rows[0][1] > rows[-1][1] > 0,
        ),
        (
            {
                "table": "sensors",
                "filters": [{"column": "location", "op": "=", "value": "datacenter"}],
                "group_by": [{"column": "timestamp", "bucket": "day"}],
                "select": [{"measure": "avg_temp"}],
            },
            lambda rows: len(rows) == 90,
        ),
        (
            {"table": "sensors", "group_by": ["location"], "select": [{"measure": "anomaly_rate"}]},
            lambda rows: len(rows) == 5 and all(0 < r < 0.05 for _, r in rows),
        ),
        (
            {
                "table": "sensors",
                "filters": [{"column": "location", "op": "=", "value": "office"}],
                "group_by": [{"column": "timestamp", "part": "hour"}],
                "select": [{"measure": "avg_humidity"}],
            },
            lambda rows: len(rows) == 24,
        ),
        (
            {"table": "sensors", "group_by": ["sensor_id"], "select": [{"func": "max", "column": "temp"}]},
            lambda rows: len(rows) == 20,
        ),
    ],
}


@pytest.mark.parametrize("dataset_id", ["ecommerce", "support", "sensors"])
def test_every_prompt_has_a_plan_with_an_answer(committed: Registry, dataset_id: str) -> None:
    from sandbox_server.compiler import compile_plan

    dataset = committed.get(dataset_id)
    plans = _REFERENCE_PLANS[dataset_id]
    assert len(plans) == len(dataset.prompts)
    con = duckdb.connect()
    try:
        for name, path in dataset.file_paths().items():
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_csv('{path}')")
        for prompt, (plan, answer_ok) in zip(dataset.prompts, plans, strict=True):
            sql = compile_plan(QueryPlan(dataset_id=dataset_id, **plan), dataset)
            rows = con.execute(sql).fetchall()
            assert rows and answer_ok(rows), f"{prompt}: {sql} gave {rows[:5]}"
    finally:
        con.close()
