from __future__ import annotations

from parity.engine.labels import (
    INVOCATION_LABEL,
    Scope,
    current_invocation,
    new_invocation,
    run_labels,
)


def test_each_run_labels_what_it_creates_with_its_own_invocation() -> None:
    outside = current_invocation()
    with new_invocation() as first:
        assert run_labels(scope=Scope.DEV, run_id="r")[INVOCATION_LABEL] == first
    with new_invocation() as second:
        assert run_labels(scope=Scope.DEV, run_id="r")[INVOCATION_LABEL] == second
    # Two runs in one process (a test, the bench) never share what a failure may remove.
    assert len({outside, first, second}) == 3
    assert current_invocation() == outside
