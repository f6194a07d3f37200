"""Names of a run's tasks: what `invoke logs` prefixes each line with."""

from __future__ import annotations

import pytest

from parity.engine.labels import Scope
from parity.runtime.bringup import task_key


@pytest.mark.parametrize(
    ("task_name", "key"),
    [
        ("parity-dev-0123abcd-service-webservice-ab12", "webservice"),
        ("parity-dev-0123abcd-service-workerservice-ab12", "workerservice"),
        ("parity-dev-0123abcd-scheduled-schedulerule-ab12", "schedulerule"),
        ("parity-dev-0123abcd-migration-ab12", "migration"),
    ],
)
def test_a_tasks_key_comes_from_its_name(task_name: str, key: str) -> None:
    assert task_key(task_name, scope=Scope.DEV, run_id="0123abcd") == key
