"""The promotion report: one self-contained HTML page per ledger entry."""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from components import tags as tag
from components.project import Project
from components.registry.ledger import Entry, report_name
from components.registry.versions import version_info
from components.tracking import runs

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left}th{background:#f3f3f3}.promoted{color:#11772b}.rejected{color:#b00020}
code{background:#f3f3f3;padding:.1em .3em}img{max-width:520px;margin:.3em;border:1px solid #ddd}"""


def _run_facts(model_name: str, version: str) -> dict:
    """Metrics, data version, validation summary and plots (as data URIs) of a version's run."""
    if not version:
        return {}
    info = version_info(model_name, version)
    run = runs.client().get_run(info.run_id)
    facts = {
        "version": version,
        "run_id": info.run_id,
        "data_version": run.data.tags.get(tag.DATA_VERSION, ""),
        "metrics": {
            k: v for k, v in sorted(run.data.metrics.items()) if k.startswith(("test_", "best_"))
        },
        "validation": "not recorded",
        "plots": {},
    }
    import mlflow

    try:
        folder = Path(
            mlflow.artifacts.download_artifacts(run_id=info.run_id, artifact_path="validation")
        )
        results = json.loads((folder / "validation_result.json").read_text())
        checks = [r for suite in results for r in suite.get("results", [])]
        failed = [r for r in checks if not r.get("success")]
        facts["validation"] = f"{len(checks) - len(failed)} of {len(checks)} expectations passed"
    except Exception:  # an older run without the file: the report says so
        pass
    try:
        folder = Path(
            mlflow.artifacts.download_artifacts(run_id=info.run_id, artifact_path="plots")
        )
        for png in sorted(folder.glob("*.png")):
            facts["plots"][png.stem] = base64.b64encode(png.read_bytes()).decode()
    except Exception:
        pass
    return facts


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def undo_command(entry: Entry) -> str:
    """The command that undoes `entry`'s decision, for this very model."""
    model = f"{entry.family} --model {entry.model_name}"
    if entry.action == "rollback":
        return f"dlops promote {model} --version {entry.champion_before} --force --reason TEXT"
    if entry.champion_after == entry.champion_before:  # rejected: promote it after all
        return f"dlops promote {model} --version {entry.version} --force --reason TEXT"
    if not entry.champion_before:
        return "nothing to return to: this is the model's first champion"
    return f"dlops rollback {model}"


def _shadow_section(entry: Entry) -> str:
    """The version's latest shadow report (`dlops shadow report`), when it was shadowed."""
    from components.registry.shadow import latest

    found = latest(entry.model_name, entry.version)
    if found is None:
        return ""
    return (
        f"<h2>Shadowed on live requests</h2><p>v{escape(entry.version)} answered "
        f"{int(found.get('requests', 0))} requests beside champion "
        f"v{escape(found['champion_version'])} (MLflow run <code>{escape(found['run_id'])}</code>)"
        "</p><table><tr><th>agreement</th><th>failed</th><th>champion p50 / p95 (ms)</th>"
        f"<th>challenger p50 / p95 (ms)</th></tr><tr><td>{_number(found.get('agreement'))}</td>"
        f"<td>{int(found.get('failed', 0))}</td><td>{_number(found.get('champion_p50_ms'))} / "
        f"{_number(found.get('champion_p95_ms'))}</td><td>"
        f"{_number(found.get('challenger_p50_ms'))} / {_number(found.get('challenger_p95_ms'))}"
        "</td></tr></table>"
    )


def write_report(project: Project, entry: Entry) -> Path:
    """Write the entry's report to `.dlops/reports/`, log it to the ledger run, return the path."""
    decided = _run_facts(entry.model_name, entry.version)
    before = (
        _run_facts(entry.model_name, entry.champion_before)
        if (entry.champion_before and entry.champion_before != entry.version)
        else {}
    )
    verdict = "promoted" if entry.champion_after == entry.version else "rejected"
    if entry.action == "rollback":
        verdict = "promoted"
    metric_names = sorted(set(decided.get("metrics", {})) | set(before.get("metrics", {})))
    metric_rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{_number(decided.get('metrics', {}).get(name))}</td>"
        f"<td>{_number(before.get('metrics', {}).get(name))}</td></tr>"
        for name in metric_names
    )
    interval = (
        "-"
        if entry.interval_low is None
        else f"[{entry.interval_low:+.4f}, {entry.interval_high:+.4f}]"
    )
    plots = "".join(
        f'<figure><img alt="{escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(name)}</figcaption></figure>"
        for name, data in decided.get("plots", {}).items()
    )
    undo = undo_command(entry)
    shadowed = _shadow_section(entry)
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{escape(entry.model_name)}: {escape(entry.action)} v{escape(entry.version)}</title>
<style>{STYLE}</style></head><body>
<h1>{escape(entry.model_name)} — {escape(entry.action)} of v{escape(entry.version)}</h1>
<p class="{verdict}"><b>Decision:</b> {escape(entry.action)}; champion
v{escape(entry.champion_before or "-")} → v{escape(entry.champion_after or "-")}</p>
<p><b>Reason:</b> {escape(entry.reason)}</p>
<p><b>Actor:</b> {escape(entry.actor)} · <b>time:</b> {escape(entry.time)} · ledger entry
#{entry.seq} (MLflow run <code>{escape(entry.run_id)}</code>)</p>
<h2>Gate</h2><table><tr><th>metric</th><th>challenger</th><th>champion</th>
<th>improvement interval</th><th>McNemar p</th></tr>
<tr><td>{escape(entry.metric)}</td><td>{_number(entry.challenger_score)}</td>
<td>{_number(entry.champion_score)}</td><td>{interval}</td>
<td>{"-" if entry.p_value is None else f"{entry.p_value:.3g}"}</td></tr></table>
<h2>Data</h2><table><tr><th></th><th>v{escape(entry.version)}</th>
<th>v{escape(before.get("version", "-"))}</th></tr>
<tr><td>data version</td><td>{escape(decided.get("data_version", "-"))}</td>
<td>{escape(before.get("data_version", "-"))}</td></tr>
<tr><td>validation</td><td>{escape(decided.get("validation", "-"))}</td>
<td>{escape(before.get("validation", "-"))}</td></tr></table>
<h2>Metrics as logged by each run</h2><table><tr><th>metric</th>
<th>v{escape(entry.version)}</th><th>v{escape(before.get("version", "-"))}</th></tr>
{metric_rows}</table>
{shadowed}
<h2>Plots of v{escape(entry.version)}</h2>{plots or "<p>none logged</p>"}
<h2>To undo</h2><p><code>{escape(undo)}</code></p>
</body></html>"""
    folder = project.work / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / report_name(entry)
    path.write_text(page)
    runs.log_artifact(entry.run_id, path)
    return path
