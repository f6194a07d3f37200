"""The existing VPC and its private subnets."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_ec2 as ec2
from constructs import Construct


class ImportedNetwork(Construct):
    """Imports the VPC by attributes, so synth never looks anything up in AWS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_id: str,
        vpc_cidr: str | None,
        availability_zones: Sequence[str],
        private_subnet_ids: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=vpc_id,
            vpc_cidr_block=vpc_cidr,
            availability_zones=list(availability_zones),
            private_subnet_ids=list(private_subnet_ids),
        )
        self.private_subnets = ec2.SubnetSelection(subnets=self.vpc.private_subnets)
        Validations.of(self.vpc).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                reason="Nothing here reads or adds routes; tasks only need the subnet ids",
            )
        )
