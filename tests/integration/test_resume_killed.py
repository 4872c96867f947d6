"""A training process killed with SIGKILL mid-epoch: the next run resumes from the last
checkpoint and ends with the same weights as an uninterrupted run; the killed run ends KILLED
and leaves no registered version or moved alias."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.pipeline_helpers import registry_state, tiny_config, training_runs

pytestmark = pytest.mark.integration
DLOPS = str(Path(sys.executable).parent / "dlops")
# ~0.1-0.2 s per epoch on two cores: batch size 1 makes an epoch ~340 optimizer steps
SLOW = "  data: {split: {seed: 11}}\n  train: {epochs: 12, patience: 12, batch_size: 1}\n"
MODEL = "resume-mlp"


def dlops_run(config, env):
    return subprocess.Popen(
        [
            DLOPS,
            "run",
            "--family",
            "mlp",
            "--config",
            str(config),
            "--set",
            f"registry.model_name={MODEL}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def newest_run():
    return max(training_runs("mlp"), key=lambda r: r.info.start_time)


def weights(project, run_id):
    from safetensors.torch import load_file

    return load_file(project.work / "runs" / run_id / "model" / "weights.safetensors")


def test_sigkill_mid_epoch_then_resume_gives_the_same_weights(
    first_run, prefect_server, project, tmp_path
):
    from prefect.settings import PREFECT_API_URL

    from components.runtime.checkpoint import Checkpointer
    from components.tracking.runs import client

    config = tiny_config(tmp_path, SLOW)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    before = {r.info.run_id for r in training_runs("mlp")}

    # 1. start, wait for the third epoch's checkpoint, kill half-way through the fourth
    process = dlops_run(config, env)
    deadline = time.monotonic() + 300
    killed_id = checkpoints = None
    while time.monotonic() < deadline and process.poll() is None:
        fresh = [r for r in training_runs("mlp") if r.info.run_id not in before]
        if fresh:
            killed_id = fresh[0].info.run_id
            checkpoints = Checkpointer(project.work / "runs" / killed_id / "checkpoints")
            if checkpoints.exists() and checkpoints.epoch() >= 3:
                time.sleep(0.05)
                os.killpg(process.pid, signal.SIGKILL)
                break
        time.sleep(0.02)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, process.stdout.read()[-3000:]
    done = checkpoints.epoch()
    assert 3 <= done < 12
    assert client().get_run(killed_id).info.status == "RUNNING"  # nobody ended it
    assert registry_state(MODEL) == {"versions": [], "aliases": {}}

    # 2. run again: resumes from the checkpoint, the killed run ends KILLED
    process = dlops_run(config, env)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    resumed = newest_run()
    assert resumed.data.tags["resumed_from_run"] == killed_id
    assert int(resumed.data.tags["resumed_from_epoch"]) == done
    assert client().get_run(killed_id).info.status == "KILLED"
    assert not checkpoints.exists()  # consumed
    assert registry_state(MODEL)["versions"] == [1]

    # 3. an uninterrupted run from scratch, same settings and trainer, reaches the same weights
    reference, history = uninterrupted(project, config, tmp_path)
    resumed_weights = weights(project, resumed.info.run_id)
    assert resumed_weights.keys() == reference.keys()
    for key in reference:
        assert torch.equal(resumed_weights[key], reference[key]), key
    logged = client().get_metric_history(resumed.info.run_id, "val_loss")
    assert [m.value for m in sorted(logged, key=lambda m: m.step)] == [
        row["val_loss"] for row in history
    ]


def uninterrupted(project, config, tmp_path):
    """Train as `dlops run` does (same settings, seed and CPU thread count), in one go."""
    from components.config import load_family
    from components.kinds import kind_for
    from components.models import build_model
    from components.runtime.device import seed_everything

    fresh_threads = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True,
        text=True,
        check=True,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(int(fresh_threads.stdout))
    try:
        settings = load_family(project, "mlp", config, [f"registry.model_name={MODEL}"])
        task = kind_for("mlp")
        split = task.load_split(project.data / settings.data_key, settings)
        train = settings.train.adapted(split.size("train"))  # as train_family does
        settings = settings.model_copy(update={"train": train})
        seed_everything(settings.train.seed)
        model = build_model("mlp", settings.model, split.dims)
        (tmp_path / "work").mkdir()
        result = task.fit(model, split, settings, torch.device("cpu"), tmp_path / "work")
    finally:
        torch.set_num_threads(threads)
    return {k: v.cpu() for k, v in model.state_dict().items()}, result.history
