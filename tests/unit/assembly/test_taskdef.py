from __future__ import annotations

from typing import Any

import pytest

from parity.assembly.cloud import CloudAssembly
from parity.assembly.intrinsics import Resolver, StackScope
from parity.assembly.secretref import SecretService, parse_value_from
from parity.assembly.taskdef import (
    ContainerDependency,
    DependencyCondition,
    HealthCheck,
    MountPoint,
    PortMapping,
    TaskDefinition,
    Volume,
    VolumeFrom,
    load_task_definition,
    output_task_definition,
    parse_cpu_units,
    parse_memory_mib,
    task_definition_ids,
)
from parity.errors import ConfigError, UnresolvableField

from ..conftest import EMULATOR_DB_SECRET_ARN, MIGRATION, SERVICE

# -- the synthesized task definitions -----------------------------------------------------


def test_task_level_fields(service_task: TaskDefinition) -> None:
    assert service_task.logical_id == "ServiceTask743484CE"
    assert service_task.family == "laravel-local-service"
    assert service_task.network_mode == "awsvpc"
    assert (service_task.cpu_units, service_task.memory_mib) == (512, 1024)
    assert service_task.requires_compatibilities == ("FARGATE",)
    assert service_task.volumes == (Volume(name="public"),)
    assert service_task.cpu_architecture is None
    assert [c.name for c in service_task.containers] == ["laravel", "nginx"]


def test_laravel_container_fields(
    service_task: TaskDefinition, project_assembly: CloudAssembly
) -> None:
    laravel = service_task.container("laravel")
    assert laravel.image.startswith("fargate-parity/asset:")
    assert laravel.image == project_assembly.image_assets[laravel.image.split(":")[1]].local_image
    assert laravel.essential is True
    assert (laravel.command, laravel.entry_point) == (None, None)
    assert laravel.working_directory == "/application"
    assert laravel.user == "www-data"
    assert dict(laravel.environment) == {"DB_HOST": "127.0.0.1"}
    assert dict(laravel.secrets) == {
        "DB_PASSWORD": parse_value_from(f"{EMULATOR_DB_SECRET_ARN}:password::")
    }
    assert laravel.port_mappings == (PortMapping(container_port=9000, protocol="tcp"),)
    assert laravel.health_check == HealthCheck(
        command=("CMD-SHELL", "php-fpm-healthcheck || exit 1"),
        interval_seconds=10,
        timeout_seconds=5,
        retries=3,
        start_period_seconds=5,
    )
    assert laravel.mount_points == (
        MountPoint(source_volume="public", container_path="/application/public", read_only=False),
    )
    assert laravel.stop_timeout_seconds == 20
    assert laravel.memory_reservation_mib == 256
    assert (laravel.memory_mib, laravel.cpu_units) == (None, None)
    assert laravel.readonly_root_filesystem is False


def test_nginx_container_fields(service_task: TaskDefinition) -> None:
    nginx = service_task.container("nginx")
    assert nginx.depends_on == (
        ContainerDependency(container="laravel", condition=DependencyCondition.HEALTHY),
    )
    assert nginx.volumes_from == (VolumeFrom(source_container="laravel", read_only=True),)
    assert nginx.health_check == HealthCheck(command=("CMD", "nginx", "-t"))
    assert nginx.port_mappings == (PortMapping(container_port=80),)
    # ECS's default stop timeout, not Docker's 10 s.
    assert nginx.stop_timeout_seconds == 30
    assert dict(nginx.environment) == {}
    assert dict(nginx.secrets) == {}


def test_the_log_configuration_is_kept_unresolved(service_task: TaskDefinition) -> None:
    assert service_task.container("nginx").log_configuration == {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": {"Ref": "ServiceTasknginxLogGroupD70C9AC8"},
            "awslogs-stream-prefix": "nginx",
            "awslogs-region": "us-east-1",
        },
    }


def test_migration_container_has_every_secret_form(migration_task: TaskDefinition) -> None:
    (migrate,) = migration_task.containers
    assert migrate.command == ("php", "artisan", "migrate", "--force")
    assert dict(migrate.environment) == {"APP_ENV": "local", "DB_HOST": "127.0.0.1"}
    secrets = migrate.secrets
    assert secrets["DB_USERNAME"].json_key == "username"
    assert secrets["DB_USERNAME"].secret_id == EMULATOR_DB_SECRET_ARN
    assert secrets["APP_SECRET"].name == "laravel/local/app"
    assert secrets["APP_PREVIOUS_SECRET"].version_stage == "AWSPREVIOUS"
    assert secrets["MAIL_PASSWORD"].json_key is None
    assert secrets["MAIL_PASSWORD"].name == "laravel/local/mail"
    assert secrets["APP_KEY"].service is SecretService.SSM
    assert secrets["APP_KEY"].name == "/laravel/local/app-key"
    assert secrets["FEATURE_FLAGS"].name == "laravel-feature-flags"


def test_a_container_is_found_by_name(service_task: TaskDefinition) -> None:
    with pytest.raises(ConfigError, match=r"no container 'php' \(containers: laravel, nginx\)"):
        service_task.container("php")


def test_a_missing_override_names_the_field(project_assembly: CloudAssembly) -> None:
    bare = Resolver.for_assembly(project_assembly, fallback_account="1", fallback_region="r")
    with pytest.raises(UnresolvableField) as caught:
        load_task_definition(bare, stack=SERVICE, logical_id="ServiceTask743484CE")
    message = str(caught.value)
    assert message.startswith(
        "Laravel-Local-Service ServiceTask743484CE.ContainerDefinitions[0].Environment[0].Value:"
    )
    assert "Fn::GetAtt AuroraCluster.Endpoint.Address in stack Laravel-Local-Shared" in message


# -- finding task definitions -------------------------------------------------------------


def test_task_definitions_are_found_by_reference(project_assembly: CloudAssembly) -> None:
    service = project_assembly.stack(SERVICE).template
    migration = project_assembly.stack(MIGRATION).template
    assert task_definition_ids(service) == ("ServiceTask743484CE",)
    assert output_task_definition(migration, "MigrationTaskDefinitionArn") == (
        "MigrationTask69EAEF9D"
    )


def test_a_stack_without_a_service_or_output_says_so(project_assembly: CloudAssembly) -> None:
    migration = project_assembly.stack(MIGRATION).template
    with pytest.raises(
        ConfigError, match=r"no output 'Nope' \(outputs: MigrationTaskDefinitionArn"
    ):
        output_task_definition(migration, "Nope")
    shared = project_assembly.stack("Laravel-Local-Shared").template
    with pytest.raises(ConfigError, match=r"Outputs.DbHost is .*not a Ref to a task definition"):
        output_task_definition(shared, "DbHost")


# -- sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [("256", 256), (512, 512), ("0.25 vCPU", 256), ("1 vcpu", 1024), ("2vCPU", 2048)],
)
def test_cpu_sizes(text: str | int, units: int) -> None:
    assert parse_cpu_units(text) == units


@pytest.mark.parametrize(
    ("text", "mib"),
    [("1024", 1024), (512, 512), ("1 GB", 1024), ("2GB", 2048), ("0.5 gb", 512)],
)
def test_memory_sizes(text: str | int, mib: int) -> None:
    assert parse_memory_mib(text) == mib


@pytest.mark.parametrize("text", ["", "one", "1 GiB", "0.1 vCPU", "-1", "0"])
def test_sizes_that_are_not_sizes(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_memory_mib(text) if "vCPU" not in text else parse_cpu_units(text)


# -- hand-written task definitions: every other field and every refusal ----------------------


def container(**fields: Any) -> dict[str, Any]:
    return {"Name": "app", "Image": "app:latest", "Essential": True, **fields}


def task(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "Family": "test",
        "NetworkMode": "awsvpc",
        "RequiresCompatibilities": ["FARGATE"],
        "Cpu": "512",
        "Memory": "1024",
        "ContainerDefinitions": list(containers) or [container()],
        **fields,
    }


def load(properties: dict[str, Any]) -> TaskDefinition:
    template = {
        "Conditions": {"IsLocal": {"Fn::Equals": ["local", "local"]}},
        "Resources": {
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": properties},
            "Role": {"Type": "AWS::IAM::Role"},
        },
    }
    scope = StackScope(name="Test", template=template, account="123456789012", region="eu-west-1")
    return load_task_definition(Resolver.create([scope]), stack="Test", logical_id="Task")


def refusal(properties: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(properties)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_other_container_field_is_mapped() -> None:
    definition = load(
        task(
            container(
                Command=["php-fpm", "-F"],
                EntryPoint=["docker-php-entrypoint"],
                ReadonlyRootFilesystem=True,
                Memory=512,
                MemoryReservation=256,
                Cpu=256,
                StartTimeout=120,
                StopTimeout="60",
                DockerLabels={"team": "web"},
                PortMappings=[{"ContainerPort": 9000, "HostPort": 9000, "Name": "fpm"}],
                Environment=[
                    {"Name": "A", "Value": "1"},
                    {"Name": "B", "Value": {"Fn::If": ["IsLocal", "local", "prod"]}},
                ],
            ),
            RuntimePlatform={"OperatingSystemFamily": "LINUX", "CpuArchitecture": "ARM64"},
        )
    )
    (app,) = definition.containers
    assert app.command == ("php-fpm", "-F")
    assert app.entry_point == ("docker-php-entrypoint",)
    assert app.readonly_root_filesystem is True
    assert (app.memory_mib, app.memory_reservation_mib, app.cpu_units) == (512, 256, 256)
    assert (app.start_timeout_seconds, app.stop_timeout_seconds) == (120, 60)
    assert dict(app.docker_labels) == {"team": "web"}
    assert app.port_mappings == (PortMapping(container_port=9000, name="fpm"),)
    assert dict(app.environment) == {"A": "1", "B": "local"}
    assert app.health_check is None
    assert app.log_configuration is None
    assert definition.cpu_architecture == "ARM64"


def test_defaults_follow_ecs() -> None:
    minimal = {"Name": "app", "Image": "app:latest"}
    definition = load(task(minimal))
    (app,) = definition.containers
    assert app.essential is True
    assert app.stop_timeout_seconds == 30
    assert app.start_timeout_seconds is None
    assert app.readonly_root_filesystem is False
    assert app.command is None


def test_a_health_check_gets_ecs_defaults() -> None:
    check = {"Command": ["CMD-SHELL", "true"]}
    (app,) = load(task(container(HealthCheck=check))).containers
    assert app.health_check == HealthCheck(
        command=("CMD-SHELL", "true"),
        interval_seconds=30,
        timeout_seconds=5,
        retries=3,
        start_period_seconds=0,
    )


def test_task_sizes_in_vcpu_and_gb() -> None:
    definition = load(task(Cpu="0.5 vCPU", Memory="1 GB"))
    assert (definition.cpu_units, definition.memory_mib) == (512, 1024)


def test_aws_only_fields_need_no_local_value() -> None:
    # Roles would need overrides if they were resolved; the local run never uses them.
    role = {"Fn::GetAtt": ["Role", "Arn"]}
    definition = load(task(ExecutionRoleArn=role, TaskRoleArn=role, Tags=[{"Key": "a"}]))
    assert definition.family == "test"


@pytest.mark.parametrize(
    ("properties", "field", "problem"),
    [
        (
            task(container(EnvironmentFiles=[{"Type": "s3"}])),
            "ContainerDefinitions[0].EnvironmentFiles",
            "is not supported by the local runtime",
        ),
        (
            task(container(LinuxParameters={"InitProcessEnabled": True})),
            "ContainerDefinitions[0].LinuxParameters",
            "is not supported by the local runtime",
        ),
        (
            task(ProxyConfiguration={"ContainerName": "envoy"}),
            "ProxyConfiguration",
            "is not supported by the local runtime",
        ),
        (
            task(NetworkMode="bridge"),
            "NetworkMode",
            "is 'bridge'; the local runtime runs awsvpc only",
        ),
        (
            task(Cpu="300"),
            "Cpu",
            "is 300; Fargate takes 256, 512, 1024, 2048, 4096, 8192, 16384 CPU units",
        ),
        (
            task(Memory="512"),
            "Memory",
            "is 512 MiB; with 512 CPU units Fargate takes 1024 to 4096 MiB in steps of 1024",
        ),
        (task(Memory="lots"), "Memory", "'lots' is neither MiB (1024) nor GB (1 GB)"),
        (
            task(RuntimePlatform={"OperatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}),
            "RuntimePlatform.OperatingSystemFamily",
            "the local runtime runs LINUX",
        ),
        (
            task(Volumes=[{"Name": "efs", "EFSVolumeConfiguration": {"FilesystemId": "fs-1"}}]),
            "Volumes[0].EFSVolumeConfiguration",
            "task-scoped volumes only",
        ),
        (task(ContainerDefinitions=[]), "ContainerDefinitions", "must list at least one container"),
        (
            task(container(), container()),
            "ContainerDefinitions[1].Name",
            "'app' names two containers",
        ),
        (task(container(Essential=False)), "ContainerDefinitions", "has no essential container"),
        (task(container(Image=None)), "ContainerDefinitions[0].Image", "must be a string"),
        (
            task(container(Essential="yes")),
            "ContainerDefinitions[0].Essential",
            "must be true or false",
        ),
        (
            task(container(Command="php artisan")),
            "ContainerDefinitions[0].Command",
            "must be a list of strings",
        ),
        (
            task(container(PortMappings=[{"ContainerPort": 80, "HostPort": 8080}])),
            "ContainerDefinitions[0].PortMappings[0].HostPort",
            "must equal ContainerPort 80 with awsvpc",
        ),
        (
            task(container(PortMappings=[{"ContainerPort": 80, "Protocol": "sctp"}])),
            "ContainerDefinitions[0].PortMappings[0].Protocol",
            "ECS takes tcp or udp",
        ),
        (
            task(container(HealthCheck={"Command": ["curl -f http://localhost/"]})),
            "ContainerDefinitions[0].HealthCheck.Command",
            "must start with CMD or CMD-SHELL",
        ),
        (
            task(container(HealthCheck={"Command": ["CMD-SHELL", "a", "b"]})),
            "ContainerDefinitions[0].HealthCheck.Command",
            "CMD-SHELL takes exactly one shell command",
        ),
        (
            task(container(HealthCheck={"Command": ["CMD"]})),
            "ContainerDefinitions[0].HealthCheck.Command",
            "CMD needs an executable",
        ),
        (
            task(container(HealthCheck={"Command": ["CMD", "true"], "Interval": 1})),
            "ContainerDefinitions[0].HealthCheck.Interval",
            "is 1; ECS takes 5 to 300",
        ),
        (
            task(container(HealthCheck={"Command": ["CMD", "true"], "Retries": 0})),
            "ContainerDefinitions[0].HealthCheck.Retries",
            "is 0; ECS takes 1 to 10",
        ),
        (
            task(container(DependsOn=[{"ContainerName": "db", "Condition": "RUNNING"}])),
            "ContainerDefinitions[0].DependsOn[0].Condition",
            "ECS takes START, COMPLETE, SUCCESS, HEALTHY",
        ),
        (
            task(container(MountPoints=[{"SourceVolume": "data", "ContainerPath": "/data"}])),
            "ContainerDefinitions[0].MountPoints[0].SourceVolume",
            "'data' is no volume of the task (volumes: none)",
        ),
        (
            task(container(VolumesFrom=[{"SourceContainer": "app"}])),
            "ContainerDefinitions[0].VolumesFrom[0].SourceContainer",
            "'app' is no other container of the task",
        ),
        (
            task(container(StopTimeout=121)),
            "ContainerDefinitions[0].StopTimeout",
            "is 121; Fargate allows at most 120",
        ),
        (
            task(container(Memory=256, MemoryReservation=512)),
            "ContainerDefinitions[0].MemoryReservation",
            "is 512, above the container's Memory 256",
        ),
        (
            task(container(Memory=2048)),
            "ContainerDefinitions[0].Memory",
            "is 2048, above the task's Memory 1024",
        ),
        (
            task(
                container(),
                container(Name="b", MemoryReservation=800),
                container(Name="c", MemoryReservation=800),
            ),
            "ContainerDefinitions",
            "reserve 1600 MiB, more than the task's Memory 1024",
        ),
        (
            task(container(Cpu=512), container(Name="b", Cpu=256)),
            "ContainerDefinitions",
            "use 768 CPU units, more than the task's Cpu 512",
        ),
        (
            task(container(Environment=[{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}])),
            "ContainerDefinitions[0].Environment[1].Name",
            "A appears twice in Environment",
        ),
        (
            task(container(Secrets=[{"Name": "S", "ValueFrom": "arn:aws:s3:::bucket/key"}])),
            "ContainerDefinitions[0].Secrets[0].ValueFrom",
            "ECS takes secrets only from Secrets Manager or SSM",
        ),
    ],
)
def test_what_the_local_runtime_cannot_honour_names_the_field(
    properties: dict[str, Any], field: str, problem: str
) -> None:
    message = refusal(properties)
    assert message.startswith(f"Test Task.{field}: ")
    assert problem in message


def test_an_unknown_logical_id_lists_the_task_definitions(local_resolver: Resolver) -> None:
    with pytest.raises(ConfigError, match=r"no task definition 'Nope' \(task definitions: Serv"):
        load_task_definition(local_resolver, stack=SERVICE, logical_id="Nope")
