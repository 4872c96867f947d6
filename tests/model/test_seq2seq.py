"""Behavioural tests of the translator: shapes, padding, learning a toy language, bounded output
length and beam, the tokenizers travelling with the card, the service's request checks."""

import numpy as np
import pydantic
import pytest
import torch

from components.kinds.card import load_model, save_model
from components.kinds.translation import inference
from components.kinds.translation.fit import teacher_forcing, token_loss, train_tokenizer
from components.kinds.translation.metrics import corpus_scores
from components.kinds.translation.schemas import MAX_BEAM, TranslateRequest
from components.models import build_model
from components.runtime.datasets import ArrayDataset
from components.runtime.trainer import evaluate_loss, fit
from components.settings import TrainSettings

CPU = torch.device("cpu")
WORDS = {"eins": "one", "zwei": "two", "drei": "three", "vier": "four", "fünf": "five",
         "rot": "red", "blau": "blue", "grün": "green"}  # fmt: skip
CONFIG = {"vocab_size": 100, "embedding_dim": 24, "hidden_size": 48, "dropout": 0.0,
          "max_source_tokens": 16, "max_target_tokens": 16}  # fmt: skip


def toy_pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A toy language: 2-5 words, each translated by WORDS, in the same order."""
    rng = np.random.default_rng(seed)
    german = list(WORDS)
    sources, targets = [], []
    for _ in range(n):
        chosen = [german[i] for i in rng.integers(0, len(german), rng.integers(2, 6))]
        sources.append(" ".join(chosen))
        targets.append(" ".join(WORDS[w] for w in chosen))
    return np.array(sources, dtype=object), np.array(targets, dtype=object)


def split_of(train, test, card_fields):
    from components.kinds.base import Split

    return Split(
        data={
            "train": ArrayDataset(*train),
            "validation": ArrayDataset(*test),
            "test": ArrayDataset(*test),
        },  # fmt: skip
        dims={},
        info=card_fields,
        digest="toy",
    )


def card_for(source_tok: str, target_tok: str, **fields) -> inference.TranslationCard:
    return inference.TranslationCard(
        family="seq2seq",
        kind=inference.KIND,
        model=CONFIG,
        dims={"source_vocab": 100, "target_vocab": 100},
        source_tokenizer=source_tok,
        target_tokenizer=target_tok,
        max_source_tokens=16,
        max_target_tokens=16,
        **fields,
    )


@pytest.fixture(scope="module")
def trained():
    """A small translator trained on the toy language (a few seconds on one thread)."""
    (sources, targets), test = toy_pairs(600, 0), toy_pairs(60, 1)
    source_tok, target_tok = train_tokenizer(sources, 100), train_tokenizer(targets, 100)
    card = card_for(source_tok, target_tok)
    split = split_of((sources, targets), test, card.model_dump())
    net = build_model("seq2seq", CONFIG, card.dims)
    before, _ = evaluate_loss(net, teacher_forcing(split, "test"), token_loss, CPU, 64, False)
    settings = TrainSettings(epochs=25, learning_rate=0.01, clip_grad_norm=1.0, progress=False)
    fit(net, teacher_forcing(split, "train"), teacher_forcing(split, "test"), settings, CPU,
        loss_fn=token_loss, classification=False)  # fmt: skip
    after, _ = evaluate_loss(net, teacher_forcing(split, "test"), token_loss, CPU, 64, False)
    return net.eval(), card, test, before, after


def test_logits_cover_the_batch_and_padding_is_harmless():
    net = build_model("seq2seq", CONFIG, {"source_vocab": 50, "target_vocab": 60}).eval()
    source = torch.randint(4, 50, (3, 5))
    target_in = torch.cat([torch.full((3, 1), inference.BOS), torch.randint(4, 60, (3, 4))], 1)
    pair = torch.cat(
        [torch.nn.functional.pad(source, (0, 11)), torch.nn.functional.pad(target_in, (0, 11))], 1
    )
    logits = net(pair)
    assert logits.shape == (3, 60, 5)  # (N, V, T'): the shared padding is trimmed
    with torch.no_grad():
        memory = net.encode(source)
        direct, _ = net.decode(target_in, memory, memory[3])
    assert torch.allclose(logits.transpose(1, 2), direct, atol=1e-5)


def test_loss_falls_and_the_toy_language_is_learned(trained):
    net, card, (sources, references), before, after = trained
    assert after < before / 2
    translations = inference.translate(net, card, list(sources))
    assert corpus_scores(translations, list(references))["chrf"] > 80
    copy = corpus_scores(list(sources), list(references))["chrf"]
    assert corpus_scores(translations, list(references))["chrf"] > copy + 40


def test_beam_agrees_with_greedy_on_a_confident_model_and_is_bounded(trained):
    net, card, (sources, _), _, _ = trained
    greedy = inference.translate(net, card, list(sources[:20]), beam=1)
    assert inference.translate(net, card, list(sources[:20]), beam=4) == greedy
    # a beam beyond the bound decodes with the bound (the service refuses it before)
    assert inference.translate(net, card, list(sources[:3]), beam=100) == greedy[:3]


@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_output_length_is_bounded_by_the_source(ratio):
    """An untrained model never says EOS on purpose: it writes up to the bound, never beyond."""
    (sources, targets) = toy_pairs(50, 2)
    card = card_for(
        train_tokenizer(sources, 100), train_tokenizer(targets, 100), length_ratio=ratio
    )
    net = build_model("seq2seq", CONFIG, card.dims).eval()
    source = torch.as_tensor(inference.encode(card.source_tokenizer, list(sources), 16))
    limits = inference.length_limits(source, card)
    for beam in (1, 3):
        for ids, limit in zip(inference.beam_search(net, card, source, beam), limits, strict=True):
            written = ids.index(inference.EOS) + 1 if inference.EOS in ids else len(ids)
            assert written <= int(limit) <= int(np.ceil(ratio * 16)) + inference.EXTRA_TOKENS


def test_the_tokenizers_travel_with_the_card(trained, tmp_path):
    net, card, (sources, _), _, _ = trained
    save_model(net, card, tmp_path / "model")
    loaded, loaded_card = load_model(tmp_path / "model")
    assert loaded_card.source_tokenizer == card.source_tokenizer
    assert inference.translate(loaded, loaded_card, list(sources[:10])) == inference.translate(
        net, card, list(sources[:10])
    )


def test_any_unicode_translates_without_error(trained):
    net, card, _, _, _ = trained
    out = inference.translate(net, card, ["文字 🙂", "ünï", "x" * 500])
    assert len(out) == 3 and all(isinstance(t, str) for t in out)


@pytest.mark.parametrize(
    "body",
    [
        {"texts": []},
        {"texts": ["  "]},
        {"texts": [1]},
        {"texts": "eins"},
        {"texts": ["eins"], "beam": 0},
        {"texts": ["eins"], "beam": MAX_BEAM + 1},
        {"texts": ["eins"], "beam": "2"},
        {"texts": ["x" * 2001]},
        {"text": ["eins"]},
    ],
)
def test_bad_requests_are_refused(body):
    with pytest.raises(pydantic.ValidationError):
        TranslateRequest.model_validate(body)
