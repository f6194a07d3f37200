"""A minimal AppTasks: a migration task and a web service (laravel + nginx) on two assets."""

from __future__ import annotations

from pathlib import Path

from parity.assembly.apptasks import AppTasks, LoadBalancerTarget, ServiceSpec
from parity.assembly.cloud import CloudAssembly, DockerImageAsset, StackArtifact
from parity.assembly.taskdef import ContainerSpec, TaskDefinition

LARAVEL_ASSET = "a" * 64
NGINX_ASSET = "b" * 64
SIDECAR_IMAGE = "public.ecr.aws/example/sidecar:1"


def image_asset(
    asset_hash: str,
    dockerfile: str,
    target: str | None = None,
    build_args: dict[str, str] | None = None,
) -> DockerImageAsset:
    return DockerImageAsset(
        asset_hash=asset_hash,
        display_name=f"{dockerfile}/Asset",
        directory=Path("/nonexistent") / f"asset.{asset_hash}",
        dockerfile=dockerfile,
        build_target=target,
        build_args=build_args or {},
        platform=None,
        destinations=(),
    )


def task(family: str, *containers: ContainerSpec) -> TaskDefinition:
    return TaskDefinition(
        logical_id=family,
        family=family,
        network_mode="awsvpc",
        cpu_units=256,
        memory_mib=512,
        containers=containers,
    )


def app_tasks() -> AppTasks:
    laravel = image_asset(LARAVEL_ASSET, "Dockerfile-laravel", "runtime")
    nginx = image_asset(NGINX_ASSET, "Dockerfile-nginx")
    stack = StackArtifact(
        name="Laravel-Local-Service",
        artifact_id="Laravel-Local-Service",
        account=None,
        region=None,
        template_file=Path("/nonexistent/template.json"),
        template={},
        image_assets={laravel.asset_hash: laravel, nginx.asset_hash: nginx},
    )
    return AppTasks(
        env="local",
        region="us-east-1",
        assembly=CloudAssembly(directory=Path("/nonexistent"), stacks={stack.name: stack}),
        stacks=(stack.name,),
        migration_stack=stack.name,
        migration=task("migration", ContainerSpec(name="migrate", image=laravel.local_image)),
        services=(
            ServiceSpec(
                name="WebServiceA1B2C3D4",
                stack=stack.name,
                task=task(
                    "service",
                    ContainerSpec(name="nginx", image=nginx.local_image),
                    ContainerSpec(name="laravel", image=laravel.local_image),
                    ContainerSpec(name="sidecar", image=SIDECAR_IMAGE, essential=False),
                ),
                desired_count=1,
                load_balancer=LoadBalancerTarget(container="nginx", port=8080),
            ),
        ),
        watched_container="migrate",
    )
