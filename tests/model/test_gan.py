"""Behavioural tests of the GAN and its trainer: shapes, conditioning, determinism, learning."""

import functools

import numpy as np
import pytest
import torch

from components.kinds.card import load_model, save_model
from components.kinds.image_generation.fit import fit_gan
from components.kinds.image_generation.inference import GenerationCard
from components.models import build_model
from components.models.gan import generate
from components.runtime.device import seed_everything
from components.runtime.distances import frechet_distance
from components.settings import TrainSettings

CPU = torch.device("cpu")


DIGITS = {"n_classes": 10, "channels": 1, "image_size": 8}


def gan(dims=DIGITS, **cfg):
    seed_everything(0)
    return build_model("gan", cfg, dims)


@pytest.mark.parametrize(("channels", "size"), [(1, 8), (3, 16), (1, 28)])
def test_generator_and_discriminator_shapes(channels, size):
    model = gan({"n_classes": 3, "channels": channels, "image_size": size}).eval()
    z, labels = torch.randn(5, model.latent_dim), torch.tensor([0, 1, 2, 0, 1])
    fake = model.generator(z, labels)
    assert fake.shape == (5, channels, size, size)
    assert model.discriminator(fake, labels).shape == (5,)
    images = model(z, labels)
    assert images.shape == (5, channels, size, size)
    assert images.min() >= 0 and images.max() <= 1


def test_conditional_generator_follows_its_labels():
    model = gan()
    images, labels = generate(model, 6, seed=1, labels=torch.full((6,), 3))
    assert images.shape == (6, 1, 8, 8) and labels.tolist() == [3] * 6
    other, _ = generate(model, 6, seed=1, labels=torch.full((6,), 7))
    assert not torch.equal(images, other)  # same noise, other class: other images
    _, any_labels = generate(model, 50, seed=1)
    assert any_labels.shape == (50,) and any_labels.min() >= 0 and any_labels.max() < 10


def test_unconditional_generator_ignores_labels():
    model = gan(conditional=False)
    first, _ = generate(model, 4, seed=2, labels=torch.zeros(4, dtype=torch.int64))
    second, _ = generate(model, 4, seed=2, labels=torch.full((4,), 9))
    assert torch.equal(first, second)


def test_same_seed_same_images_and_saved_model_generates_the_same(tmp_path):
    model = gan()
    first, _ = generate(model, 8, seed=5)
    second, _ = generate(model, 8, seed=5)
    assert torch.equal(first, second)
    assert not torch.equal(first, generate(model, 8, seed=6)[0])
    card = GenerationCard(
        family="gan",
        kind="image_generation",
        model={},
        dims=DIGITS,
        classes=[str(d) for d in range(10)],
        image_size=8,
        mode="L",
        latent_dim=32,
        conditional=True,
    )
    save_model(model, card, tmp_path)
    loaded, _ = load_model(tmp_path)
    assert any(k.startswith("discriminator.") for k in loaded.state_dict())
    assert torch.equal(first, generate(loaded, 8, seed=5)[0])


@functools.cache
def load_digits():
    from sklearn.datasets import load_digits

    return load_digits()


def digits(n, offset=0):
    data = load_digits()
    x = torch.tensor(data.images[offset : offset + n] / 16, dtype=torch.float32)[:, None]
    return x, torch.tensor(data.target[offset : offset + n])


def test_short_training_lowers_validation_frechet_distance():
    train = digits(300)
    held_out, held_out_labels = digits(200, offset=300)
    reference = held_out.flatten(1).double().numpy()

    def val_fd(model):  # on raw pixels here: no feature classifier to train in a unit test
        images, _ = generate(model, 200, seed=0, labels=held_out_labels)
        return frechet_distance(images.flatten(1).double().numpy(), reference)

    model = gan()
    untrained = val_fd(model)
    settings = TrainSettings(epochs=8, batch_size=32, learning_rate=1e-3, progress=False)
    result = fit_gan(model, train, build_config(), settings, CPU, val_fd)
    assert len(result.history) == 8 and set(result.history[0]) == {"d_loss", "g_loss", "val_fd"}
    best = result.history[result.best_epoch - 1]["val_fd"]
    assert best < 0.75 * untrained
    assert abs(val_fd(model) - best) < 1e-6  # the best epoch's weights are the ones kept
    assert np.isfinite([h["d_loss"] + h["g_loss"] for h in result.history]).all()


def build_config():
    from components.models.gan import GANConfig

    return GANConfig()


def test_training_is_reproducible():
    def train_once():
        model = gan()
        settings = TrainSettings(epochs=1, batch_size=50, seed=3, progress=False)
        fit_gan(model, digits(100), build_config(), settings, CPU, lambda m: 0.0)
        return model.state_dict()

    first, second = train_once(), train_once()
    assert all(torch.equal(first[k], second[k]) for k in first)
