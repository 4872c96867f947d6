"""Nothing lost, on the SQLite default: racing promotions and rollbacks keep an unbroken ledger
whose last entry is the alias; `kill -9` at each step boundary of a run leaves a state that
`dlops repair` (and a re-run) converges from. The same races on PostgreSQL: test_team_stack."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline_helpers import registry_state, tiny_config

pytestmark = pytest.mark.integration
DLOPS = str(Path(sys.executable).parent / "dlops")
RACE, CRASH = "race-mlp", "crash-mlp"


def invariants(project, names: list[str]) -> list[str]:
    """What `dlops repair --check` reports for these models and the session's experiments."""
    from components.registry.repair import check

    return check(project, names, ["dlops", "promotions"])


@pytest.fixture(scope="module")
def two_versions(project, prefect_server, tmp_path_factory):
    """RACE with v1 (champion) and v2 (rejected: the same data does not beat it)."""
    from pipelines.training import training_pipeline

    config = tiny_config(tmp_path_factory.mktemp("race"))
    for _ in range(2):
        [outcome] = training_pipeline(
            families=["mlp"], config=config, overrides=[f"registry.model_name={RACE}"]
        )
        assert outcome["status"] == "ok", outcome["message"]
    assert str(registry_state(RACE)["aliases"]["champion"]) == "1"
    return config


def racing(commands: list[list[str]], env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    """Start every command at once; wait for all."""
    started = [
        subprocess.Popen(
            [DLOPS, *c], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    done = []
    for process, command in zip(started, commands, strict=True):
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


def race_commands(model: str) -> list[list[str]]:
    force = ["--force", "--reason", "race"]
    promote = [["promote", "mlp", "--model", model, "--version", v, *force] for v in "2121"]
    rollback = [["rollback", "mlp", "--model", model]] * 3
    return [promote[0], rollback[0], promote[1], promote[2], rollback[1], promote[3], rollback[2]]


def assert_race_ended_well(results, model: str) -> None:
    """Each command did its move or refused cleanly (exit 2, one line); the chain is whole."""
    from components.registry import ledger
    from components.registry.versions import CHAMPION, alias_version

    for result in results:
        assert result.returncode in (0, 2), result.stderr[-2000:]
        if result.returncode == 2:
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    moved = sum(r.returncode == 0 for r in results)
    entries = ledger.entries(model)
    assert moved >= 1 and len([e for e in entries if e.actor != "pipeline"]) == moved
    assert ledger.broken_links(entries, alias_version(model, CHAMPION)) == []
    assert len({e.seq for e in ledger.entries(model, include_void=True)}) == len(entries)


def test_racing_promotions_and_rollbacks_keep_one_chain(project, two_versions):
    results = racing(race_commands(RACE), dict(os.environ))
    assert_race_ended_well(results, RACE)
    assert invariants(project, [RACE]) == []


@pytest.fixture(scope="module")
def crash_config(project, prefect_server, tmp_path_factory):
    return tiny_config(tmp_path_factory.mktemp("crash"))


@pytest.mark.parametrize(
    "point",
    [
        "after-validation",
        "while-pushing",
        "after-data-version",
        "after-registration",
        "while-packaging",
        "between-alias-and-ledger",
    ],
)
def test_kill_at_a_step_boundary_then_repair_converges(project, crash_config, point):
    from prefect.settings import PREFECT_API_URL

    from components.registry.repair import repair
    from pipelines.steps import crash_flow_runs

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "DLOPS_FAULT_AT": point}
    before = registry_state(CRASH)
    killed = subprocess.run(
        [DLOPS, "run", "--family", "mlp", "--config", str(crash_config)]
        + ["--set", f"registry.model_name={CRASH}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    broken = invariants(project, [CRASH])
    assert broken, "a killed run leaves something for repair to do"
    done, runs = repair(project, [CRASH], ["dlops", "promotions"])
    assert crash_flow_runs(runs)  # its Prefect flow runs: Crashed, not Running
    assert invariants(project, [CRASH]) == [], done
    after = registry_state(CRASH)
    if point == "between-alias-and-ledger":  # the decision was made: it stands
        assert str(after["aliases"]["champion"]) == str(max(after["versions"]))
    else:  # nothing was decided: no version, no alias moved
        assert after == before


def test_a_run_after_the_crashes_ends_well(project, crash_config):
    from pipelines.training import training_pipeline

    [outcome] = training_pipeline(
        families=["mlp"], config=crash_config, overrides=[f"registry.model_name={CRASH}"]
    )
    assert outcome["status"] == "ok", outcome["message"]
    assert invariants(project, [CRASH]) == []
    result = subprocess.run([DLOPS, "repair", "--check"], capture_output=True, text=True)
    assert result.returncode == 0 and "nothing broken" in result.stdout, result.stdout
