"""The pure parts of ``scripts/bench_peer.py``: which way a ratio points, when a goal is
checked, the peer's four kinds of search term, and the open-loop sync-lag driver."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from benchlib.lag import sync_lag
from benchlib.peer_report import Row, format_table, rows
from benchlib.workload import pick_terms

MEDUSA = {
    "params": {"N": 100_000},
    "1_create": {"customers_per_s": 2000},
    "3_retrieve_with_addresses_groups": {"p50_ms": 2.0},
    "5_update": {"single": {"p50_ms": 2.0}},
    "4_groups_and_links": {"add_customer_to_group_single": {"p50_ms": 1.0}},
    "2_search_q": {"all_kinds": {"p50_ms": 160.0}},
}
OURS = {
    "create": {"customers_per_s": 3000},
    "writes": {
        "retrieve_with_addresses_groups": {"p50_ms": 0.5},
        "update_single": {"p50_ms": 2.5},
        "add_customer_to_group_single": {"p50_ms": 1.0},
    },
    "http_lists": {"q_all_kinds": {"p50_ms": 3.5, "p99_ms": 12.0}},
    "reindex": {"docs_per_s": 9000},
}


def by_metric(table: list[Row]) -> dict[str, Row]:
    return {row.metric: row for row in table}


def test_ratios_above_one_mean_ours_is_better_both_for_rates_and_latencies() -> None:
    table = by_metric(rows(OURS, MEDUSA, 100_000))
    assert table["create, batches of 1,000 (customers/s)"].ratio() == 1.5
    assert table["retrieve + addresses + groups, p50 ms"].ratio() == 4.0
    assert table["update one customer, p50 ms"].ratio() == 0.8


def test_goals_are_checked_at_their_scale_only() -> None:
    table = by_metric(rows(OURS, MEDUSA, 100_000))
    assert table["create, batches of 1,000 (customers/s)"].verdict(100_000) == "yes"
    assert table["update one customer, p50 ms"].verdict(100_000) == "NO"
    assert table["add one customer to a group, p50 ms"].verdict(100_000) == "yes"  # equal
    assert table["list q, all kinds, p50 ms"].verdict(100_000) == "yes"  # 3.5 ms, 45.7x
    assert table["list q, all kinds, p99 ms"].verdict(100_000) == "NO"  # 12 > 10
    reindex = table["full reindex, `customers reindex` end to end (docs/s)"]
    assert reindex.verdict(100_000) == "n/a"  # its goal is set at 1,000,000
    assert (
        by_metric(rows(OURS, MEDUSA, 1_000_000))["list q, all kinds, p99 ms"].verdict(1_000_000)
        == "yes"
    )  # 12 <= 20 at 1,000,000


def test_the_40x_part_of_the_q_goal_counts() -> None:
    slow_peer = {**MEDUSA, "2_search_q": {"all_kinds": {"p50_ms": 100.0}}}  # 28.6x
    assert (
        by_metric(rows(OURS, slow_peer, 100_000))["list q, all kinds, p50 ms"].verdict(100_000)
        == "NO"
    )


def test_without_the_peer_the_table_still_prints() -> None:
    text = format_table(rows(OURS, None, 100_000), 100_000, None)
    assert "ratio (>1: ours better)" in text.splitlines()[0]
    assert "update one customer, p50 ms" in text
    assert by_metric(rows(OURS, None, 100_000))["update one customer, p50 ms"].ratio() is None


def test_terms_have_the_peer_kinds_and_are_deterministic() -> None:
    people = [
        {"last_name": f"Name{i:03d}", "email": f"ann{i}@example.com",
         "phone": f"+1 (555) 123-{i:04d}", "company_name": f"Acme{i} Holdings, Inc"}
        for i in range(200)
    ]  # fmt: skip
    terms = pick_terms(people, 20, seed=1)
    assert terms == pick_terms(people, 20, seed=1)
    assert set(terms) == {"last_name", "email_fragment", "phone_fragment", "company_word"}
    assert all(
        len(qs) == 20 and len(set(qs)) == 20 for k, qs in terms.items() if k != "email_fragment"
    )
    assert terms["email_fragment"] == ["ann"]  # the local part without its trailing digits
    assert all(len(q) == 4 and q.isdigit() for q in terms["phone_fragment"])
    assert all(len(q) >= 4 and q != "Inc" for q in terms["company_word"])


def test_sync_lag_samples_every_tenth_write_and_counts_the_ones_never_found() -> None:
    written: list[int] = []

    async def write(i: int) -> None:
        written.append(i)

    async def searchable(i: int) -> bool:
        await asyncio.sleep(0.002)
        return i != 20

    result = asyncio.run(sync_lag(write, searchable, rate=200, seconds=0.25))
    assert written == list(range(50))
    assert result["n"] == 4 and result["not_searchable"] == 1  # 0, 10, 30, 40 found; 20 not
    assert 2 <= result["p50_ms"] < 1000


def test_sync_lag_stops_starting_writes_the_server_cannot_take() -> None:
    async def write(i: int) -> None:
        await asyncio.sleep(0.3)  # acknowledged far slower than 200 a second

    async def searchable(i: int) -> bool:
        return True

    result = asyncio.run(sync_lag(write, searchable, rate=200, seconds=5, max_backlog_s=0.1))
    assert result["sustained"] is False
    assert 20 <= result["writes"] <= 30  # stopped at 0.1 s worth of backlog, not 1,000 writes
    result = asyncio.run(sync_lag(write, searchable, rate=20, seconds=0.5, max_backlog_s=1))
    assert result["sustained"] is True and result["writes"] == 10
