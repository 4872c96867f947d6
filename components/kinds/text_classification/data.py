"""Text data: a CSV of a text column and a label column. Built-in: WordNet's noun glosses.

The built-in task: predict a noun's lexicographer category (noun.animal, noun.food, ... 26
classes) from its gloss, for WordNet 3.0's ~82,000 noun synsets. The glosses come from Debian's
`wordnet-base` package, fetched and unpacked at set-up (`make setup`: `apt-get download` +
`dpkg -x`, no root); nothing is downloaded at run time.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from components.project import CODE_ROOT, DlopsError

CSV_NAME = "data.csv"
# where `make setup` unpacks wordnet-base; else a system-wide install of the package
WORDNET_DIRS = (
    CODE_ROOT / ".venv" / "debian" / "wordnet-base" / "usr" / "share" / "wordnet",
    Path("/usr/share/wordnet"),
)
# lexnames(5WN): the lexicographer files of nouns, by number
NOUN_FILES = {
    3: "Tops", 4: "act", 5: "animal", 6: "artifact", 7: "attribute", 8: "body", 9: "cognition",
    10: "communication", 11: "event", 12: "feeling", 13: "food", 14: "group", 15: "location",
    16: "motive", 17: "object", 18: "person", 19: "phenomenon", 20: "plant", 21: "possession",
    22: "process", 23: "quantity", 24: "relation", 25: "shape", 26: "state", 27: "substance",
    28: "time",
}  # fmt: skip


def wordnet_glosses(source: Path | None = None) -> pd.DataFrame:
    """One row per noun synset: its gloss (the definition, without examples) and category."""
    found = [d / "data.noun" for d in WORDNET_DIRS if (d / "data.noun").is_file()]
    source = source or (found[0] if found else None)
    if source is None or not source.is_file():
        raise DlopsError(
            "WordNet's data.noun is missing: the built-in text data comes from Debian's "
            "wordnet-base, fetched by `make setup` (apt-get download + dpkg -x), or "
            "`--set data.source=csv:PATH` for your own texts"
        )
    texts, labels = [], []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("  ") or " | " not in line:  # the license header
            continue
        fields, gloss = line.split(" | ", 1)
        definition = gloss.split('; "')[0].strip().rstrip(";").strip()
        texts.append(definition)
        labels.append(f"noun.{NOUN_FILES[int(fields.split()[1])]}")
    frame = pd.DataFrame({"text": texts, "label": labels})
    # one row per distinct gloss (as the model reads it): the same text in two splits would
    # leak the test set
    seen = frame["text"].map(normalise)
    return frame[~seen.duplicated(keep=False)].reset_index(drop=True)


def write_builtin(folder: Path) -> None:
    """The WordNet gloss → category table as `data.csv`, byte-identical every time."""
    folder.mkdir(parents=True, exist_ok=True)
    wordnet_glosses().to_csv(folder / CSV_NAME, index=False, lineterminator="\n")


def normalise(text: str) -> str:
    """Text as duplicates are compared: normalised, case-folded, without accents or spaces.

    The tokenizer reads text so too: two texts equal here are one input to the model.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", bare).split())


def read_csv(folder: Path) -> pd.DataFrame:
    """The versioned table, every cell as text (an empty cell is an empty text).

    Validation and training read it alike, so both see the same labels.
    """
    return pd.read_csv(folder / CSV_NAME, dtype="string", keep_default_na=False, encoding="utf-8")


def labels_of(frame: pd.DataFrame, target: str) -> pd.Series:
    """The label column as text, stripped; an empty label is a missing one."""
    return frame[target].astype("string").str.strip().replace("", pd.NA)


def texts_and_labels(frame: pd.DataFrame, text: str, target: str):
    """(texts as an object array, label values as text, sorted classes, class indices)."""
    texts = frame[text].astype(str).to_numpy(dtype=object)
    labels = labels_of(frame, target).astype(str).to_numpy()
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return texts, labels, classes, np.array([index[c] for c in labels], dtype=np.int64)
