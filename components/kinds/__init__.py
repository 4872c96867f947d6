"""Task kinds, one package each; a family's model registration names its kind.

`components/kinds/<kind>/kind.py` defines the kind's `Kind` subclass, which registers itself by
its `name` (see `Kind.__init_subclass__`): adding a kind is adding one package here. Importing
this package imports no kind: `kinds()` does, on first use (they pull in torch).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.kinds.base import Kind


def kinds() -> dict[str, type[Kind]]:
    """Every task kind by name."""
    from components.kinds.base import KINDS

    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            importlib.import_module(f"{__name__}.{module.name}.kind")
    return KINDS


def kind_for(family: str) -> Kind:
    """The kind object of `family`, as its model registration names it."""
    from components.models import family_spec

    name = family_spec(family).kind
    known = kinds()
    if name not in known:
        raise KeyError(
            f"family {family!r} names unknown task kind {name!r}; known: {sorted(known)}"
        )
    return known[name]()
