"""`dlops`: the command line. Heavy libraries are imported inside commands, so --help is fast."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from components.project import CODE_ROOT, DlopsError, Project, setup_environment

app = typer.Typer(
    help="Versioned data in; validated, trained, tracked, gated, served models out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Versioned data (DVC): ingest and status.", no_args_is_help=True)
app.add_typer(data_app, name="data")

FamilyArg = Annotated[str, typer.Argument(help="model family, e.g. mlp")]
FamiliesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--family", "-f", help="family to include (repeatable); default: configs/pipeline.yaml"
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML overlay with `pipeline:` and per-family sections"),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="override a family setting, e.g. train.epochs=5 or data.source=csv:PATH"
    ),
]


def _project() -> Project:
    project = Project.current()
    setup_environment(project)
    return project


def _known_families(project: Project) -> list[str]:
    return sorted(p.stem for p in project.configs.glob("*.yaml") if p.stem != "pipeline")


def _check_family(project: Project, family: str) -> str:
    known = _known_families(project)
    if family not in known:
        raise DlopsError(f"unknown family {family!r}; known families: {', '.join(known)}")
    return family


def _families(project: Project, families: list[str] | None, config: Path | None) -> list[str]:
    from components.config import load_pipeline

    chosen = families or load_pipeline(project, config).families
    return [_check_family(project, f) for f in chosen]


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    """dlops: MLOps for deep-learning model families (MLP, CNN, RNN, GAN)."""


@data_app.command("ingest")
def data_ingest(family: FamiliesOpt = None, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Validate and version (DVC) each family's data: data/<family> as it is, or its source."""
    from components.config import load_family
    from components.data import ingest, versioning
    from components.validation.gx_runner import require
    from components.validation.validate import validate_folder

    project = _project()
    for name in _families(project, family, config):
        settings = load_family(project, name, config, set_)
        staged = ingest.stage(project, settings)
        require(validate_folder(project, settings, staged))
        version = versioning.commit(project, name, staged)
        typer.echo(f"{name}: data/{name} versioned, data version {version}")


@data_app.command("status")
def data_status() -> None:
    """Print the data version (md5 in data.dvc) and whether data/ matches it."""
    from components.data import versioning

    state = versioning.status(_project())
    typer.echo(f"data version: {state.version or '-'}")
    typer.echo("work tree: " + ("clean" if state.clean else "differs from data.dvc"))
    for change in state.changes:
        typer.echo(f"  {change}")
    if not state.clean:
        raise typer.Exit(1)


@app.command()
def validate(family: FamilyArg, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Run the family's validation gate alone (GX suite + Data Docs); changes nothing."""
    from components.config import load_family
    from components.data import ingest
    from components.validation.gx_runner import require
    from components.validation.validate import validate_folder

    project = _project()
    settings = load_family(project, _check_family(project, family), config, set_)
    staged = ingest.stage(project, settings)
    report = require(validate_folder(project, settings, staged))
    typer.echo(f"{family}: data validation passed ({report.stats.get('rows', '?')} rows)")
    typer.echo(f"Data Docs: {report.docs_index}")


def _train(
    families: list[str] | None, config: Path | None, set_: list[str] | None, only_if_changed: bool
) -> None:
    from components.config import load_family, load_pipeline
    from components.data.ingest import check_source

    project = _project()
    load_pipeline(project, config)  # bad settings fail here, before any server or run starts
    chosen = _families(project, families, config)
    for name in chosen:
        check_source(load_family(project, name, config, set_))  # and a missing file

    from pipelines.summary import print_summary
    from pipelines.training import training_pipeline

    outcomes = training_pipeline(
        families=chosen, config=config, overrides=set_ or [], only_if_changed=only_if_changed
    )
    print_summary(outcomes)
    if any(o["status"] not in ("ok", "skipped") for o in outcomes):
        raise typer.Exit(1)


@app.command()
def run(family: FamiliesOpt = None, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Run the training flow: ingest → validate → train → evaluate → register → gate → package."""
    _train(family, config, set_, only_if_changed=False)


@app.command()
def retrain(
    family: FamiliesOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: Annotated[bool, typer.Option("--force", help="retrain even if nothing changed")] = False,
) -> None:
    """Retrain the families whose data, config or code changed since their last success.

    The others are skipped (a short `skipped=unchanged` MLflow run). For cron or CI; `dlops
    schedule` runs the same on a schedule.
    """
    _train(family, config, set_, only_if_changed=not force)


@app.command()
def schedule(
    family: FamiliesOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    cron: Annotated[
        str | None,
        typer.Option(help="cron expression; default: `schedule` in configs/pipeline.yaml (weekly)"),
    ] = None,
    name: Annotated[str, typer.Option(help="deployment name")] = "scheduled-retrain",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="port of the local Prefect server")
    ] = 4200,
) -> None:
    """Serve `dlops retrain` as a Prefect deployment on a cron schedule, until Ctrl-C.

    Uses the server in PREFECT_API_URL, else starts a local Prefect server (UI on --port).
    Trigger a run now with `prefect deployment run 'dlops-training/<name>'`.
    """
    from components.config import load_family, load_pipeline
    from pipelines import schedule as scheduling

    project = _project()
    chosen = _families(project, family, config)
    for item in chosen:  # bad settings fail here, before any server starts
        load_family(project, item, config, set_)
    expression = scheduling.check_cron(cron or load_pipeline(project, config).schedule)
    with scheduling.prefect_server(project, port) as api_url:
        typer.echo(
            f"serving deployment dlops-training/{name} on {api_url} (cron {expression!r}, "
            f"families {', '.join(chosen)}); Prefect UI: {api_url.removesuffix('/api')}"
        )
        scheduling.serve(chosen, expression, config, set_ or [], name)


@app.command()
def serve(
    family: FamilyArg,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 3000,
) -> None:
    """Serve the family's champion with `bentoml serve` (/predict, /readyz, /livez, /metrics)."""
    from components.config import load_family
    from components.packaging import bento

    project = _project()
    settings = load_family(project, _check_family(project, family))
    tag = bento.import_version(settings, bento.champion(settings))
    typer.echo(f"serving {tag} on http://{host}:{port}")
    command = [
        str(Path(sys.executable).parent / "bentoml"),
        "serve",
        bento.service_path(family),
        "--host",
        host,
        "--port",
        str(port),
    ]
    os.chdir(CODE_ROOT)
    os.execve(command[0], command, {**os.environ, "DLOPS_MODEL_TAG": tag})


@app.command()
def build(family: FamilyArg) -> None:
    """Build a Bento of the family's champion (then `bentoml containerize` or deploy it)."""
    from components.config import load_family
    from components.packaging import bento

    project = _project()
    settings = load_family(project, _check_family(project, family))
    tag = bento.build_bento(settings, bento.import_version(settings, bento.champion(settings)))
    typer.echo(f"built Bento {tag}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Per family: champion and latest version, data version, last run, headline metric."""
    from pipelines.summary import family_status, print_status

    project = _project()
    rows = [family_status(project, f) for f in _known_families(project)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_status(rows)


def _family_settings(family: str):
    from components.config import load_family

    project = _project()
    return project, load_family(project, _check_family(project, family))


@app.command()
def history(
    family: FamilyArg, as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False
) -> None:
    """The family's promotion ledger: every gate decision, manual promotion and rollback."""
    from dataclasses import asdict

    from components.registry import ledger
    from pipelines.summary import print_history

    _, settings = _family_settings(family)
    entries = ledger.entries(settings.model_name)
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
    else:
        print_history(settings.model_name, entries)


@app.command()
def promote(
    family: FamilyArg,
    version: Annotated[str, typer.Option("--version", help="registered version to promote")],
    force: Annotated[
        bool, typer.Option("--force", help="promote even if the gate rejects")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="why (required with --force)")
    ] = None,
) -> None:
    """Make a registered version the champion: through the gate, or past it with --force."""
    from components.registry import ledger
    from components.registry.promotion import promote_by_hand

    project, settings = _family_settings(family)
    entry = promote_by_hand(project, settings, version, force, reason, ledger.actor())
    typer.echo(
        f"{settings.model_name}: champion v{entry.champion_before or '-'} -> "
        f"v{entry.champion_after} ({entry.action}); ledger run {entry.run_id}"
    )
    typer.echo(f"promotion report: {entry.report}")


@app.command()
def rollback(family: FamilyArg) -> None:
    """Move `champion` back to the previous champion in the ledger, and record it."""
    from components.registry import ledger
    from components.registry.promotion import rollback as roll_back

    project, settings = _family_settings(family)
    entry = roll_back(project, settings, ledger.actor())
    typer.echo(
        f"{settings.model_name}: champion v{entry.champion_before} -> "
        f"v{entry.champion_after} (rollback); ledger run {entry.run_id}"
    )
    typer.echo(f"promotion report: {entry.report}")


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 5000,
) -> None:
    """Open the MLflow UI on the project's tracking store."""
    project = _project()
    uri = os.environ["MLFLOW_TRACKING_URI"]
    typer.echo(f"MLflow UI for {uri}: http://{host}:{port}")
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        host,
        "--port",
        str(port),
    ]
    os.chdir(project.root)
    os.execv(command[0], command)


def main() -> None:
    """Console entry point: user errors become one line and a non-zero exit."""
    debug = "--debug" in sys.argv
    try:
        app()
    except DlopsError as exc:
        if debug:
            raise
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # an unexpected failure: still one line unless --debug
        if debug:
            raise
        typer.secho(
            f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            fg="red",
            err=True,
        )
        sys.exit(1)
