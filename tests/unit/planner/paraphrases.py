"""The demo prompts of the registry, each with paraphrases written by hand, and the answer each
must give as hand-written SQL. One row: dataset, the registry prompt, paraphrases, expected
SQL, whether row order matters. Paraphrases vary wording on purpose (synonyms, word order,
grouping words); the planner is never tuned to one of them."""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    dataset: str
    prompt: str
    paraphrases: tuple[str, ...]
    sql: str
    ordered: bool = False


CASES: tuple[Case, ...] = (
    Case(
        "ecommerce",
        "What is the total revenue by month in 2025?",
        (
            "Monthly revenue for 2025",
            "revenue per month in 2025",
            "Show me 2025 sales broken down by month",
            "how much turnover did we make each month of 2025?",
        ),
        "SELECT date_trunc('month', order_date)::DATE, sum(total) FILTER (WHERE status <> 'cancelled') "
        "FROM orders WHERE order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01' GROUP BY 1",
    ),
    Case(
        "ecommerce",
        "Which 5 product categories have the highest return rate?",
        (
            "top 5 categories by return rate",
            "What are the 5 categories with the highest return rate?",
            "return rate per product category, highest first, top 5",
        ),
        "SELECT i.category, avg(CASE WHEN o.returned THEN 1 ELSE 0 END) AS r FROM order_items i "
        "JOIN orders o USING (order_id) GROUP BY 1 ORDER BY r DESC LIMIT 5",
        True,
    ),
    Case(
        "ecommerce",
        "How many orders are there in each status?",
        (
            "number of orders by status",
            "count orders per status",
            "orders broken down by order status",
            "how many orders per fulfilment status?",
        ),
        "SELECT status, count(*) FROM orders GROUP BY 1",
    ),
    Case(
        "ecommerce",
        "What is the average order value by quarter?",
        (
            "AOV per quarter",
            "quarterly average order value",
            "average basket by quarter",
        ),
        "SELECT date_trunc('quarter', order_date)::DATE, avg(total) FILTER (WHERE status <> 'cancelled') "
        "FROM orders GROUP BY 1",
    ),
    Case(
        "ecommerce",
        "Which 10 products generated the most item revenue?",
        (
            "top 10 products by item revenue",
            "the 10 products with the highest product revenue",
            "Which ten products have the most line revenue?",
        ),
        "SELECT product_id, sum(price * quantity * (1 - discount)) AS r FROM order_items "
        "GROUP BY 1 ORDER BY r DESC LIMIT 10",
        True,
    ),
    Case(
        "ecommerce",
        "How many products are out of stock in each category?",
        (
            "number of products with zero stock per category",
            "count of out of stock products by category",
            "out of stock products for each category",
        ),
        "SELECT category, count(*) FROM inventory WHERE stock = 0 GROUP BY 1",
    ),
    Case(
        "support",
        "How many tickets were opened per month?",
        (
            "monthly ticket count",
            "number of tickets by month",
            "tickets created each month",
        ),
        "SELECT date_trunc('month', created_at)::DATE, count(*) FROM tickets GROUP BY 1",
    ),
    Case(
        "support",
        "What is the SLA rate by priority?",
        (
            "sla compliance per priority",
            "share of tickets that met the SLA by priority",
            "For each priority, what percentage of tickets were within SLA?",
        ),
        "SELECT priority, avg(CASE WHEN sla_met THEN 1 ELSE 0 END) FROM tickets GROUP BY 1",
    ),
    Case(
        "support",
        "How many urgent tickets were resolved within SLA?",
        (
            "number of urgent tickets that met the sla",
            "count urgent tickets within sla",
            "how many tickets with urgent priority were on time?",
        ),
        "SELECT count(*) FROM tickets WHERE priority = 'urgent' AND sla_met",
    ),
    Case(
        "support",
        "What is the average CSAT score by ticket category?",
        (
            "average satisfaction per category",
            "mean csat score for each ticket category",
            "avg csat broken down by topic",
        ),
        "SELECT category, avg(csat_score) FROM tickets GROUP BY 1",
    ),
    Case(
        "support",
        "How many tickets are still open, by priority?",
        (
            "open tickets per priority",
            "number of unresolved tickets by priority",
            "backlog by priority",
        ),
        "SELECT priority, count(*) FROM tickets WHERE resolved_at IS NULL GROUP BY 1",
    ),
    Case(
        "support",
        "Which ticket category had the lowest SLA rate in 2025?",
        (
            "In 2025, which category had the worst sla rate?",
            "category with the lowest sla compliance in 2025",
            "the category with the worst SLA rate in 2025",
        ),
        "SELECT category, avg(CASE WHEN sla_met THEN 1 ELSE 0 END) AS r FROM tickets "
        "WHERE created_at >= TIMESTAMP '2025-01-01' AND created_at < TIMESTAMP '2026-01-01' "
        "GROUP BY 1 ORDER BY r LIMIT 1",
        True,
    ),
    Case(
        "sensors",
        "What is the average temperature per location?",
        (
            "mean temperature by location",
            "average temp for each site",
            "What's the avg temperature across locations?",
        ),
        "SELECT location, avg(temp) FROM sensors GROUP BY 1",
    ),
    Case(
        "sensors",
        "Which sensors had the most anomalies?",
        (
            "number of anomalies per sensor, most first",
            "sensors ranked by anomaly count",
            "which devices have the most alerts?",
        ),
        "SELECT sensor_id, count(*) FILTER (WHERE anomaly_flag) AS n FROM sensors GROUP BY 1 ORDER BY n DESC",
    ),
    Case(
        "sensors",
        "Show the daily average temperature in the datacenter",
        (
            "average temperature per day in the datacenter",
            "datacenter mean temperature by day",
            "daily avg temp for location datacenter",
        ),
        "SELECT date_trunc('day', timestamp)::DATE, avg(temp) FROM sensors WHERE location = 'datacenter' GROUP BY 1",
    ),
    Case(
        "sensors",
        "What is the anomaly rate per location?",
        (
            "share of anomalies by location",
            "percentage of anomalous readings for each location",
            "anomaly rate broken down by site",
        ),
        "SELECT location, avg(CASE WHEN anomaly_flag THEN 1 ELSE 0 END) FROM sensors GROUP BY 1",
    ),
    Case(
        "sensors",
        "What is the average humidity by hour of day in the office?",
        (
            "office average humidity per hour of the day",
            "mean humidity by time of day in the office",
            "average relative humidity in the office by hour of day",
        ),
        "SELECT hour(timestamp), avg(humidity) FROM sensors WHERE location = 'office' GROUP BY 1",
    ),
    Case(
        "sensors",
        "What was the maximum temperature recorded by each sensor?",
        (
            "max temperature per sensor",
            "highest temp for each sensor",
            "peak temperature by device",
        ),
        "SELECT sensor_id, max(temp) FROM sensors GROUP BY 1",
    ),
)
