"""A task's CloudWatch log group."""

from __future__ import annotations

from typing import cast

from aws_cdk import aws_logs as logs
from constructs import Construct


class TaskLogGroup(Construct):
    """A log group with a fixed name, so readers (the CI role, the orchestrator) can name it."""

    def __init__(
        self, scope: Construct, construct_id: str, *, log_group_name: str, retention_days: int
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "LogGroup", log_group_name=log_group_name)
        # RetentionDays is an enum of names; the config holds the day count CloudFormation takes.
        cast(logs.CfnLogGroup, self.log_group.node.default_child).retention_in_days = retention_days
