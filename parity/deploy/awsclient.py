"""A thin, typed layer over the boto3 calls the ECS backend makes.

Each method is one AWS call: it returns a small frozen snapshot instead of a response dict,
and turns botocore's exceptions into the harness's one-line errors. Missing or rejected
credentials and unreachable endpoints become ``AwsUnavailable``; any other refusal becomes
``DeployError`` naming the call. Nothing above this module sees a botocore exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from parity.errors import AwsUnavailable, DeployError

# botocore's standard mode retries throttling, 5xx and connection errors with backoff; a
# retried RunTask resends the same client token, so it never starts a second task.
DEFAULT_MAX_ATTEMPTS = 5
NO_CREDENTIALS = "no AWS credentials found; configure a profile or run in GitHub Actions with OIDC"
REJECTED_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)
STOPPED = "STOPPED"


@dataclass(frozen=True, kw_only=True)
class StackState:
    name: str
    status: str
    outputs: Mapping[str, str]

    @property
    def busy(self) -> bool:
        """CloudFormation is still working on it (an update, a rollback, a cleanup)."""
        return self.status.endswith("_IN_PROGRESS")


@dataclass(frozen=True, kw_only=True)
class ContainerState:
    name: str
    last_status: str
    exit_code: int | None
    reason: str | None

    @property
    def exited(self) -> bool:
        # Only a STOPPED container's exit code is real (moto reports 0 for pending ones).
        return self.last_status == STOPPED and self.exit_code is not None


@dataclass(frozen=True, kw_only=True)
class TaskState:
    arn: str
    last_status: str
    desired_status: str
    stop_code: str | None
    stopped_reason: str | None
    containers: Mapping[str, ContainerState]

    @property
    def stopped(self) -> bool:
        return self.last_status == STOPPED


@dataclass(frozen=True, kw_only=True)
class LogPage:
    lines: tuple[str, ...]
    next_token: str


@dataclass(frozen=True, kw_only=True)
class ServiceDeployment:
    deployment_id: str
    status: str  # PRIMARY (the newest), ACTIVE (being replaced)
    task_definition: str
    rollout_state: str | None  # IN_PROGRESS, COMPLETED, FAILED
    rollout_state_reason: str | None
    desired_count: int
    running_count: int
    failed_tasks: int


@dataclass(frozen=True, kw_only=True)
class ServiceState:
    name: str
    status: str
    desired_count: int
    running_count: int
    deployments: tuple[ServiceDeployment, ...]


class AwsApi:
    """The CloudFormation, ECS and CloudWatch Logs calls of a deploy, in one region."""

    def __init__(self, *, cloudformation: Any, ecs: Any, logs: Any) -> None:
        self._cloudformation = cloudformation
        self._ecs = ecs
        self._logs = logs

    @classmethod
    def connect(
        cls,
        *,
        region: str,
        endpoint_url: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        credentials: Mapping[str, str] | None = None,
    ) -> AwsApi:
        """Clients on the default credential chain (or ``credentials``); ``endpoint_url``
        points every client at one endpoint, as an emulator needs. ``AWS_ENDPOINT_URL`` is
        honoured by botocore itself."""
        config = Config(retries={"mode": "standard", "max_attempts": max_attempts})
        with aws_errors("creating the AWS clients"):
            session = boto3.session.Session(region_name=region, **(credentials or {}))
            clients = {
                service: session.client(service, endpoint_url=endpoint_url, config=config)
                for service in ("cloudformation", "ecs", "logs")
            }
        return cls(**clients)

    def stack(self, name: str) -> StackState | None:
        """The stack, or None when it does not exist (yet)."""
        with aws_errors("cloudformation:DescribeStacks"):
            try:
                response = self._cloudformation.describe_stacks(StackName=name)
            except ClientError as error:
                if _code(error) == "ValidationError" and "does not exist" in _message(error):
                    return None
                raise
        stack = response["Stacks"][0]
        return StackState(
            name=stack["StackName"],
            status=stack["StackStatus"],
            outputs=MappingProxyType(
                {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
            ),
        )

    def stack_services(self, name: str) -> tuple[tuple[str, str], ...]:
        """(cluster, service name) of every ECS service the stack created; none when the
        stack does not exist. A service's physical id is its ARN:
        ``arn:aws:ecs:<region>:<account>:service/<cluster>/<name>``."""
        with aws_errors("cloudformation:DescribeStackResources"):
            try:
                response = self._cloudformation.describe_stack_resources(StackName=name)
            except ClientError as error:
                if _code(error) == "ValidationError" and "does not exist" in _message(error):
                    return ()
                raise
        services = []
        for resource in response.get("StackResources", []):
            if resource.get("ResourceType") != "AWS::ECS::Service":
                continue
            _, _, path = str(resource.get("PhysicalResourceId", "")).partition(":service/")
            cluster, _, service = path.partition("/")
            if not cluster or not service:
                raise DeployError(
                    f"stack {name}'s service {resource.get('LogicalResourceId')} has physical id"
                    f" {resource.get('PhysicalResourceId')!r}, not a service ARN with its cluster"
                )
            services.append((cluster, service))
        return tuple(services)

    def run_task(
        self,
        *,
        cluster: str,
        task_definition: str,
        subnets: Sequence[str],
        security_groups: Sequence[str],
        assign_public_ip: str,
        client_token: str,
        started_by: str,
        command_overrides: Mapping[str, Sequence[str]] | None = None,
    ) -> TaskState:
        """Start one Fargate task; ``command_overrides`` replaces named containers' commands."""
        extra: dict[str, Any] = {}
        if command_overrides:
            extra["overrides"] = {
                "containerOverrides": [
                    {"name": name, "command": list(command)}
                    for name, command in command_overrides.items()
                ]
            }
        with aws_errors("ecs:RunTask"):
            response = self._ecs.run_task(
                cluster=cluster,
                taskDefinition=task_definition,
                launchType="FARGATE",
                count=1,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": list(subnets),
                        "securityGroups": list(security_groups),
                        "assignPublicIp": assign_public_ip,
                    }
                },
                clientToken=client_token,
                startedBy=started_by,
                **extra,
            )
        if not response.get("tasks"):
            raise DeployError(f"ecs:RunTask started no task: {_failures(response)}")
        return _task_state(response["tasks"][0])

    def stack_resource_id(self, *, stack: str, logical_id: str) -> str:
        """The physical id of one resource of a deployed stack (a task definition's ARN)."""
        with aws_errors("cloudformation:DescribeStackResource"):
            try:
                response = self._cloudformation.describe_stack_resource(
                    StackName=stack, LogicalResourceId=logical_id
                )
            except ClientError as error:
                if _code(error) == "ValidationError":
                    raise DeployError(
                        f"stack {stack} has no deployed resource {logical_id}"
                        f" ({_message(error)}); deploy it first"
                    ) from None
                raise
        return str(response["StackResourceDetail"]["PhysicalResourceId"])

    def container_log_options(self, task_definition: str) -> Mapping[str, Mapping[str, str]]:
        """Per container of the task definition, its awslogs options (group, stream prefix)."""
        with aws_errors("ecs:DescribeTaskDefinition"):
            response = self._ecs.describe_task_definition(taskDefinition=task_definition)
        return {
            container["name"]: dict(container.get("logConfiguration", {}).get("options", {}))
            for container in response["taskDefinition"].get("containerDefinitions", [])
            if container.get("logConfiguration", {}).get("logDriver") == "awslogs"
        }

    def describe_task(self, *, cluster: str, task_arn: str) -> TaskState:
        with aws_errors("ecs:DescribeTasks"):
            response = self._ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
        if not response.get("tasks"):
            raise DeployError(f"ecs:DescribeTasks found no task {task_arn}: {_failures(response)}")
        return _task_state(response["tasks"][0])

    def stop_task(self, *, cluster: str, task_arn: str, reason: str) -> TaskState:
        with aws_errors("ecs:StopTask"):
            response = self._ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)
        return _task_state(response["task"])

    def log_page(self, *, group: str, stream: str, next_token: str | None) -> LogPage | None:
        """The events after ``next_token`` (from the start without one); None while the
        stream does not exist, which is normal until the container starts."""
        params: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if next_token is not None:
            params["nextToken"] = next_token
        with aws_errors("logs:GetLogEvents"):
            try:
                response = self._logs.get_log_events(**params)
            except ClientError as error:
                if _code(error) == "ResourceNotFoundException":
                    return None
                raise
        lines = tuple(
            line
            for event in response.get("events", [])
            for line in str(event["message"]).rstrip("\n").split("\n")
        )
        return LogPage(lines=lines, next_token=response["nextForwardToken"])

    def service(self, *, cluster: str, name: str) -> ServiceState:
        with aws_errors("ecs:DescribeServices"):
            response = self._ecs.describe_services(cluster=cluster, services=[name])
        if not response.get("services"):
            raise DeployError(
                f"ecs:DescribeServices found no service {name}: {_failures(response)}"
            )
        service = response["services"][0]
        return ServiceState(
            name=service["serviceName"],
            status=service["status"],
            desired_count=service["desiredCount"],
            running_count=service["runningCount"],
            deployments=tuple(
                ServiceDeployment(
                    deployment_id=deployment["id"],
                    status=deployment["status"],
                    task_definition=deployment["taskDefinition"],
                    rollout_state=deployment.get("rolloutState"),
                    rollout_state_reason=deployment.get("rolloutStateReason"),
                    desired_count=deployment["desiredCount"],
                    running_count=deployment["runningCount"],
                    failed_tasks=deployment.get("failedTasks", 0),
                )
                for deployment in service.get("deployments", [])
            ),
        )


@contextmanager
def aws_errors(operation: str) -> Iterator[None]:
    """Turn botocore's exceptions raised in the block into one-line harness errors."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsUnavailable(NO_CREDENTIALS) from None
    except (CredentialRetrievalError, TokenRetrievalError, SSOError, ProfileNotFound) as error:
        raise AwsUnavailable(f"cannot get AWS credentials: {_one_line(str(error))}") from None
    except (BotocoreConnectionError, HTTPClientError) as error:
        where = getattr(error, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"
        raise AwsUnavailable(
            f"cannot reach {where} ({type(error).__name__}); check the network, the region"
            " and AWS_ENDPOINT_URL"
        ) from None
    except ClientError as error:
        code, message = _code(error), _one_line(_message(error))
        if code in REJECTED_CREDENTIAL_CODES:
            raise AwsUnavailable(
                f"AWS rejected the credentials ({code}: {message}); refresh them"
            ) from None
        raise DeployError(f"{operation} failed: {code}: {message}") from None


def _task_state(task: Mapping[str, Any]) -> TaskState:
    return TaskState(
        arn=task["taskArn"],
        last_status=task["lastStatus"],
        desired_status=task["desiredStatus"],
        stop_code=task.get("stopCode"),
        stopped_reason=task.get("stoppedReason") or None,
        containers=MappingProxyType(
            {
                container["name"]: ContainerState(
                    name=container["name"],
                    last_status=container.get("lastStatus", "PENDING"),
                    exit_code=container.get("exitCode"),
                    reason=container.get("reason") or None,
                )
                for container in task.get("containers", [])
            }
        ),
    )


def _failures(response: Mapping[str, Any]) -> str:
    failures = response.get("failures") or []
    described = [
        f"{failure.get('reason', 'unknown')}"
        + (f" ({failure['detail']})" if failure.get("detail") else "")
        for failure in failures
    ]
    return "; ".join(described) or "no reason given"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def _one_line(text: str) -> str:
    return " ".join(text.split())
