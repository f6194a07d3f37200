"""Read a synthesized CDK cloud assembly (``cdk.out``): stacks, templates, Docker image assets.

Only the parts the local runtime needs are read: each CloudFormation stack artifact with its
template and environment, and the ``dockerImages`` of the asset manifests the stacks depend
on. Images are built from exactly what the manifest says (staged context directory,
Dockerfile, target, build args), so a local build is the build CDK would publish.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from parity.errors import ConfigError

STACK_ARTIFACT = "aws:cloudformation:stack"
ASSET_MANIFEST_ARTIFACT = "cdk:asset-manifest"
# Local images are tagged by asset hash, the same tag CDK publishes to ECR.
LOCAL_IMAGE_REPOSITORY = "fargate-parity/asset"
# CDK writes "aws://unknown-account/unknown-region" for environment-agnostic stacks.
_ENVIRONMENT = re.compile(r"^aws://(?P<account>[^/]+)/(?P<region>[^/]+)$")
_UNKNOWN = ("unknown-account", "unknown-region")
# "<account>.dkr.ecr.<region>.<url suffix>/<repository>:<tag>"
_ECR_IMAGE_URI = re.compile(
    r"^(?P<account>[^./]+)\.dkr\.ecr\.(?P<region>[^./]+)\.[^/]+/(?P<repository>[^:@]+):(?P<tag>[^:@/]+)$"
)
_PLACEHOLDER = re.compile(r"\$\{AWS::(AccountId|Region)\}")


@dataclass(frozen=True, kw_only=True)
class ImageDestination:
    """Where CDK would publish an image asset; the names may hold ``${AWS::…}`` placeholders."""

    repository_name: str
    image_tag: str


@dataclass(frozen=True, kw_only=True)
class DockerImageAsset:
    """One ``dockerImages`` entry of an asset manifest: how CDK builds the image."""

    asset_hash: str
    display_name: str | None
    # The staged copy of the build context (``cdk.out/asset.<hash>``), absolute.
    directory: Path
    # Relative to ``directory``; Docker's default ("Dockerfile") when CDK wrote none.
    dockerfile: str
    build_target: str | None
    build_args: Mapping[str, str]
    platform: str | None
    destinations: tuple[ImageDestination, ...]

    @property
    def local_image(self) -> str:
        """The local tag of the image built from this asset."""
        return f"{LOCAL_IMAGE_REPOSITORY}:{self.asset_hash}"


@dataclass(frozen=True, kw_only=True)
class StackArtifact:
    """A CloudFormation stack of the assembly."""

    name: str
    artifact_id: str
    # None for an environment-agnostic stack: the local context must supply them.
    account: str | None
    region: str | None
    template_file: Path
    template: Mapping[str, Any]
    image_assets: Mapping[str, DockerImageAsset]


@dataclass(frozen=True, kw_only=True)
class CloudAssembly:
    """A cloud assembly directory, read once."""

    directory: Path
    stacks: Mapping[str, StackArtifact]

    def stack(self, name: str) -> StackArtifact:
        """The stack called ``name``, or a ConfigError listing the stacks that exist."""
        try:
            return self.stacks[name]
        except KeyError:
            present = ", ".join(sorted(self.stacks)) or "none"
            raise ConfigError(
                f"stack {name!r} is not in {self.directory} (stacks: {present});"
                " check the CDK app's stack names and run `invoke synth`"
            ) from None

    @property
    def image_assets(self) -> Mapping[str, DockerImageAsset]:
        """Every Docker image asset of every stack, by hash (stacks share identical assets)."""
        return MappingProxyType(
            {h: a for stack in self.stacks.values() for h, a in stack.image_assets.items()}
        )

    def asset_for_image_uri(self, uri: str) -> DockerImageAsset | None:
        """The asset a resolved ECR image URI points at, or None for any other image.

        The URI's repository and tag must equal one of the asset's destinations. The
        destination's ``${AWS::AccountId}``/``${AWS::Region}`` placeholders (env-agnostic
        stacks) are filled from the URI's own registry host. Stacks of different accounts
        share an asset hash but not its destinations, so every stack's copy is searched.
        """
        match = _ECR_IMAGE_URI.match(uri)
        if match is None:
            return None
        assets = (a for stack in self.stacks.values() for a in stack.image_assets.values())
        for asset in assets:
            for destination in asset.destinations:
                repository = _fill_placeholders(
                    destination.repository_name, account=match["account"], region=match["region"]
                )
                if (repository, destination.image_tag) == (match["repository"], match["tag"]):
                    return asset
        return None


def load_assembly(directory: Path) -> CloudAssembly:
    """Read ``manifest.json`` of a cloud assembly and every stack and asset manifest in it."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise ConfigError(f"no cloud assembly at {directory}; run `invoke synth` first")
    manifest = _read_json(manifest_file)
    artifacts: Mapping[str, Any] = manifest.get("artifacts", {})
    stacks: dict[str, StackArtifact] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        stack = _read_stack(directory, artifact_id, artifact, artifacts)
        stacks[stack.name] = stack
    return CloudAssembly(directory=directory, stacks=MappingProxyType(stacks))


def _read_stack(
    directory: Path, artifact_id: str, artifact: Mapping[str, Any], artifacts: Mapping[str, Any]
) -> StackArtifact:
    properties = artifact.get("properties", {})
    # "stackName" is only written when it differs from the artifact id.
    name = properties.get("stackName", artifact_id)
    template_file = directory / properties["templateFile"]
    account, region = _parse_environment(artifact.get("environment", ""), stack=name)
    image_assets: dict[str, DockerImageAsset] = {}
    for dependency in artifact.get("dependencies", []):
        dependency_artifact = artifacts.get(dependency, {})
        if dependency_artifact.get("type") == ASSET_MANIFEST_ARTIFACT:
            asset_file = directory / dependency_artifact["properties"]["file"]
            image_assets.update(_read_image_assets(directory, asset_file))
    return StackArtifact(
        name=name,
        artifact_id=artifact_id,
        account=account,
        region=region,
        template_file=template_file,
        template=_read_json(template_file),
        image_assets=MappingProxyType(image_assets),
    )


def _parse_environment(environment: str, *, stack: str) -> tuple[str | None, str | None]:
    match = _ENVIRONMENT.match(environment)
    if match is None:
        raise ConfigError(
            f"stack {stack!r} has environment {environment!r}, not aws://ACCOUNT/REGION;"
            " re-run `invoke synth` with a supported CDK version"
        )
    account = None if match["account"] == _UNKNOWN[0] else match["account"]
    region = None if match["region"] == _UNKNOWN[1] else match["region"]
    return account, region


def _read_image_assets(directory: Path, asset_file: Path) -> dict[str, DockerImageAsset]:
    assets: dict[str, DockerImageAsset] = {}
    for asset_hash, entry in _read_json(asset_file).get("dockerImages", {}).items():
        source = entry["source"]
        if "directory" not in source:
            # An "executable" source builds the image with an arbitrary command.
            raise ConfigError(
                f"image asset {asset_hash} in {asset_file.name} is built by a command, not from"
                " a directory; the local runtime builds only ContainerImage.fromAsset images"
            )
        assets[asset_hash] = DockerImageAsset(
            asset_hash=asset_hash,
            display_name=entry.get("displayName"),
            directory=directory / source["directory"],
            dockerfile=source.get("dockerFile", "Dockerfile"),
            build_target=source.get("dockerBuildTarget"),
            build_args=MappingProxyType(dict(source.get("dockerBuildArgs", {}))),
            platform=source.get("platform"),
            destinations=tuple(
                ImageDestination(
                    repository_name=destination["repositoryName"],
                    image_tag=destination["imageTag"],
                )
                for destination in entry.get("destinations", {}).values()
            ),
        )
    return assets


def _fill_placeholders(text: str, *, account: str, region: str) -> str:
    """Fill the account and region placeholders CDK leaves in env-agnostic asset names."""
    values = {"AccountId": account, "Region": region}
    return _PLACEHOLDER.sub(lambda match: values[match[1]], text)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as file:
            loaded: dict[str, Any] = json.load(file)
    except FileNotFoundError:
        raise ConfigError(
            f"{path} is missing from the cloud assembly; run `invoke synth`"
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}); run `invoke synth`"
        ) from None
    return loaded
