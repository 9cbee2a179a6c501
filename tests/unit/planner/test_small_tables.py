"""In a tiny uploaded table every measurement is unique; it must still be read as a measure,
not as a row key."""

from __future__ import annotations

from sandbox_server.planners.offline import OfflinePlanner
from sandbox_server.registry import ColumnInfo, ColumnProfile, Dataset, TableInfo


def cities() -> Dataset:
    return Dataset(
        id="cities",
        version_hash="0" * 64,
        tables=[
            TableInfo(
                name="cities",
                file="cities.csv",
                row_count=4,
                columns=[
                    ColumnInfo(name="city_id", type="BIGINT", profile=ColumnProfile(distinct_count=4)),
                    ColumnInfo(
                        name="country",
                        type="VARCHAR",
                        profile=ColumnProfile(distinct_count=2, values=["Italy", "Norway"]),
                    ),
                    ColumnInfo(
                        name="population",
                        type="BIGINT",
                        profile=ColumnProfile(distinct_count=4, min=1, max=9),
                    ),
                ],
            )
        ],
    )


def test_unique_measurement_is_summed_and_unique_id_is_not() -> None:
    out = OfflinePlanner().plan("What is the total population by country?", cities())
    assert out.plan is not None
    assert [(a.func, a.column) for a in out.plan.select] == [("sum", "population")]  # type: ignore[union-attr]
    assert [d.column for d in out.plan.group_by] == ["country"]
