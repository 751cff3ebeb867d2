"""The side-by-side table of ``bench_peer.py``: metric, ours, Medusa, ratio, the issue's goal.

Ratios are written so that > 1 means we are better: ours / Medusa for throughputs, Medusa /
ours for latencies. A goal that holds at one scale only (100,000 or 1,000,000 customers) is
checked at that scale; at another it reads ``n/a``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["DIFFERENCES", "Row", "format_table", "rows"]

DIFFERENCES = (
    "Lists: ours over HTTP (keep-alive client, admin API key, JSON) against `customers serve` "
    "and its in-process indexer; Medusa's listAndCountCustomers in its process (no HTTP, auth, "
    "validation or workflow).",
    "Writes and retrieve: both in-process service calls, one at a time. Ours on the embedded "
    "SecantusDB (a separate process, --sync-on-commit) with no indexer running (the index is "
    "built after them by `customers reindex`); Medusa on PostgreSQL 15 (stock settings), no "
    "event bus.",
    "`customers serve` runs with CUSTOMERS_SEARCH_CONCURRENCY=32 (default 4), so that the "
    "sync-lag probes, which overlap, are not refused; the lists run one request at a time.",
    "Sync lag: acknowledgement until a `q` list over HTTP finds the write. A list waits at "
    "most 1 s for the index (read-your-writes), then MongoDB answers it, so a lag of 1 s or "
    "more is a lower bound (counted in the table); a 503 from the probe is retried.",
    "Data: the same shape (batches of 1,000, 1-2 addresses each, same counts of calls and "
    "terms), different generators (ours: scripts/seed_data.py; Medusa: @faker-js, seed 42), so "
    "the search terms and their match counts differ (both are in the JSON).",
    "One run each on the same shared machine, Medusa first, then ours; load averages before "
    "and after every phase are in the JSON and below.",
)


@dataclass(frozen=True)
class Row:
    metric: str
    ours: float | None
    medusa: float | None
    higher_is_better: bool = False
    goal: str = ""
    met: Callable[[float, float | None], bool] | None = None
    goal_scale: int | None = None  # customers the goal is set for (None: any)

    def ratio(self) -> float | None:
        if self.ours is None or self.medusa is None or not self.ours or not self.medusa:
            return None
        return self.ours / self.medusa if self.higher_is_better else self.medusa / self.ours

    def verdict(self, customers: int) -> str:
        if self.met is None or self.ours is None:
            return ""
        if self.goal_scale is not None and self.goal_scale != customers:
            return "n/a"
        return "yes" if self.met(self.ours, self.medusa) else "NO"


def _get(data: Any, *path: str) -> float | None:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data if isinstance(data, int | float) else None


def _not_worse(ours: float, medusa: float | None) -> bool:
    return medusa is not None and ours <= medusa


def rows(ours: dict[str, Any], medusa: dict[str, Any] | None, customers: int) -> list[Row]:
    """The table's rows from the two result objects (missing figures stay empty)."""
    big = customers >= 1_000_000
    q_p50, q_p99 = (8, 20) if big else (4, 10)
    scale = 1_000_000 if big else 100_000
    http = ours.get("http_lists", {})
    table = [
        Row("create, batches of 1,000 (customers/s)",
            _get(ours, "create", "customers_per_s"), _get(medusa, "1_create", "customers_per_s"),
            higher_is_better=True, goal=">= 1.0x",
            met=lambda o, m: m is not None and o >= m),
        Row("  the server's floor: bare insert_many, same indexes",
            _get(ours, "floor", "create_customers_per_s"),
            _get(medusa, "1_create", "customers_per_s"), higher_is_better=True),
        Row("retrieve + addresses + groups, p50 ms",
            _get(ours, "writes", "retrieve_with_addresses_groups", "p50_ms"),
            _get(medusa, "3_retrieve_with_addresses_groups", "p50_ms")),
        Row("update one customer, p50 ms",
            _get(ours, "writes", "update_single", "p50_ms"),
            _get(medusa, "5_update", "single", "p50_ms"), goal="<= Medusa", met=_not_worse),
        Row("  the server's floor: find_one + update_one, p50 ms",
            _get(ours, "floor", "update_single", "p50_ms"),
            _get(medusa, "5_update", "single", "p50_ms")),
        Row("add one customer to a group, p50 ms",
            _get(ours, "writes", "add_customer_to_group_single", "p50_ms"),
            _get(medusa, "4_groups_and_links", "add_customer_to_group_single", "p50_ms"),
            goal="<= Medusa", met=_not_worse),
        Row("  the server's floor: find_one + $push, p50 ms",
            _get(ours, "floor", "add_customer_to_group_single", "p50_ms"),
            _get(medusa, "4_groups_and_links", "add_customer_to_group_single", "p50_ms")),
        Row("add 1,000 to groups in one call, ms",
            _get(ours, "writes", "add_customer_to_group_bulk", "ms"),
            _get(medusa, "4_groups_and_links", "add_customer_to_group_bulk", "ms")),
        Row("list q, all kinds, p50 ms",
            _get(http, "q_all_kinds", "p50_ms"), _get(medusa, "2_search_q", "all_kinds", "p50_ms"),
            goal=f"<= {q_p50} ms" + ("" if big else ", >= 40x"), goal_scale=scale,
            met=lambda o, m: o <= q_p50 and (big or (m is not None and m / o >= 40))),
        Row("list q, all kinds, p99 ms", _get(http, "q_all_kinds", "p99_ms"), None,
            goal=f"<= {q_p99} ms", goal_scale=scale, met=lambda o, m: o <= q_p99),
    ]  # fmt: skip
    for kind in ("last_name", "email_fragment", "phone_fragment", "company_word"):
        table.append(
            Row(f"  q {kind}, p50 ms", _get(http, kind, "p50_ms"),
                _get(medusa, "2_search_q", kind, "p50_ms"))
        )  # fmt: skip
    for name in ("plain", "group"):
        for p, limit in (("p50", 8), ("p99", 20)):
            table.append(
                Row(f"list {name} page, {p} ms", _get(http, name, f"{p}_ms"), None,
                    goal=f"<= {limit} ms", goal_scale=1_000_000,
                    met=lambda o, m, limit=limit: o <= limit)  # type: ignore[misc]
            )  # fmt: skip
    table += [
        Row("full reindex, `customers reindex` end to end (docs/s)",
            _get(ours, "reindex", "docs_per_s"), None, goal=">= 12,000", goal_scale=1_000_000,
            met=lambda o, m: o >= 12_000),
        Row("  its copy phase, as it reports (docs/s)",
            _get(ours, "reindex", "copy_docs_per_s_reported"), None),
        Row("sync lag: writes/s taken (of 200)", _get(ours, "sync_lag", "writes_per_s"), None),
        Row("sync lag at 200 writes/s, p50 ms", _get(ours, "sync_lag", "p50_ms"), None),
        Row("sync lag at 200 writes/s, p99 ms", _get(ours, "sync_lag", "p99_ms"), None,
            goal="<= 500 ms", goal_scale=1_000_000, met=lambda o, m: o <= 500),
        Row("  lag samples of 1 s or more (MongoDB answered)",
            _get(ours, "sync_lag", "at_least_1000_ms"), None),
    ]  # fmt: skip
    return table


def _cell(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}f}"


def format_table(table: list[Row], customers: int, medusa_customers: int | None) -> str:
    """A plain-text table; its header says which way the ratio points."""
    peer = f"Medusa (N={medusa_customers:,})" if medusa_customers else "Medusa"
    header = ("metric", f"ours (N={customers:,})", peer, "ratio (>1: ours better)", "goal", "met")
    lines = [header]
    for row in table:
        ratio = row.ratio()
        lines.append((
            row.metric, _cell(row.ours), _cell(row.medusa),
            "-" if ratio is None else f"{ratio:.2f}x", row.goal or "-",
            row.verdict(customers) or "-",
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        rest = zip(line[1:], widths[1:], strict=True)
        cells = [line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in rest]
        out.append("  ".join(cells))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
