"""The state a user relies on, checked and restored: `dlops repair [--check]`.

The invariants, whatever was killed where:
- each model's ledger is an unbroken chain whose last entry's `champion_after` is the alias
  (`ledger.broken_links`), with no entry left pending;
- `champion` and `challenger` name versions whose training run finished the whole chain;
- every registered version's data version is on the DVC remote, all its files;
- no run is left RUNNING by a process that is gone.
`repair` converges to them the way a re-run would: it settles pending ledger entries (their
decision is applied, `promotion.settle_pending`), ends dead runs as KILLED and deletes the
versions the gate never judged, and pushes what this checkout's DVC cache holds of missing
data versions.
"""

from __future__ import annotations

from components import tags as tag
from components.data.versioning import current_version, missing_on_remote
from components.project import Project
from components.registry import ledger
from components.registry.order import decision_turn
from components.registry.promotion import settle_pending
from components.registry.versions import CHALLENGER, CHAMPION, alias_version, discard_ungated
from components.settings import model_data_key
from components.tracking import runs


def _data_versions(project: Project, names: list[str]) -> list[str]:
    """The data versions of these models: their registered versions', and this checkout's."""
    found = []
    for name in names:
        pointed = current_version(project, model_data_key(name))
        if pointed:
            found.append(pointed)
        for version in runs.client().search_model_versions(f"name='{name}'"):
            if version.tags.get(tag.DATA_VERSION, "").endswith(".dir"):
                found.append(version.tags[tag.DATA_VERSION])
    return found


def check(project: Project, names: list[str], experiments: list[str]) -> list[str]:
    """Every broken invariant of these registered models and experiments, in words."""
    problems = []
    client = runs.client()
    for name in names:
        champion = alias_version(name, CHAMPION)
        problems += [f"{name}: {p}" for p in ledger.broken_links(ledger.entries(name), champion)]
        for alias in (CHAMPION, CHALLENGER):
            version = alias_version(name, alias)
            if version is None:
                continue
            run = client.get_run(client.get_model_version(name, version).run_id)
            if run.info.status != "FINISHED" or run.data.tags.get(tag.OUTCOME) != "ok":
                problems.append(
                    f"{name}: {alias} v{version}, but its run {run.info.run_id} is "
                    f"{run.info.status} without the chain's success"
                )
    problems += [
        f"data version {v} is not all on the DVC remote"
        for v in missing_on_remote(project, _data_versions(project, names))
    ]
    for experiment in experiments:
        found = client.get_experiment_by_name(experiment)
        if found is not None:
            problems += [
                f"run {run_id} is RUNNING, but its process is gone"
                for run_id in runs.dead_runs(found.experiment_id)
            ]
    return problems


def settle_all() -> list[str]:
    """Settle every model's pending ledger entries.

    Before dead runs are reaped: a decision made by a run whose process died afterwards stands.
    """
    done = []
    for name in ledger.pending_models():
        with decision_turn(name):
            for entry in settle_pending(name):
                done.append(f"{name}: ledger entry #{entry.seq} {entry.action} {entry.state}")
    return done


def repair(
    project: Project, names: list[str], experiments: list[str]
) -> tuple[list[str], list[str]]:
    """Converge to the invariants (see the module's docstring).

    Returns what was done, in words, and the ids of the runs ended as KILLED.
    """
    done, killed = settle_all(), []
    client = runs.client()
    for experiment in experiments:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            continue
        for run_id in runs.reap(found.experiment_id):
            killed.append(run_id)
            done.append(f"run {run_id} ended KILLED (its process is gone)")
            done += [f"{v} deleted (the gate never judged it)" for v in discard_ungated(run_id)]
    lacking = missing_on_remote(project, _data_versions(project, names))
    still = set(missing_on_remote(project, lacking, push=True))
    done += [f"data version {v} pushed to the DVC remote" for v in lacking if v not in still]
    return done, killed
