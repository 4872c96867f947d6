"""Fingerprints: data entries, config, and the code closure a family's chain imports."""

import hashlib

import pytest

from components import code
from components.tracking import fingerprint as fp


@pytest.fixture
def code_root(tmp_path, monkeypatch):
    """A tiny project: a imports b (inside a function), c is imported by nobody."""
    pkg = tmp_path / "components"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from components.b import g\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    return 1\n")
    (pkg / "c.py").write_text("X = 1\n")
    monkeypatch.setattr(fp, "CODE_ROOT", tmp_path)
    monkeypatch.setattr(code, "CODE_ROOT", tmp_path)
    fp.code_fingerprint.cache_clear()
    yield pkg
    fp.code_fingerprint.cache_clear()


def digest_after(edit) -> str:
    edit()
    fp.code_fingerprint.cache_clear()
    return fp.code_fingerprint(("components.a",))


def test_code_fingerprint_follows_imports_only(code_root):
    first = fp.code_fingerprint(("components.a",))
    assert digest_after(lambda: (code_root / "c.py").write_text("X = 2\n")) == first
    changed = digest_after(lambda: (code_root / "b.py").write_text("def g():\n    return 2\n"))
    assert changed != first


def test_each_family_code_excludes_the_other_families_models():
    for family, own in (("mlp", "mlp"), ("cnn", "cnn"), ("rnn", "rnn"), ("gan", "gan")):
        modules = fp.family_modules(family)
        assert modules[0] == f"components.models.{own}"
    # an edit to the GAN's model file must not retrain the MLP: gan.py is outside its closure
    seen = set(code.closure(fp.family_modules("mlp")).modules)
    assert "components.models.mlp" in seen and "components.runtime.trainer" in seen
    assert "components.kinds.tabular_classification.fit" in seen
    assert not seen & {"components.models.gan", "components.models.cnn", "components.models.rnn"}


def test_data_entries_match_dvc_md5_and_ignore_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "b" / "img.png").write_bytes(b"\x89PNG...")
    entries = fp.folder_entries(tmp_path)
    assert entries == [  # relative to the model's own folder, as in its DVC manifest
        ("a.csv", hashlib.md5(b"x,y\n1,2\n").hexdigest()),
        ("b/img.png", hashlib.md5(b"\x89PNG...").hexdigest()),
    ]
    assert fp.entries_digest(entries) == fp.entries_digest(list(reversed(entries)))
    assert fp.entries_digest(entries[:1]) != fp.entries_digest(entries)


def test_changes_names_the_parts_that_differ():
    current = fp.Fingerprint(data="d1", config="c1", code="k1")
    tags = current.tags()
    assert current.changes(tags) == []
    assert fp.Fingerprint("d2", "c1", "k1").changes(tags) == ["data"]
    assert fp.Fingerprint("d1", "c2", "k2").changes(tags) == ["config", "code"]
    assert current.changes({}) == ["data", "config", "code"]
    assert tags["fingerprint"] == current.combined != fp.Fingerprint("d2", "c1", "k1").combined
