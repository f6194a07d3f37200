"""ElastiCache Redis for Laravel's cache, sessions and queue."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from laravel_infra import spec


class RedisCache(Construct):
    """A replication group in the private subnets: a primary and a replica in another zone,
    encrypted at rest and in transit, AUTH required (the token from Secrets Manager, read by
    CloudFormation through a dynamic reference, so it never sits in the template).

    Its group admits nothing by itself: each task's ``TaskSecurityGroup`` adds its own rule.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        description: str,
        node_type: str,
        auth_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description=description, allow_all_outbound=False
        )
        self.subnet_group = elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description=description,
            subnet_ids=vpc.select_subnets(
                subnets=subnets.subnets, subnet_type=subnets.subnet_type
            ).subnet_ids,
        )
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_description=description,
            engine="redis",
            engine_version=spec.REDIS_ENGINE_VERSION,
            cache_node_type=node_type,
            num_cache_clusters=spec.REDIS_NODES,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            port=spec.REDIS_PORT,
            cache_subnet_group_name=self.subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=auth_secret.secret_value.unsafe_unwrap(),
        )
        self.endpoint = spec.CacheEndpoint(
            host=self.replication_group.attr_primary_end_point_address,
            port=self.replication_group.attr_primary_end_point_port,
            security_group_id=self.security_group.security_group_id,
        )
