"""One container image built from ``resources/`` as a CDK asset."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from laravel_infra import spec


class AppImage(Construct):
    """A Docker image asset; identical inputs give the same hash, whichever stack builds it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources_dir: Path,
        build: spec.ImageBuild,
    ) -> None:
        super().__init__(scope, construct_id)
        self.asset = ecr_assets.DockerImageAsset(
            self,
            "Asset",
            directory=str(resources_dir),
            file=build.file,
            target=build.target,
            exclude=list(spec.IMAGE_CONTEXT_EXCLUDES),
            ignore_mode=IgnoreMode.DOCKER,
        )
        self.container_image = ecs.ContainerImage.from_docker_image_asset(self.asset)
