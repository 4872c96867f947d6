"""Behavioural tests of the text classifier: shapes, learning, the tokenizer travelling with the
card, invariance to trailing whitespace and batch padding, the service's request checks."""

import numpy as np
import pydantic
import pytest
import torch

from components.kinds.card import load_model, save_model
from components.kinds.text_classification import inference
from components.kinds.text_classification.fit import train_tokenizer
from components.kinds.text_classification.schemas import ClassifyRequest
from components.models import build_model
from components.runtime.trainer import evaluate_loss, fit
from components.settings import TrainSettings

CPU = torch.device("cpu")
ANIMALS = ["a small dog that barks", "a large cat that purrs", "a bird that sings at dawn"]
FOODS = ["a sweet fruit with red skin", "bread baked with flour", "a soup of beans and leeks"]


def corpus(n=240, seed=0):
    """Two classes told apart by their words: animals and foods, with shuffled fillers."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        base = (ANIMALS if label == 0 else FOODS)[rng.integers(3)]
        filler = " ".join(rng.choice(["very", "often", "quite", "seen", "here"], 2))
        texts.append(f"{filler} {base}")
        labels.append(label)
    return texts, np.array(labels)


def model(vocab=200, classes=2, **cfg):
    config = {"vocab_size": 200, "embedding_dim": 16, "hidden_size": 16, "dropout": 0.0, **cfg}
    return build_model("text", config, {"vocab_size": vocab, "n_classes": classes})


def card(tokenizer: str) -> inference.TextCard:
    return inference.TextCard(
        family="text",
        kind=inference.KIND,
        model={"vocab_size": 200, "embedding_dim": 16, "hidden_size": 16, "dropout": 0.0},
        dims={"vocab_size": 200, "n_classes": 2},
        classes=["animal", "food"],
        tokenizer=tokenizer,
        max_tokens=16,
    )


def test_output_shape_and_padding_are_harmless():
    net = model().eval()
    ids = torch.randint(1, 200, (5, 9))
    assert net(ids).shape == (5, 2)
    padded = torch.cat([ids, torch.zeros(5, 7, dtype=torch.long)], dim=1)
    assert torch.allclose(net(ids), net(padded), atol=1e-5)  # more padding, the same answer


def test_loss_falls_and_the_words_are_learned():
    texts, y = corpus()
    tokenizer = train_tokenizer(texts, 200)
    ids = inference.encode(tokenizer, texts, 16)
    test_texts, test_y = corpus(seed=1)
    test_ids = inference.encode(tokenizer, test_texts, 16)
    net = model()
    loss = torch.nn.functional.cross_entropy
    before, _ = evaluate_loss(net, (ids, y), loss, CPU, 64)
    settings = TrainSettings(epochs=15, learning_rate=0.01, progress=False)
    fit(net, (ids, y), (test_ids, test_y), settings, CPU)
    after, accuracy = evaluate_loss(net, (test_ids, test_y), loss, CPU, 64)
    assert after < before / 2 and accuracy > 0.95


def test_the_tokenizer_travels_with_the_card(tmp_path):
    texts, y = corpus()
    tokenizer = train_tokenizer(texts, 200)
    net = model()
    ids = inference.encode(tokenizer, texts, 16)
    fit(net, (ids, y), (ids[:40], y[:40]), TrainSettings(epochs=5, progress=False), CPU)
    save_model(net, card(tokenizer), tmp_path / "m")
    loaded, loaded_card = load_model(tmp_path / "m")
    assert loaded_card.tokenizer == tokenizer
    probe = ["a small dog that barks", "bread baked with flour", "ünïcödé 文字 🙂"]
    expected = inference.text_proba(net, card(tokenizer), probe)
    assert np.allclose(inference.text_proba(loaded, loaded_card, probe), expected)


def test_trailing_whitespace_and_batch_company_change_nothing():
    texts, y = corpus()
    tokenizer = train_tokenizer(texts, 200)
    net, c = model().eval(), card(tokenizer)
    alone = inference.text_proba(net, c, ["a small dog that barks"])
    spaced = inference.text_proba(net, c, ["a small dog that barks   \n"])
    in_batch = inference.text_proba(net, c, ["a small dog that barks", " ".join(["word"] * 40)])
    assert np.allclose(alone, spaced) and np.allclose(alone[0], in_batch[0], atol=1e-6)


@pytest.mark.parametrize(
    "body",
    [
        {"texts": []},
        {"texts": [""]},
        {"texts": ["   \t"]},
        {"texts": [3]},
        {"texts": "just a string"},
        {"texts": ["x" * 10_001]},
        {"texts": ["ok"], "other": 1},
    ],
)
def test_malformed_requests_are_refused(body):
    with pytest.raises(pydantic.ValidationError):
        ClassifyRequest.model_validate(body)
    assert ClassifyRequest.model_validate({"texts": ["any Unicode: ünï 文字 🙂"]})


def test_any_script_fits_the_embedding_and_labels_stay_text(tmp_path):
    """Texts of more distinct characters than vocab_size, and labels that look like numbers."""
    from components.kinds import kind_for
    from components.settings import FamilySettings

    rows = [(" ".join(chr(0x4E00 + 7 * i + k) for k in range(5)), ["007", "010"][i % 2])
            for i in range(120)]  # fmt: skip
    pd_frame = __import__("pandas").DataFrame(rows, columns=["text", "label"])
    pd_frame.to_csv(tmp_path / "data.csv", index=False)
    settings = FamilySettings.model_validate(
        {
            "family": "text",
            "data": {"source": "csv:x.csv", "target": "label"},
            "model": {"vocab_size": 100},
        }
    )
    split = kind_for("text").load_split(tmp_path, settings)
    assert split.info["classes"] == ["007", "010"]  # as written, not 7 and 10
    assert split.dims["vocab_size"] > 100  # the tokenizer kept every character it saw
    net = build_model("text", {"vocab_size": 100}, split.dims).eval()
    texts, _ = split.arrays("test")
    ids = inference.encode(split.info["tokenizer"], texts, 16)
    assert ids.max() < split.dims["vocab_size"] and net(torch.as_tensor(ids)).shape[1] == 2
