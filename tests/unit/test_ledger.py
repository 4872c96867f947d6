"""The ledger's chain of champions: what `dlops repair --check` calls broken."""

from components.registry.ledger import Entry, broken_links, champion_chain


def entry(seq: int, action: str, before: str, after: str, state: str = "done") -> Entry:
    return Entry(
        seq, "mlp", "m", action, after or before, before, after, "", "", "", "", state=state
    )


def test_an_unbroken_chain_ends_at_the_alias():
    ledger = [
        entry(1, "first", "", "1"),
        entry(2, "reject", "1", "1"),
        entry(3, "force-promote", "1", "2"),
        entry(4, "rollback", "2", "1"),
    ]
    assert broken_links(ledger, "1") == []
    assert champion_chain(ledger) == ["1"]


def test_a_stale_before_a_repeated_number_a_pending_entry_and_a_moved_alias_are_named():
    ledger = [
        entry(1, "first", "", "1"),
        entry(2, "force-promote", "1", "3"),
        entry(2, "force-promote", "1", "4"),
        entry(3, "rollback", "4", "3", "pending"),
    ]
    problems = broken_links(ledger, "5")
    assert "entry numbers repeat: [1, 2, 2, 3]" in problems
    assert "#2 force-promote replaced v1, but #2 left v3 champion" in problems
    assert "#3 rollback is still pending" in problems
    assert "the alias is v5, the last entry's v3" in problems
