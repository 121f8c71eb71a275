"""Server time of the staff API on the embedded local AWS: the board of a large establishment (as
most requests find it: unchanged since the last scoring run; and the first read after a run), and
a prisoner's page, p50 and p95 over many requests through the function's handler (in process, so
the figures are the function's own time against moto, without network or API Gateway)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from aim.adapters.state_table import META_SK
from aim.adapters.state_table import run_partition as control_partition
from aim.config import load_config
from aim_local.board_seed import prison_number, seed_establishment
from aim_local.serve import api_event, staff_local
from aim_local.stack import local_aws

BOARD_TARGET_MS = 300.0
PRISONER_TARGET_MS = 150.0


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1), "requests": len(ordered)}


def bench_staff_api(prisoners: int = 1500, requests: int = 200, reds: int = 15) -> dict[str, Any]:
    """Times ``requests`` board requests and ``requests`` prisoner-page requests (API, as lei-officer)."""
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    config = load_config().model_copy(update={"establishments": ["LEI"]})
    with local_aws(config) as local:
        alerts = seed_establishment(
            local.clients["dynamodb"], local.resources["state_table"], "LEI", config, prisoners, reds=reds, ambers=30
        )
        with staff_local(local) as staff:
            headers = {"Authorization": f"Bearer {staff.token('lei-officer')}"}
            staff.call(api_event("GET", "/api/establishments/LEI/board", headers, b""))  # warm: JWKS, imports
            board: list[float] = []
            for _ in range(requests):
                started = time.perf_counter()
                result = staff.call(api_event("GET", "/api/establishments/LEI/board", headers, b""))
                board.append((time.perf_counter() - started) * 1000)
                assert result["statusCode"] == 200
            # The first board read after a scoring run changed something: the run's board is read again.
            fresh: list[float] = []
            ddb, table = local.clients["dynamodb"], local.resources["state_table"]
            for n in range(requests):
                ddb.put_item(
                    TableName=table,
                    Item={"pk": {"S": control_partition("LEI")}, "sk": {"S": META_SK}, "m": {"S": f'{{"run":{n}}}'}},
                )
                started = time.perf_counter()
                result = staff.call(api_event("GET", "/api/establishments/LEI/board", headers, b""))
                fresh.append((time.perf_counter() - started) * 1000)
                assert result["statusCode"] == 200
            page: list[float] = []
            for n in range(requests):
                pid = alerts[n % len(alerts)].prisoner_id if n % 2 else prison_number("LEI", n % prisoners)
                started = time.perf_counter()
                result = staff.call(api_event("GET", f"/api/prisoners/LEI/{pid}", headers, b""))
                page.append((time.perf_counter() - started) * 1000)
                assert result["statusCode"] == 200
    return {
        "prisoners": prisoners,
        "board": {**_percentiles(board), "target_p95_ms": BOARD_TARGET_MS},
        "board_after_scoring_run": {**_percentiles(fresh), "target_p95_ms": BOARD_TARGET_MS},
        "prisoner_page": {**_percentiles(page), "target_p95_ms": PRISONER_TARGET_MS},
    }


def print_staff_bench(figures: dict[str, Any]) -> None:
    print(f"staff API server time, {figures['prisoners']} prisoners (in process on moto):")
    for name in ("board", "board_after_scoring_run", "prisoner_page"):
        f = figures[name]
        verdict = "met" if f["p95_ms"] < f["target_p95_ms"] else "MISSED"
        print(
            f"  {name:<24} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms over {f['requests']} requests "
            f"(target p95 < {f['target_p95_ms']:.0f} ms: {verdict})"
        )


if __name__ == "__main__":
    print_staff_bench(bench_staff_api())
