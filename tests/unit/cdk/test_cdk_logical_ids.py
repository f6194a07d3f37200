"""Every logical ID and construct path of every stack, against a committed snapshot.

A changed logical ID makes CloudFormation replace the resource (a new log group, new roles, a new
service), so refactors of the CDK code must keep them. To change them on purpose, regenerate the
snapshot and commit its diff with the change:

    UPDATE_CDK_SNAPSHOT=1 .venv/bin/python -m pytest tests/unit/cdk/test_cdk_logical_ids.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .cdk_assembly import PROJECT_ROOT, Assembly

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "logical_ids.json"
TEMPLATE_SECTIONS = ("Parameters", "Conditions", "Resources", "Outputs", "Rules")

# stack name -> logical ID -> {"type": resource or parameter type, else the section, "path": ...}
Snapshot = dict[str, dict[str, dict[str, str | None]]]


def logical_id_snapshot(assembly: Assembly) -> Snapshot:
    return {name: stack_logical_ids(assembly, name) for name in assembly.stack_names()}


def stack_logical_ids(assembly: Assembly, stack_name: str) -> dict[str, dict[str, str | None]]:
    # The same path as the templates' aws:cdk:path, which the in-process synth does not write.
    paths = {
        entry["data"]: path.removeprefix("/")
        for path, entries in assembly.metadata(stack_name).items()
        for entry in entries
        if entry["type"] == "aws:cdk:logicalId"
    }
    template = assembly.template(stack_name)
    return {
        logical_id: {"type": element.get("Type", section), "path": paths.get(logical_id)}
        for section in TEMPLATE_SECTIONS
        for logical_id, element in template.get(section, {}).items()
    }


def render(snapshot: Snapshot) -> str:
    """One line per logical ID, so the snapshot's diff names exactly what moved."""
    stacks = []
    for stack_name, elements in sorted(snapshot.items()):
        rows = ",\n".join(
            f"    {json.dumps(logical_id)}: {json.dumps(element, sort_keys=True)}"
            for logical_id, element in sorted(elements.items())
        )
        stacks.append(f"  {json.dumps(stack_name)}: {{\n{rows}\n  }}")
    return "{\n" + ",\n".join(stacks) + "\n}\n"


def describe_changes(expected: Snapshot, current: Snapshot) -> str:
    changes = []
    for stack_name in sorted(expected.keys() | current.keys()):
        before, after = expected.get(stack_name, {}), current.get(stack_name, {})
        changes += [
            f"  {stack_name} {logical_id}: {before.get(logical_id)} -> {after.get(logical_id)}"
            for logical_id in sorted(before.keys() | after.keys())
            if before.get(logical_id) != after.get(logical_id)
        ]
    return "\n".join(
        [
            "logical IDs or construct paths changed; deployed resources would be replaced:",
            *changes,
            "if that is intended: UPDATE_CDK_SNAPSHOT=1 and commit the snapshot's diff",
        ]
    )


def test_logical_ids_and_paths_match_the_snapshot(assembly: Assembly) -> None:
    current = logical_id_snapshot(assembly)
    if os.environ.get("UPDATE_CDK_SNAPSHOT") == "1":
        SNAPSHOT.write_text(render(current))
        pytest.skip(f"rewrote {SNAPSHOT.relative_to(PROJECT_ROOT)}; review and commit its diff")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, describe_changes(expected, current)
