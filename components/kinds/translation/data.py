"""Translation data: a CSV (or TSV) of source and target sentences, and optionally a dictionary.

Built-in: German → English example sentences of the Ding dictionary (Debian's `trans-de-en`,
GPL), fetched and unpacked at set-up (`make setup`: `apt-get download` + `dpkg -x`, no root) and
extracted into the versioned folder; the extract is never committed. Its ~190,000 word and phrase
entries become `dictionary.csv`, the word-by-word baseline's lookup table.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pandas as pd

from components.project import CODE_ROOT, DlopsError

CSV_NAME = "data.csv"
DICTIONARY = "dictionary.csv"  # optional: word → translation, for the word-by-word baseline
DING_FILES = (
    CODE_ROOT / ".venv" / "debian" / "trans-de-en" / "usr" / "share" / "trans" / "de-en",
    Path("/usr/share/trans/de-en"),
)
NOTE = re.compile(r"\s*(\{[^}]*\}|\[[^\]]*\]|<[^>]*>)")  # {f}, [coll.], <abbrev>: annotations
SENTENCE = re.compile(r"^[A-ZÄÖÜ0-9\"„‚'].*\S[.!?]$")
WORD = re.compile(r"^[\w'’-]+$")
MAX_BUILTIN_WORDS = 20  # longer example sentences are rare (~1%) and slow the recurrence
RATIO = (1 / 3, 3.0)  # built-in pairs whose lengths differ more are paraphrases, not translations


def normalise(text: str) -> str:
    """Text as duplicates and copies are compared: case-folded, without accents or spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", bare).split())


def _bare(text: str) -> str:
    return " ".join(NOTE.sub("", text).split())


def _english_word(text: str) -> str:
    """A dictionary translation as a word-by-word baseline writes it: no `to`, no (notes)."""
    text = re.sub(r"\s*\([^)]*\)", "", _bare(text))
    return re.sub(r"^to ", "", text).strip()


def ding_entries(source: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sentence pairs, dictionary) of the Ding German → English dictionary file.

    A line holds `German | German … :: English | English …`, aligned segments; `;` separates
    alternatives. A segment that is a sentence on both sides (a capital first, `.`, `!` or `?`
    last) is a pair, its first alternatives; a single German word is a dictionary entry, its
    first translation. The entry where a word heads an article (first, with a grammar note
    such as `{adj}` or `{m}`) wins over one where it is an alternative, and that over a word met
    inside a phrase.
    """
    found = [p for p in DING_FILES if p.is_file()]
    source = source or (found[0] if found else None)
    if source is None or not source.is_file():
        raise DlopsError(
            "the Ding dictionary (de-en) is missing: the built-in translation data comes from "
            "Debian's trans-de-en, fetched by `make setup` (apt-get download + dpkg -x), or "
            "`--set data.source=csv:PATH` for your own sentence pairs"
        )
    pairs: list[tuple[str, str]] = []
    # a word's translation where it heads an article, is one of its noted alternatives, or
    # appears as an inflected form or in a list: the first tier found wins
    tiers: tuple[dict[str, str], ...] = ({}, {}, {})
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or " :: " not in line:
            continue
        german, english = line.split(" :: ", 1)
        segments = list(zip(german.split(" | "), english.split(" | "), strict=False))
        for position, (de, en) in enumerate(segments):
            de_first, en_first = _bare(de.split("; ")[0]), _bare(en.split("; ")[0])
            if SENTENCE.match(de_first) and SENTENCE.match(en_first) and " " in de_first:
                if not re.search(r"[()/~…]", de_first + en_first):
                    pairs.append((de_first, en_first))
                continue
            translation = _english_word(en.split("; ")[0])
            if not translation:
                continue
            alternatives = re.sub(r"\s*\([^)]*\)", "", de).split("; ")
            for rank, alternative in enumerate(alternatives):
                word = _bare(alternative)
                if WORD.match(word):
                    noted = position == 0 and "{" in alternative
                    tier = (0 if rank == 0 else 1) if noted else 2
                    tiers[tier].setdefault(word, translation)
    frame = pd.DataFrame(pairs, columns=["source", "target"])
    words = frame["source"].str.split().str.len()
    ratio = frame["target"].str.len() / frame["source"].str.len()
    frame = frame[(words <= MAX_BUILTIN_WORDS) & ratio.between(*RATIO)]
    key = frame["source"].map(normalise)
    # a source twice (even with two translations) could sit in training and test: dropped
    frame = frame[~key.duplicated(keep=False) & (key != frame["target"].map(normalise))]
    dictionary = pd.DataFrame(
        sorted({**tiers[2], **tiers[1], **tiers[0]}.items()), columns=["source", "target"]
    )
    return frame.reset_index(drop=True), dictionary


def write_builtin(folder: Path) -> None:
    """The Ding sentence pairs as `data.csv` and its words as `dictionary.csv`, byte-identical."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs, dictionary = ding_entries()
    pairs.to_csv(folder / CSV_NAME, index=False, lineterminator="\n")
    dictionary.to_csv(folder / DICTIONARY, index=False, lineterminator="\n")


def read_pairs(folder: Path) -> pd.DataFrame:
    """The versioned table, every cell as text (a byte-order mark is not part of a name).

    Comma-separated with CSV quoting, or tab-separated (a tab in the header line) without
    quoting: in a TSV a quotation mark is part of the sentence.
    """
    path = folder / CSV_NAME
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    tabs = "\t" in header
    return pd.read_csv(
        path,
        sep="\t" if tabs else ",",
        quoting=csv.QUOTE_NONE if tabs else csv.QUOTE_MINIMAL,
        dtype="string",
        keep_default_na=False,
        encoding="utf-8-sig",
    )


def read_dictionary(folder: Path) -> dict[str, str] | None:
    """`dictionary.csv` (source word → translation) when the data has one, else None."""
    path = folder / DICTIONARY
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8")
    return dict(zip(table["source"], table["target"], strict=True))
