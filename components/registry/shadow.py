"""Shadow reports: how the challenger answered the live requests the champion served.

`dlops serve --shadow` replays a sample of requests to the model's `challenger` and logs both
answers (`serving/common.py`, `Shadowing`) to `.dlops/shadow/<model>/shadow.jsonl`. A report
summarises the latest champion/challenger pair of that log into an MLflow run of the
`dlops-shadow` experiment: requests, how often the two agree item by item, each one's latency;
the promotion report of the challenger shows it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from components import tags as tag
from components.project import DlopsError, Project

EXPERIMENT = "dlops-shadow"


@dataclass(frozen=True)
class ShadowSummary:
    """The shadow log of one champion/challenger pair, in numbers."""

    model_name: str
    champion: str
    challenger: str
    requests: int
    failed: int  # the challenger answered with an error
    items: int
    agreement: float  # items both answered alike / items compared (NaN: nothing comparable)
    champion_p50_ms: float
    champion_p95_ms: float
    challenger_p50_ms: float
    challenger_p95_ms: float
    run_id: str = ""

    def line(self) -> str:
        agree = "-" if math.isnan(self.agreement) else f"{self.agreement:.1%}"
        return (
            f"{self.model_name}: challenger v{self.challenger} shadowed champion "
            f"v{self.champion} on {self.requests} requests ({self.items} items): "
            f"agreement {agree}, {self.failed} failed; p50/p95 "
            f"{self.champion_p50_ms:.1f}/{self.champion_p95_ms:.1f} ms (champion) vs "
            f"{self.challenger_p50_ms:.1f}/{self.challenger_p95_ms:.1f} ms (challenger)"
        )


def log_path(project: Project, model_name: str) -> Path:
    return project.work / "shadow" / model_name / "shadow.jsonl"


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def summarise(records: list[dict], model_name: str) -> ShadowSummary:
    """The latest champion/challenger pair's records, summarised."""
    if not records:
        raise DlopsError(
            f"{model_name} has no shadowed requests: serve it with `dlops serve FAMILY --shadow` "
            "while a challenger other than the champion exists"
        )
    last = records[-1]
    key = (last["champion"], last["challenger"])
    pair = [r for r in records if (r["champion"], r["challenger"]) == key]
    answered = [r for r in pair if r.get("status") == 200]
    compared = [r for r in answered if r.get("agree") is not None and r.get("items")]
    items = sum(r["items"] for r in compared)
    return ShadowSummary(
        model_name=model_name,
        champion=str(last["champion"]),
        challenger=str(last["challenger"]),
        requests=len(pair),
        failed=len(pair) - len(answered),
        items=items,
        agreement=sum(r["agree"] for r in compared) / items if items else math.nan,
        champion_p50_ms=_quantile([r["champion_ms"] for r in pair], 0.5),
        champion_p95_ms=_quantile([r["champion_ms"] for r in pair], 0.95),
        challenger_p50_ms=_quantile([r["challenger_ms"] for r in answered], 0.5),
        challenger_p95_ms=_quantile([r["challenger_ms"] for r in answered], 0.95),
    )


def report(project: Project, model_name: str) -> ShadowSummary:
    """Summarise the model's shadow log into an MLflow run; returns the summary with its run."""
    from components.tracking import runs

    path = log_path(project, model_name)
    records = []
    lines = path.read_text().splitlines() if path.is_file() else []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except ValueError:  # the last line may be cut short by a killed service
            if number != len(lines):
                raise DlopsError(f"{path}:{number}: not a shadow record") from None
    summary = summarise(records, model_name)
    client = runs.client()
    run = client.create_run(
        runs.ensure_experiment(project, EXPERIMENT),
        run_name=f"{model_name} v{summary.challenger} shadowing v{summary.champion}",
        tags={tag.MODEL: model_name, tag.RUN_KIND: "shadow"},
    )
    run_id = run.info.run_id
    runs.log_params(
        run_id,
        {"model_name": model_name, "champion_version": summary.champion,
         "challenger_version": summary.challenger},
    )  # fmt: skip
    numbers = {k: float(v) for k, v in asdict(summary).items() if isinstance(v, int | float)}
    runs.log_metrics(run_id, {k: v for k, v in numbers.items() if not math.isnan(v)})
    runs.log_artifact(run_id, path)
    client.set_terminated(run_id, "FINISHED")
    return ShadowSummary(**{**asdict(summary), "run_id": run_id})


def latest(model_name: str, challenger: str) -> dict | None:
    """The latest shadow report's metrics for the model's `challenger` version, if any."""
    from components.tracking import runs

    client = runs.client()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    found = client.search_runs(
        [experiment.experiment_id],
        filter_string=(
            f"params.model_name = '{model_name}' and params.challenger_version = '{challenger}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not found:
        return None
    return {**found[0].data.metrics, "run_id": found[0].info.run_id,
            "champion_version": found[0].data.params.get("champion_version", "")}  # fmt: skip
