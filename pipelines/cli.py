"""`dlops`: the command line. Heavy libraries are imported inside commands, so --help is fast."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from components.project import CODE_ROOT, DlopsError, Project, setup_environment
from components.settings import default_model_name

app = typer.Typer(
    help="Versioned data in; validated, trained, tracked, gated, served models out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Versioned data (DVC): ingest and status.", no_args_is_help=True)
app.add_typer(data_app, name="data")
stack_app = typer.Typer(
    help="A local team stack: PostgreSQL, MLflow and Prefect servers, workers, an S3 stand-in.",
    no_args_is_help=True,
)
app.add_typer(stack_app, name="stack")
shadow_app = typer.Typer(
    help="The challenger answering live requests beside the champion.", no_args_is_help=True
)
app.add_typer(shadow_app, name="shadow")
StackDirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="the stack's state and logs; default ~/.cache/dlops/stack"),
]

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
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="registered model (one per data set); default: the family's last trained, "
        "dlops-<family> for the built-in data",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="override a family setting, e.g. train.epochs=5 or data.source=csv:PATH"
    ),
]


def _project(prefect: bool = False, data: bool = False) -> Project:
    """The project, its environment set up, and the servers it uses checked to answer.

    The tracking server always (when `MLFLOW_TRACKING_URI` names one); the Prefect server and
    the DVC remote for the commands that use them. One line and exit 2 when one is unusable.
    """
    from pipelines.leftovers import sweep
    from pipelines.preflight import check_servers

    project = Project.current()
    setup_environment(project)
    sweep(project)  # servers a killed command left running
    check_servers(project, prefect=prefect, data=data)
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


def _model(project: Project, family: str, model: str | None) -> str:
    """The registered model a command acts on: `--model`, else the family's last used one."""
    from components.registry.versions import default_model

    _check_family(project, family)
    return model or default_model(project, family)


def _version_settings(project: Project, family: str, name: str, version: str | None = None):
    """(version, settings) of `name`'s `version` (default: its champion), from its run's log."""
    from components.config import load_family
    from components.packaging import bento
    from components.registry.versions import version_settings

    version = version or bento.champion(name, family)
    builtin = name == default_model_name(family)  # versions from before settings were logged
    defaults = (lambda: load_family(project, family)) if builtin else None
    settings = version_settings(name, version, defaults)
    if settings.family != family or settings.model_name != name:
        raise DlopsError(f"{name} is a model of family {settings.family!r}, not {family!r}")
    return version, settings


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    """dlops: MLOps for deep-learning model families (MLP, CNN, RNN, GAN)."""


@data_app.command("ingest")
def data_ingest(
    family: FamiliesOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    accept_data_change: AcceptOpt = None,
) -> None:
    """Validate (suite and data contract) and version (DVC) each model's data in data/<name>."""
    from components.config import load_family
    from components.data import ingest, versioning
    from components.registry.ledger import actor
    from components.validation import contract

    project = _project(data=True)
    for name in _families(project, family, config):
        settings = load_family(project, name, config, set_)
        staged = ingest.stage(project, settings)
        report = _check_data(project, settings, accept_data_change, staged)
        version = versioning.commit(project, settings.data_key, staged)
        ingest.unstage(staged)
        contract.keep(project, settings, report.profile, version, accept_data_change, actor())
        typer.echo(f"{settings.model_name}: data/{settings.data_key} versioned, {version}")


@data_app.command("status")
def data_status() -> None:
    """Each model's data version (md5 in data/<name>.dvc) and whether its folder matches it."""
    from components.data import versioning

    states = versioning.status(_project())
    if not states:
        typer.echo("no data versioned yet: run `dlops data ingest` or `dlops run`")
    for state in states:
        where = "clean" if state.clean else "differs from its .dvc file"
        typer.echo(f"data/{state.key}: {state.version or '-'} ({where})")
        for change in state.changes:
            typer.echo(f"  {change}")
    if not states or not all(s.clean for s in states):
        raise typer.Exit(1)


@app.command()
def validate(family: FamilyArg, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Run the family's validation gate alone (GX suite + Data Docs); changes nothing."""
    from components.config import load_family

    project = _project()
    settings = load_family(project, _check_family(project, family), config, set_)
    report = _check_data(project, settings, None)
    rows = report.stats.get("rows", report.stats.get("images", "?"))
    typer.echo(f"{settings.model_name}: data validation passed ({rows} rows)")
    typer.echo(f"Data Docs: {report.docs_index}")


AcceptOpt = Annotated[
    str | None,
    typer.Option(
        "--accept-data-change",
        help="REASON: accept data that breaks its model's data contract (a missing or new "
        "column, a new label, values out of range); recorded in the ledger with the diff",
    ),
]


def _check_data(project: Project, settings, accept_change: str | None, staged=None):
    """Stage and validate a model's data (the kind's suite and its contract); change nothing.

    `dlops run` checks the user's own file or folder so before any server starts: a refused
    file is refused in seconds, one summary, exit 2; nothing is versioned.
    """
    from components.data import ingest
    from components.validation import contract
    from components.validation.gx_runner import require

    if staged is not None:
        return require(contract.check(project, settings, staged, accept_change))
    staged = ingest.stage(project, settings)
    try:
        return require(contract.check(project, settings, staged, accept_change))
    finally:
        ingest.unstage(staged)


def _train(
    families: list[str] | None,
    config: Path | None,
    set_: list[str] | None,
    only_if_changed: bool,
    accept_change: str | None = None,
) -> None:
    from components.config import load_family, load_pipeline
    from components.data.ingest import check_source
    from pipelines.leftovers import sweep

    project = Project.current()
    setup_environment(project)
    sweep(project)  # servers a killed command left running
    if accept_change is not None and not accept_change.strip():  # before any data is read
        raise DlopsError("--accept-data-change needs a reason: it is recorded in the ledger")
    load_pipeline(project, config)  # bad settings fail here, before any server or run starts
    chosen = _families(project, families, config)
    for name in chosen:
        settings = load_family(project, name, config, set_)
        check_source(settings)  # and a missing file
        if settings.data.source_kind != "builtin":
            _check_data(project, settings, accept_change)
    from pipelines.preflight import check_servers

    check_servers(project, prefect=True, data=True)  # the servers the run will use answer

    from pipelines.leftovers import prefect_api
    from pipelines.summary import print_summary
    from pipelines.training import training_pipeline

    with prefect_api(project):
        outcomes = training_pipeline(
            families=chosen,
            config=config,
            overrides=set_ or [],
            only_if_changed=only_if_changed,
            accept_data_change=accept_change,
        )
    print_summary(outcomes)
    if any(o["status"] not in ("ok", "skipped") for o in outcomes):
        raise typer.Exit(1)


@app.command()
def run(
    family: FamiliesOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    accept_data_change: AcceptOpt = None,
) -> None:
    """Run the training flow: ingest → validate → train → evaluate → register → gate → package.

    A data source the family has not seen becomes its own registered model
    (dlops-<family>-<file or folder name>, or registry.model_name); new data at a source
    already seen is that model's next data version, checked against its data contract.
    """
    _train(family, config, set_, only_if_changed=False, accept_change=accept_data_change)


@app.command()
def retrain(
    family: FamiliesOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: Annotated[bool, typer.Option("--force", help="retrain even if nothing changed")] = False,
    accept_data_change: AcceptOpt = None,
) -> None:
    """Retrain the families whose data, config or code changed since their last success.

    The others are skipped (a short `skipped=unchanged` MLflow run). For cron or CI; `dlops
    schedule` runs the same on a schedule.
    """
    _train(family, config, set_, only_if_changed=not force, accept_change=accept_data_change)


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

    project = _project(prefect=True, data=True)
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
    model: ModelOpt = None,
    pin: Annotated[
        int | None,
        typer.Option(
            "--pin",
            min=1,
            metavar="VERSION",
            help="serve this version and only it (default: follow the champion alias)",
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option(min=0.1, help="seconds between reads of the champion alias")
    ] = 10.0,
    shadow: Annotated[
        bool, typer.Option(help="also answer a sample of requests with the challenger, logged")
    ] = False,
    shadow_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="the share of requests shadowed")
    ] = 0.1,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 3000,
) -> None:
    """Serve a model with `bentoml serve`, following its champion (/readyz, /metrics, its API).

    A new champion (a promotion, a rollback) is loaded beside the served one, checked on its
    logged example and switched to without dropping a request; `--pin` serves one version only.
    """
    from components.config import load_pipeline
    from components.packaging import bento

    project = _project()
    name = _model(project, family, model)
    stored = bento.stored_version(name, str(pin) if pin else None)  # fast: no MLflow import
    if stored is None:  # the version is not in this machine's store yet: copy it in
        version, settings = _version_settings(project, family, name, str(pin) if pin else None)
        tag, max_batch = bento.import_version(settings, version), settings.serving.max_batch
    else:
        version, tag, max_batch = stored
    follows = "" if pin else f", following {name}@champion every {poll:g} s"
    follows += f", shadowing {shadow_rate:.0%} with @challenger" if shadow else ""
    typer.echo(f"serving {tag} on http://{host}:{port}{follows}")
    command = [
        str(Path(sys.executable).parent / "bentoml"),
        "serve",
        bento.service_path(family),
        "--host",
        host,
        "--port",
        str(port),
    ]
    pipeline = load_pipeline(project, None)  # configs/pipeline.yaml, read once
    env = {
        **os.environ,
        **_input_log_env(project, pipeline.drift),
        "DLOPS_MODEL_TAG": tag,
        "DLOPS_MODEL_NAME": name,
        "DLOPS_FOLLOW": "" if pin else "champion",
        "DLOPS_POLL_SECONDS": str(poll),
        "DLOPS_MAX_BATCH": str(max_batch),
        "DLOPS_NOTIFY": pipeline.notify.model_dump_json(),
        "DLOPS_SHADOW": "challenger" if shadow else "",
        "DLOPS_SHADOW_RATE": str(shadow_rate),
        "DLOPS_SHADOW_LOG": str(project.work / "shadow"),
    }
    os.chdir(CODE_ROOT)
    os.execve(command[0], command, env)


def _input_log_env(project: Project, drift) -> dict[str, str]:
    """The served-input log's settings for the service (`drift:` in configs/pipeline.yaml)."""
    from components.runtime import input_log

    if not drift.log_inputs:
        return {input_log.ROOT_ENV: ""}
    return {
        input_log.ROOT_ENV: str(project.served),
        input_log.RATE_ENV: str(drift.sample_rate),
        input_log.MAX_ROWS_ENV: str(drift.max_rows),
    }


@shadow_app.command("report")
def shadow_report(family: FamilyArg, model: ModelOpt = None) -> None:
    """Summarise `dlops serve --shadow`'s log into an MLflow run: agreement, latency, failures."""
    from components.registry import shadow

    project = _project()
    summary = shadow.report(project, _model(project, family, model))
    typer.echo(summary.line())
    typer.echo(f"MLflow run: {summary.run_id} (experiment {shadow.EXPERIMENT})")


@app.command()
def build(family: FamilyArg, model: ModelOpt = None) -> None:
    """Build a Bento of a model's champion (then `bentoml containerize` or deploy it)."""
    from components.packaging import bento

    project = _project()
    version, settings = _version_settings(project, family, _model(project, family, model))
    tag = bento.build_bento(settings, bento.import_version(settings, version))
    typer.echo(f"built Bento {tag}")


@app.command()
def status(
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Per model: champion and latest version, its data version, last run, headline metric."""
    from pipelines.summary import print_status, status_rows

    project = _project()
    rows = status_rows(project, _known_families(project), model)
    if model is not None and not rows:
        raise DlopsError(f"no registered model {model!r}; `dlops status` lists them")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_status(rows)


@app.command()
def history(
    family: FamilyArg,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A model's promotion ledger: gate decisions, manual promotions, rollbacks, data changes."""
    from dataclasses import asdict

    from components.registry import ledger
    from pipelines.summary import print_history

    project = _project()
    name = _model(project, family, model)
    entries = ledger.entries(name)
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
    else:
        print_history(name, entries)


@app.command()
def promote(
    family: FamilyArg,
    version: Annotated[str, typer.Option("--version", help="registered version to promote")],
    model: ModelOpt = None,
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

    project = _project()
    if force and not (reason and reason.strip()):
        raise DlopsError("--force needs --reason TEXT: the reason is recorded in the ledger")
    name = _model(project, family, model)
    _, settings = _version_settings(project, family, name, version)
    entry = promote_by_hand(project, settings, version, force, reason, ledger.actor())
    typer.echo(
        f"{settings.model_name}: champion v{entry.champion_before or '-'} -> "
        f"v{entry.champion_after} ({entry.action}); ledger run {entry.run_id}"
    )
    typer.echo(f"promotion report: {entry.report}")


@app.command()
def rollback(family: FamilyArg, model: ModelOpt = None) -> None:
    """Move `champion` back to the previous champion in the ledger, and record it."""
    from components.registry import ledger
    from components.registry.promotion import rollback as roll_back

    project = _project()
    name = _model(project, family, model)
    target = ledger.rollback_target(name)
    _, settings = _version_settings(project, family, name, target)
    entry = roll_back(project, settings, ledger.actor(), expected_target=target)
    typer.echo(
        f"{settings.model_name}: champion v{entry.champion_before} -> "
        f"v{entry.champion_after} (rollback); ledger run {entry.run_id}"
    )
    typer.echo(f"promotion report: {entry.report}")


@app.command()
def repair(
    check: Annotated[
        bool, typer.Option("--check", help="only report what is broken (exit 1 if anything)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check and restore what a killed run may leave: ledger, aliases, runs, pushed data.

    Settles half-applied decisions, ends runs whose process is gone (KILLED, and their Prefect
    flow runs Crashed), deletes versions the gate never judged, pushes data versions the DVC
    remote lacks from this checkout's cache. With --check, changes nothing.
    """
    from components.config import load_pipeline
    from components.registry import repair as repairs
    from components.tags import DRIFT_EXPERIMENT, LEDGER_EXPERIMENT
    from components.tracking.store import reader

    project = _project()
    names = sorted({n for f in _known_families(project) for n in reader().models(f)})
    experiments = [load_pipeline(project, None).experiment, LEDGER_EXPERIMENT, DRIFT_EXPERIMENT]
    if check:
        found = repairs.check(project, names, experiments)
    else:
        from pipelines.steps import crash_flow_runs

        found, killed = repairs.repair(project, names, experiments)
        found += [f"flow run {f} marked Crashed" for f in crash_flow_runs(killed)]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
    else:
        typer.echo("\n".join(found) or ("nothing broken" if check else "nothing to repair"))
    if check and found:
        raise typer.Exit(1)


@app.command()
def lineage(
    target: Annotated[
        str,
        typer.Argument(
            help="MODEL@VERSION, or a served response (a JSON file, or its text): "
            "its model_name and model_version"
        ),
    ],
    restore: Annotated[
        Path | None,
        typer.Option("--restore", help="write the version's training data into this folder"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Walk a model version (or a served answer) back: run → data version → git commit → config."""
    from components.tracking.lineage import describe, parse_target

    name, version = parse_target(target)
    project = _project(data=restore is not None)
    chain = describe(project.root, name, version)
    if restore is not None:
        from components.data.versioning import restore as restore_data

        count = restore_data(project, chain["data_version"], restore.resolve())
        chain["restored"] = f"{count} files into {restore.resolve()}"
    if as_json:
        typer.echo(json.dumps(chain, indent=2))
        return
    for key, value in chain.items():
        if value:
            typer.echo(f"{key:>12}  {value}")


@app.command()
def drift(
    family: FamiliesOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    window: Annotated[
        int | None,
        typer.Option(min=10, help="the latest served rows compared; default: drift.window"),
    ] = None,
    no_retrain: Annotated[
        bool, typer.Option("--no-retrain", help="report drift, trigger no retrain")
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="write the served window's labelled rows into this new folder, in the kind's "
            "own format, and validate them (a data version candidate); needs --labels",
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="CSV of _id (a served row's id, as logged) and label"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Compare each champion's served inputs with its training data; drift retrains it.

    Reads the inputs `dlops serve` logged (.dlops/served/); each check is a run of the MLflow
    experiment `drift`. Drift beyond drift.alpha on at least drift.min_window rows, outside the
    cool-down, runs the training flow for that model (through the gate, linked in its ledger).
    """
    from pydantic import ValidationError

    from components.config import load_pipeline
    from components.settings import DriftSettings, describe_errors

    project = _project(prefect=True, data=not no_retrain)
    pipeline = load_pipeline(project, config)
    update = {"window": window} if window else {}
    if no_retrain:
        update["retrain"] = False
    try:
        settings = DriftSettings.model_validate({**pipeline.drift.model_dump(), **update})
    except ValidationError as exc:
        raise DlopsError(describe_errors(exc, "drift")) from None
    chosen = _families(project, family, config)
    if (model or export) and len(chosen) != 1:
        raise DlopsError("--model and --export act on one model: name exactly one --family")
    if (export is None) != (labels is None):
        raise DlopsError("--export and --labels go together: the exported rows need labels")
    models = _champions(project, chosen, model, explicit=bool(family))
    if export is not None:
        _export(project, chosen[0], models[chosen[0]], export, labels, settings.window)
        return

    from pipelines.drift import drift_pipeline
    from pipelines.leftovers import prefect_api
    from pipelines.summary import print_drift

    with prefect_api(project):
        rows = drift_pipeline(models, config, set_ or [], settings)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_drift(rows)
    if any(row.get("error") for row in rows):
        raise typer.Exit(1)


def _champions(
    project: Project, families: list[str], model: str | None, explicit: bool
) -> dict[str, str]:
    """Family → the registered model to check.

    A model without a champion is refused when its family was named, else left out.
    """
    from components.registry.versions import CHAMPION
    from components.tracking.store import reader

    store, models = reader(), {}  # read without importing MLflow: a refusal stays quick
    for family in families:
        name = _model(project, family, model)
        if store.alias_version(name, CHAMPION) is not None:
            models[family] = name
        elif explicit:
            raise DlopsError(f"{name} has no champion: nothing is served to check")
    if not models:
        raise DlopsError("no model has a champion yet: `dlops run` first")
    return models


def _export(
    project: Project, family: str, name: str, folder: Path, labels: Path, window: int
) -> None:
    """`dlops drift --export`: the labelled served rows, written and validated."""
    from components.drift.export import export
    from components.validation.gx_runner import ValidationFailed

    _, settings = _version_settings(project, family, name)
    exported = export(project, settings, folder.resolve(), labels.resolve(), window)
    typer.echo(
        f"{name} v{exported.version}: {exported.rows} labelled served rows written "
        f"({exported.unlabelled} without a label left out) as {exported.source}"
    )
    candidate = settings.model_copy(
        update={
            "data": settings.data.model_copy(update={"source": exported.source}),
            "registry": settings.registry.model_copy(update={"model_name": name}),
        }
    )
    try:
        _check_data(project, candidate, None)
    except ValidationFailed as exc:
        raise DlopsError(
            f"the exported data fails validation (kept in {folder.resolve()}): {exc}\nIf the "
            f"change is real, train on it with `dlops run --family {family} --set "
            f"data.source={exported.source} --set registry.model_name={name} "
            "--accept-data-change REASON`"
        ) from None
    typer.echo(
        "validated (the kind's suite and the model's data contract); train on it with:\n"
        f"  dlops run --family {family} --set data.source={exported.source} "
        f"--set registry.model_name={name}"
    )


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 5000,
    open_browser: Annotated[
        bool, typer.Option("--open", help="open the UI in a web browser")
    ] = False,
) -> None:
    """The MLflow UI: the tracking server's own, or one started on the project's local store."""
    from components.project import tracking_server

    project = _project()
    if (server := tracking_server()) is not None:  # the server serves its UI: nothing to start
        typer.echo(f"MLflow UI of the tracking server: {server}")
        prefect = os.environ.get("PREFECT_API_URL")
        if prefect:
            typer.echo(f"Prefect UI: {prefect.rstrip('/').removesuffix('/api')}")
        if open_browser:
            import webbrowser

            webbrowser.open(server)
        return
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
    if open_browser:  # once the server had a moment to start
        import subprocess

        opener = f"import time, webbrowser; time.sleep(4); webbrowser.open('http://{host}:{port}')"
        subprocess.Popen([sys.executable, "-c", opener], start_new_session=True)
    os.execv(command[0], command)


def _stack_dir(folder: Path | None) -> Path:
    from pipelines import stack

    return (folder or stack.default_dir()).resolve()


@stack_app.command("up")
def stack_up(
    folder: StackDirOpt = None,
    workers: Annotated[int, typer.Option(min=0, max=32, help="Prefect process workers")] = 2,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="a PostgreSQL server to use (postgresql://USER:PASSWORD@HOST:PORT/DB) instead "
            "of a throwaway cluster",
        ),
    ] = None,
    mlflow_port: Annotated[int, typer.Option(min=1, max=65535)] = 5000,
    prefect_port: Annotated[int, typer.Option(min=1, max=65535)] = 4200,
    s3_port: Annotated[int, typer.Option(min=1, max=65535)] = 9000,
    postgres_port: Annotated[int, typer.Option(min=1, max=65535)] = 55432,
) -> None:
    """Start the stack on 127.0.0.1; print the environment to export (`dlops stack env`)."""
    from pipelines import stack

    project = Project.current()
    ports = {"mlflow": mlflow_port, "prefect": prefect_port, "s3": s3_port}
    ports["postgres"] = postgres_port
    folder = _stack_dir(folder)
    stack.check_up(folder, database_url, ports)
    typer.echo(f"starting the stack in {folder} (logs in {folder / 'logs'}) ...")
    started = stack.up(project, folder, workers, database_url, ports)
    for row in stack.status(started):
        typer.echo(f"  {row['service']:<10} {row['url']}")
    typer.echo(
        "The S3 endpoint is moto's server, an in-memory stand-in for trying: its objects are "
        "gone when the stack stops.\nThis checkout's DVC remote is the stand-in's bucket "
        f"(.dvc/config.local); the workers train in {project.root}.\nExport:"
    )
    typer.echo(started.exports(), nl=False)


@stack_app.command("env")
def stack_env(folder: StackDirOpt = None) -> None:
    """Print the stack's environment: `eval "$(dlops stack env)"`."""
    from pipelines import stack

    found = stack.Stack.load(_stack_dir(folder))
    if found is None:
        raise DlopsError("no stack is up: `dlops stack up` first")
    typer.echo(found.exports(), nl=False)


@stack_app.command("join")
def stack_join(folder: StackDirOpt = None) -> None:
    """Point this checkout's DVC remote at the stack's bucket; print the environment."""
    from pipelines import stack

    folder = _stack_dir(folder)
    found = stack.Stack.load(folder)
    if found is None:
        raise DlopsError("no stack is up: `dlops stack up` first")
    project = Project.current()
    stack.join(found, project)
    found.save(folder)
    typer.echo(f"{project.root}: DVC remote {stack.REMOTE!r} (.dvc/config.local)", err=True)
    typer.echo(found.exports(), nl=False)


@stack_app.command("status")
def stack_status(
    folder: StackDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Each service of the stack: its process, and where it answers. Exit 1 if one is down."""
    from pipelines import stack

    found = stack.Stack.load(_stack_dir(folder))
    rows = stack.status(found) if found else []
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        typer.echo("no stack is up")
    for row in rows if not as_json else []:
        state = "up" if row["alive"] == "true" else "DOWN"
        typer.echo(f"{row['service']:<10} {state:<5} {row['pid']:>7}  {row['url']}")
    if not rows or any(row["alive"] != "true" for row in rows):
        raise typer.Exit(1)


@stack_app.command("down")
def stack_down(folder: StackDirOpt = None) -> None:
    """Stop what `stack up` started (by PID) and remove its throwaway database."""
    from pipelines import stack

    folder = _stack_dir(folder)
    found = stack.Stack.load(folder)
    if found is None:
        typer.echo("no stack is up")
        return
    stopped = stack.down(found, folder)
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


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
