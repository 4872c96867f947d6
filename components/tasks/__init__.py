"""Task kinds by name; a family's model registration names its kind."""

from __future__ import annotations

from components.tasks.base import Split, Task


def task_kinds() -> dict[str, type[Task]]:
    """Every task kind, imported on first use (they pull in torch)."""
    from components.tasks.tabular import TabularClassification

    return {cls.kind: cls for cls in (TabularClassification,)}


def task_for(family: str) -> Task:
    """The task kind object of `family`, as its model registration names it."""
    from components.models import family_spec

    return task_kinds()[family_spec(family).task]()


__all__ = ["Split", "Task", "task_for", "task_kinds"]
