"""The suite's own fixtures leave nothing behind: the session's clean-up finds what they start
by the run's labels."""

from __future__ import annotations

import pytest

from parity.engine.labels import RUN_LABEL, SCOPE_LABEL

from .conftest import SCOPE
from .support import SessionDatabase

pytestmark = pytest.mark.integration


def test_the_session_database_carries_the_run_labels_and_its_login_check(
    database: SessionDatabase, run_id: str
) -> None:
    labels = database.container.labels
    assert labels[RUN_LABEL] == run_id
    assert labels[SCOPE_LABEL] == SCOPE.value
    assert database.container.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"
