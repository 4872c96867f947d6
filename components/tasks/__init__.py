"""Task kinds by name; a family's model registration names its kind.

Every module in this package is imported on first use; each `Task` subclass with a `kind`
registers itself (see `Task.__init_subclass__`), so a new kind is one new module here.
"""

from __future__ import annotations

from components.tasks.base import TASK_KINDS, Split, Task


def task_kinds() -> dict[str, type[Task]]:
    """Every task kind (importing them pulls in torch, so only on first use)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return TASK_KINDS


def task_for(family: str) -> Task:
    """The task kind object of `family`, as its model registration names it."""
    from components.models import family_spec

    kind = family_spec(family).task
    kinds = task_kinds()
    if kind not in kinds:
        raise KeyError(
            f"family {family!r} names unknown task kind {kind!r}; known: {sorted(kinds)}"
        )
    return kinds[kind]()


__all__ = ["Split", "Task", "task_for", "task_kinds"]
