"""The security group of one kind of task, admitted to the existing Aurora cluster and to Redis."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from laravel_infra import spec


class TaskSecurityGroup(Construct):
    """Creates the task's group and allows it into the database's group on the MySQL port and
    into the cache's group on the Redis port.

    Both rules land in this construct's stack: the other groups are imported by id, so a task
    stack never makes the stack that owns a group depend on it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        description: str,
        db_security_group_id: str,
        cache_security_group_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description=description, allow_all_outbound=True
        )
        database = ec2.SecurityGroup.from_security_group_id(self, "Database", db_security_group_id)
        database.add_ingress_rule(
            self.security_group, ec2.Port.tcp(spec.DB_PORT), f"MySQL from: {description}"
        )
        cache = ec2.SecurityGroup.from_security_group_id(self, "Cache", cache_security_group_id)
        cache.add_ingress_rule(
            self.security_group, ec2.Port.tcp(spec.REDIS_PORT), f"Redis from: {description}"
        )
