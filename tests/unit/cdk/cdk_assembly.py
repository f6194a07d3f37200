"""Reading a synthesized cloud assembly back from disk, the way every consumer reads it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CDK_DIR = PROJECT_ROOT / "cdk"
ENVIRONMENTS_DIR = CDK_DIR / "environments"
ENVIRONMENT_NAMES = tuple(sorted(path.stem for path in ENVIRONMENTS_DIR.glob("*.toml")))
RESOURCES_DIR = PROJECT_ROOT / "resources"


@dataclass(frozen=True)
class Assembly:
    directory: Path
    validation_error: str | None

    def template(self, stack_name: str) -> dict[str, Any]:
        return read_json(self.directory / f"{stack_name}.template.json")

    def assets(self, stack_name: str) -> dict[str, Any]:
        return read_json(self.directory / f"{stack_name}.assets.json")

    def manifest(self) -> dict[str, Any]:
        return read_json(self.directory / "manifest.json")

    def stack_names(self) -> list[str]:
        artifacts = self.manifest()["artifacts"]
        return sorted(
            name
            for name, artifact in artifacts.items()
            if artifact["type"] == "aws:cloudformation:stack"
        )

    def metadata(self, stack_name: str) -> dict[str, list[dict[str, Any]]]:
        """Construct path (with a leading slash) -> that construct's metadata entries."""
        artifact = self.manifest()["artifacts"][stack_name]
        return read_json(self.directory / artifact["additionalMetadataFile"])


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def stack_name(environment: str, kind: str) -> str:
    return f"Laravel-{environment.capitalize()}-{kind}"


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only_resource(template: Mapping[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def container(task_definition: Mapping[str, Any], name: str) -> dict[str, Any]:
    definitions = task_definition["Properties"]["ContainerDefinitions"]
    matches = [definition for definition in definitions if definition["Name"] == name]
    assert len(matches) == 1, f"expected one container named {name!r}"
    found: dict[str, Any] = matches[0]
    return found


def output_values(template: Mapping[str, Any]) -> dict[str, Any]:
    return {key: output["Value"] for key, output in template.get("Outputs", {}).items()}
