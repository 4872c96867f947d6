"""Checkpoint and resume: a run interrupted mid-epoch continues to the same final weights."""

import numpy as np
import pytest
import torch

from components.kinds.image_generation.fit import fit_gan
from components.models import build_model
from components.runtime.checkpoint import Checkpointer
from components.runtime.device import seed_everything
from components.runtime.trainer import fit
from components.settings import TrainSettings

CPU = torch.device("cpu")


class Crash(Exception):
    """Stands in for the process dying."""


def blobs(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 5, generator=g) + 2.0 * y[:, None].float(), y


def crashing(loss_fn, after_calls: int):
    """`loss_fn` that raises on call number `after_calls` (a batch in the middle of an epoch)."""
    calls = {"n": 0}

    def wrapped(output, target):
        calls["n"] += 1
        if calls["n"] == after_calls:
            raise Crash
        return loss_fn(output, target)

    return wrapped


def train_mlp(settings, checkpoints=None, loss_fn=torch.nn.functional.cross_entropy):
    seed_everything(settings.seed)
    model = build_model(
        "mlp", {"hidden_sizes": [32], "dropout": 0.3}, {"n_features": 5, "n_classes": 3}
    )
    model.fit_normalizer(blobs()[0])
    result = fit(model, blobs(), blobs(seed=1), settings, CPU, loss_fn, checkpoints=checkpoints)
    return model, result


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_mlp_resumed_mid_epoch_matches_uninterrupted(tmp_path, schedule):
    settings = TrainSettings(
        epochs=8, batch_size=32, patience=8, lr_schedule=schedule, progress=False, seed=7
    )
    reference, ref_result = train_mlp(settings)
    checkpoints = Checkpointer(tmp_path / "ckpt")
    # per epoch: 10 training batches of 32, then 3 validation batches of 128: call 45 is the
    # 6th training batch of epoch 4
    with pytest.raises(Crash):
        train_mlp(settings, checkpoints, crashing(torch.nn.functional.cross_entropy, 45))
    assert checkpoints.epoch() == 3  # epochs 1-3 were saved, epoch 4 died half-way
    # A new process: other global random state, fresh model and optimizer.
    torch.manual_seed(12345)
    np.random.seed(12345)
    resumed, result = train_mlp(settings, checkpoints)
    assert_same_weights(resumed, reference)
    assert result.history == ref_result.history
    assert result.best_epoch == ref_result.best_epoch
    assert checkpoints.epoch() == 8


def test_checkpoint_of_an_early_stopped_run_trains_no_further(tmp_path):
    settings = TrainSettings(
        epochs=200, batch_size=64, patience=1, learning_rate=0.05, progress=False
    )
    checkpoints = Checkpointer(tmp_path / "ckpt")
    _, first = train_mlp(settings, checkpoints)
    assert first.stopped_early and len(first.history) < 200
    again, second = train_mlp(settings, checkpoints)
    assert second.history == first.history and second.best_epoch == first.best_epoch


def test_gan_resumed_matches_uninterrupted(tmp_path):
    from components.models.gan import GANConfig

    dims = {"n_classes": 3, "channels": 1, "image_size": 8}
    config = {"latent_dim": 8, "width": 8}
    g = torch.Generator().manual_seed(0)
    train = (torch.rand(96, 1, 8, 8, generator=g), torch.randint(0, 3, (96,), generator=g))
    settings = TrainSettings(
        epochs=4, batch_size=32, patience=4, lr_schedule="cosine", progress=False
    )

    def run(checkpoints=None, crash_at_epoch=None):
        seed_everything(settings.seed)
        model = build_model("gan", config, dims)
        epochs = {"n": 0}

        def val_fd(gan):  # called once per epoch after its batches
            epochs["n"] += 1
            if epochs["n"] == crash_at_epoch:
                raise Crash
            with torch.no_grad():
                return float(gan(torch.ones(4, 8), torch.zeros(4, dtype=torch.int64)).mean())

        conf = GANConfig.model_validate(config)
        fit_gan(model, train, conf, settings, CPU, val_fd, checkpoints=checkpoints)
        return model

    reference = run()
    checkpoints = Checkpointer(tmp_path / "gan")
    with pytest.raises(Crash):
        run(checkpoints, crash_at_epoch=3)
    assert checkpoints.epoch() == 2
    torch.manual_seed(999)
    assert_same_weights(run(checkpoints), reference)
