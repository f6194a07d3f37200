from __future__ import annotations

from typing import Any

import pytest

from parity.assembly.cloud import CloudAssembly
from parity.assembly.intrinsics import LocalOverride, OverrideKind, Resolver, StackScope
from parity.errors import UnresolvableField

from ..conftest import EMULATOR_DB_SECRET_ARN, LOCAL_ACCOUNT, LOCAL_OVERRIDES, LOCAL_REGION

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "local"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
        "BootstrapVersion": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/cdk-bootstrap/hnb659fds/version",
        },
        "NoDefault": {"Type": "String"},
    },
    "Mappings": {"Sizes": {"local": {"Cpu": "256"}}},
    "Conditions": {
        "IsLocal": {"Fn::Equals": [{"Ref": "Stage"}, "local"]},
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "LocalAndNotProd": {"Fn::And": [{"Condition": "IsLocal"}, {"Condition": "NotProd"}]},
        "ProdOrLocal": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsLocal"}]},
        "Unsupported": {"Fn::Contains": [["a"], "a"]},
    },
    "Resources": {
        "DbSecret685A0FA5": {"Type": "AWS::SecretsManager::Secret"},
        "AuroraCluster": {"Type": "AWS::RDS::DBCluster"},
        "Logs6819BB44": {"Type": "AWS::Logs::LogGroup"},
    },
}


def resolver(*overrides: LocalOverride, template: dict[str, Any] = TEMPLATE) -> Resolver:
    scope = StackScope(name="App", template=template, account="123456789012", region="eu-west-1")
    return Resolver.create([scope], overrides=overrides)


def resolve(value: Any, *overrides: LocalOverride) -> Any:
    return resolver(*overrides).resolve(value, stack="App", path="Field")


def unresolvable(value: Any, *overrides: LocalOverride) -> str:
    with pytest.raises(UnresolvableField) as caught:
        resolve(value, *overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


SECRET_OVERRIDE = LocalOverride.ref(
    stack="App", target="DbSecret685A0FA5", value=EMULATOR_DB_SECRET_ARN, reason="emulator"
)
ENDPOINT_OVERRIDE = LocalOverride.get_att(
    stack="App",
    logical_id="AuroraCluster",
    attribute="Endpoint.Address",
    value="127.0.0.1",
    reason="local MySQL",
)


# -- Ref ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS::AccountId", "123456789012"),
        ("AWS::Region", "eu-west-1"),
        ("AWS::Partition", "aws"),
        ("AWS::URLSuffix", "amazonaws.com"),
        ("AWS::StackName", "App"),
    ],
)
def test_ref_resolves_pseudo_parameters(name: str, value: str) -> None:
    assert resolve({"Ref": name}) == value


def test_the_url_suffix_follows_the_partition() -> None:
    scope = StackScope(name="Cn", template={}, account="1", region="cn-north-1", partition="aws-cn")
    cn = Resolver.create([scope])
    assert cn.resolve({"Ref": "AWS::URLSuffix"}, stack="Cn", path="F") == "amazonaws.com.cn"


def test_ref_resolves_a_parameter_to_its_default() -> None:
    assert resolve({"Ref": "Stage"}) == "local"
    assert resolve({"Ref": "Zones"}) == ["a", "b", "c"]


def test_a_parameter_override_wins_over_its_default() -> None:
    stage = LocalOverride.ref(stack="App", target="Stage", value="dev", reason="dev run")
    assert resolve({"Ref": "Stage"}, stage) == "dev"


@pytest.mark.parametrize("parameter", ["BootstrapVersion", "NoDefault"])
def test_a_parameter_without_a_local_value_needs_an_override(parameter: str) -> None:
    message = unresolvable({"Ref": parameter})
    assert f'cannot resolve {{"Ref": "{parameter}"}}' in message
    assert f"add a local override for Ref {parameter} in stack App" in message


def test_ref_to_a_resource_needs_an_override_naming_field_and_resource() -> None:
    field = {
        "ContainerDefinitions": [{}, {"Secrets": [{}, {}, {"ValueFrom": {"Ref": "Logs6819BB44"}}]}]
    }
    message = unresolvable(field)
    assert message == (
        "App Field.ContainerDefinitions[1].Secrets[2].ValueFrom:"
        ' cannot resolve {"Ref": "Logs6819BB44"} (resource type AWS::Logs::LogGroup)'
        " — add a local override for Ref Logs6819BB44 in stack App (fargate-parity.toml:"
        ' [[environments.ENV.overrides]] ref = "App:Logs6819BB44", value = "…")'
    )


def test_ref_to_a_resource_resolves_to_its_override() -> None:
    assert resolve({"Ref": "DbSecret685A0FA5"}, SECRET_OVERRIDE) == EMULATOR_DB_SECRET_ARN


def test_an_override_applies_only_to_its_own_stack() -> None:
    elsewhere = LocalOverride.ref(
        stack="Other", target="DbSecret685A0FA5", value="x", reason="another stack"
    )
    assert "Ref DbSecret685A0FA5 in stack App" in unresolvable(
        {"Ref": "DbSecret685A0FA5"}, elsewhere
    )


def test_ref_to_an_unknown_name_is_an_error() -> None:
    assert "Ref 'Nope' names no parameter or resource" in unresolvable({"Ref": "Nope"})


def test_an_unsupported_pseudo_parameter_needs_an_override() -> None:
    assert "Ref AWS::StackId in stack App" in unresolvable({"Ref": "AWS::StackId"})
    stack_id = LocalOverride.ref(stack="App", target="AWS::StackId", value="local", reason="r")
    assert resolve({"Ref": "AWS::StackId"}, stack_id) == "local"


# -- Fn::GetAtt ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        {"Fn::GetAtt": ["AuroraCluster", "Endpoint.Address"]},
        {"Fn::GetAtt": "AuroraCluster.Endpoint.Address"},
    ],
    ids=["list form", "string form"],
)
def test_get_att_resolves_to_its_override(expression: dict[str, Any]) -> None:
    assert resolve(expression, ENDPOINT_OVERRIDE) == "127.0.0.1"


def test_get_att_without_override_names_the_attribute() -> None:
    message = unresolvable({"Fn::GetAtt": ["AuroraCluster", "Endpoint.Address"]})
    assert "(resource type AWS::RDS::DBCluster)" in message
    assert "add a local override for Fn::GetAtt AuroraCluster.Endpoint.Address" in message


def test_get_att_of_an_unknown_resource_is_an_error() -> None:
    assert "'Ghost', no resource of the template" in unresolvable({"Fn::GetAtt": ["Ghost", "Arn"]})


# -- string functions ---------------------------------------------------------------------


def test_join_builds_a_secret_arn_with_a_json_key() -> None:
    value_from = {"Fn::Join": ["", [{"Ref": "DbSecret685A0FA5"}, ":username::"]]}
    assert resolve(value_from, SECRET_OVERRIDE) == f"{EMULATOR_DB_SECRET_ARN}:username::"


def test_join_takes_a_list_from_another_intrinsic() -> None:
    assert resolve({"Fn::Join": ["-", {"Fn::Split": [",", "a,b"]}]}) == "a-b"


def test_join_rejects_a_value_that_is_not_a_list() -> None:
    assert 'Fn::Join needs a list of values, not "x"' in unresolvable({"Fn::Join": ["", "x"]})


def test_sub_fills_pseudo_parameters_like_a_cdk_image_uri() -> None:
    uri = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/repo:tag"
    assert resolve({"Fn::Sub": uri}) == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"


def test_sub_fills_refs_attributes_and_keeps_escaped_literals() -> None:
    text = "${DbSecret685A0FA5}|${AuroraCluster.Endpoint.Address}|${!Literal}|${Stage}"
    resolved = resolve({"Fn::Sub": text}, SECRET_OVERRIDE, ENDPOINT_OVERRIDE)
    assert resolved == f"{EMULATOR_DB_SECRET_ARN}|127.0.0.1|${{Literal}}|local"


def test_sub_list_form_uses_its_variables_first() -> None:
    expression = {"Fn::Sub": ["${Host}:${Port}/${Stage}", {"Host": {"Ref": "Stage"}, "Port": 3306}]}
    assert resolve(expression) == "local:3306/local"


def test_sub_names_the_variable_it_cannot_resolve() -> None:
    message = unresolvable({"Fn::Sub": "mysql://${AuroraCluster.Endpoint.Address}/app"})
    assert "add a local override for Fn::GetAtt AuroraCluster.Endpoint.Address" in message


def test_select_and_split() -> None:
    assert resolve({"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}) == "b"
    assert resolve({"Fn::Select": ["0", ["x", "y"]]}) == "x"


def test_select_outside_the_list_is_an_error() -> None:
    assert "index 2 is outside a list of 2" in unresolvable({"Fn::Select": [2, ["x", "y"]]})


def test_find_in_map() -> None:
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Cpu"]}) == "256"
    assert "is not in the Mappings" in unresolvable({"Fn::FindInMap": ["Sizes", "prod", "Cpu"]})


# -- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("IsLocal", "yes"),
        ("IsProd", "no"),
        ("NotProd", "yes"),
        ("LocalAndNotProd", "yes"),
        ("ProdOrLocal", "yes"),
    ],
)
def test_fn_if_evaluates_simple_conditions(condition: str, expected: str) -> None:
    assert resolve({"Fn::If": [condition, "yes", "no"]}) == expected


def test_no_value_removes_the_property_or_list_item() -> None:
    value = {
        "Kept": 1,
        "Dropped": {"Fn::If": ["IsLocal", {"Ref": "AWS::NoValue"}, 2]},
        "List": ["a", {"Fn::If": ["IsLocal", {"Ref": "AWS::NoValue"}, "b"]}],
    }
    assert resolve(value) == {"Kept": 1, "List": ["a"]}
    assert resolve({"Ref": "AWS::NoValue"}) is None


def test_a_condition_the_runtime_cannot_evaluate_is_an_error() -> None:
    assert "is not one the local runtime evaluates" in unresolvable(
        {"Fn::If": ["Unsupported", "a", "b"]}
    )
    assert 'condition "Missing" is not in the template\'s Conditions' in unresolvable(
        {"Fn::If": ["Missing", "a", "b"]}
    )


def test_an_unsupported_intrinsic_is_named() -> None:
    message = unresolvable({"Cidr": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}})
    assert message == "App Field.Cidr: Fn::Cidr is not supported by the local runtime"


def test_plain_values_pass_through() -> None:
    value = {"Name": "laravel", "Ports": [80, 9000], "Essential": True, "Nothing": None}
    assert resolve(value) == value


# -- Fn::ImportValue across the stacks of an assembly --------------------------------------


def test_import_value_resolves_through_the_exporting_stacks_output(
    local_resolver: Resolver,
) -> None:
    db_host = {"Fn::ImportValue": "Laravel-Local-DbHost"}
    assert local_resolver.resolve(db_host, stack="Laravel-Local-Service", path="F") == "127.0.0.1"
    export = "Laravel-Local-Shared:ExportsOutputRefDbSecret685A0FA57881E1C6"
    secret = {"Fn::Join": ["", [{"Fn::ImportValue": export}, ":password::"]]}
    resolved = local_resolver.resolve(secret, stack="Laravel-Local-Migration", path="F")
    assert resolved == f"{EMULATOR_DB_SECRET_ARN}:password::"


def test_import_value_error_names_the_importing_field_and_the_exported_output(
    project_assembly: CloudAssembly,
) -> None:
    bare = Resolver.for_assembly(
        project_assembly, fallback_account=LOCAL_ACCOUNT, fallback_region=LOCAL_REGION
    )
    with pytest.raises(UnresolvableField) as caught:
        bare.resolve(
            {"Fn::ImportValue": "Laravel-Local-DbHost"},
            stack="Laravel-Local-Service",
            path="ServiceTask743484CE.ContainerDefinitions[0].Environment[0].Value",
        )
    assert str(caught.value) == (
        "Laravel-Local-Service ServiceTask743484CE.ContainerDefinitions[0].Environment[0].Value:"
        " Fn::ImportValue 'Laravel-Local-DbHost' ← Laravel-Local-Shared Outputs.DbHost.Value:"
        ' cannot resolve {"Fn::GetAtt": ["AuroraCluster", "Endpoint.Address"]}'
        " (resource type AWS::RDS::DBCluster) — add a local override for"
        " Fn::GetAtt AuroraCluster.Endpoint.Address in stack Laravel-Local-Shared"
        " (fargate-parity.toml: [[environments.ENV.overrides]] get_att ="
        ' "Laravel-Local-Shared:AuroraCluster.Endpoint.Address", value = "…")'
    )


def test_an_import_override_replaces_the_export(project_assembly: CloudAssembly) -> None:
    listener = LocalOverride.import_value(
        export_name="Shared-Alb-ListenerArn", value="arn:local:listener", reason="no ALB locally"
    )
    with_import = Resolver.for_assembly(
        project_assembly,
        fallback_account=LOCAL_ACCOUNT,
        fallback_region=LOCAL_REGION,
        overrides=(*LOCAL_OVERRIDES, listener),
    )
    expression = {"Fn::ImportValue": "Shared-Alb-ListenerArn"}
    assert with_import.resolve(expression, stack="Laravel-Local-Service", path="F") == (
        "arn:local:listener"
    )


def test_an_import_nobody_exports_is_an_error(local_resolver: Resolver) -> None:
    with pytest.raises(UnresolvableField) as caught:
        local_resolver.resolve(
            {"Fn::ImportValue": "Shared-Alb-ListenerArn"}, stack="Laravel-Local-Service", path="F"
        )
    assert str(caught.value) == (
        "Laravel-Local-Service F: no stack of the assembly exports 'Shared-Alb-ListenerArn'"
        " — add a local override for Fn::ImportValue Shared-Alb-ListenerArn"
        " (fargate-parity.toml: [[environments.ENV.overrides]] import_value ="
        ' "Shared-Alb-ListenerArn", value = "…")'
    )


# -- Fn::GetStackOutput: CDK's cross-stack references without exports ----------------------


def stack_output(stack: str, output: str) -> dict[str, Any]:
    return {
        "Fn::GetStackOutput": {"StackName": stack, "Region": LOCAL_REGION, "OutputName": output}
    }


def test_get_stack_output_resolves_the_other_stacks_output(local_resolver: Resolver) -> None:
    db_host = stack_output("Laravel-Local-Shared", "DbHost")
    assert local_resolver.resolve(db_host, stack="Laravel-Local-Service", path="F") == "127.0.0.1"


def test_get_stack_output_error_names_the_reading_field_and_the_output(
    project_assembly: CloudAssembly,
) -> None:
    bare = Resolver.for_assembly(
        project_assembly, fallback_account=LOCAL_ACCOUNT, fallback_region=LOCAL_REGION
    )
    with pytest.raises(UnresolvableField) as caught:
        bare.resolve(
            stack_output("Laravel-Local-Shared", "DbHost"), stack="Laravel-Local-Service", path="F"
        )
    assert str(caught.value) == (
        "Laravel-Local-Service F: Fn::GetStackOutput Laravel-Local-Shared.DbHost ←"
        " Laravel-Local-Shared Outputs.DbHost.Value:"
        ' cannot resolve {"Fn::GetAtt": ["AuroraCluster", "Endpoint.Address"]}'
        " (resource type AWS::RDS::DBCluster) — add a local override for"
        " Fn::GetAtt AuroraCluster.Endpoint.Address in stack Laravel-Local-Shared"
        " (fargate-parity.toml: [[environments.ENV.overrides]] get_att ="
        ' "Laravel-Local-Shared:AuroraCluster.Endpoint.Address", value = "…")'
    )


@pytest.mark.parametrize(
    ("argument", "complaint"),
    [
        (stack_output("Laravel-Local-Db", "DbHost"),
         "Fn::GetStackOutput reads stack 'Laravel-Local-Db', which is not in the assembly"
         " — synthesize the stack that holds it with the others"),
        (stack_output("Laravel-Local-Shared", "Nope"),
         "stack Laravel-Local-Shared has no output 'Nope'"),
        ({"Fn::GetStackOutput": {"StackName": "Laravel-Local-Shared"}},
         "Fn::GetStackOutput takes {StackName, OutputName[, Region]}"),
    ],
)  # fmt: skip
def test_get_stack_output_errors(
    local_resolver: Resolver, argument: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(UnresolvableField) as caught:
        local_resolver.resolve(argument, stack="Laravel-Local-Service", path="F")
    assert str(caught.value).startswith("Laravel-Local-Service F: ")
    assert complaint in str(caught.value)


def test_an_unknown_stack_lists_the_stacks(local_resolver: Resolver) -> None:
    with pytest.raises(UnresolvableField, match=r"'Web' is not in the assembly \(stacks: Lar"):
        local_resolver.resolve("x", stack="Web", path="F")


# -- images -------------------------------------------------------------------------------


def test_a_cdk_asset_image_resolves_to_its_local_image(
    project_assembly: CloudAssembly, local_resolver: Resolver
) -> None:
    resources = project_assembly.stack("Laravel-Local-Service").template["Resources"]
    image = resources["ServiceTask743484CE"]["Properties"]["ContainerDefinitions"][0]["Image"]
    local_image = local_resolver.resolve_image(image, stack="Laravel-Local-Service", path="Image")
    tag = image["Fn::Sub"].rsplit(":", 1)[1]
    assert local_image == project_assembly.image_assets[tag].local_image


def test_an_env_agnostic_asset_image_uses_the_fallback_account(
    agnostic_assembly: CloudAssembly,
) -> None:
    agnostic = Resolver.for_assembly(
        agnostic_assembly, fallback_account=LOCAL_ACCOUNT, fallback_region=LOCAL_REGION
    )
    task = agnostic_assembly.stack("Agnostic").template["Resources"]["Task79114B6B"]
    image = task["Properties"]["ContainerDefinitions"][0]["Image"]
    assert image["Fn::Sub"].startswith("${AWS::AccountId}.dkr.ecr.${AWS::Region}.")
    (asset,) = agnostic_assembly.image_assets.values()
    assert agnostic.resolve_image(image, stack="Agnostic", path="Image") == asset.local_image


def test_a_cdk_asset_image_missing_from_the_manifests_says_to_synth(
    local_resolver: Resolver,
) -> None:
    stale = {
        "Fn::Sub": "000000000000.dkr.ecr.us-east-1.${AWS::URLSuffix}"
        "/cdk-hnb659fds-container-assets-000000000000-us-east-1:deadbeef"
    }
    with pytest.raises(UnresolvableField, match=r"Image: image .*:deadbeef is a CDK asset.*synth"):
        local_resolver.resolve_image(stale, stack="Laravel-Local-Service", path="Image")


def test_a_registry_image_stays_as_written(local_resolver: Resolver) -> None:
    image = local_resolver.resolve_image("nginx:1.27", stack="Laravel-Local-Service", path="I")
    assert image == "nginx:1.27"


# -- overrides ----------------------------------------------------------------------------


def test_an_override_shows_the_expression_it_replaces() -> None:
    assert SECRET_OVERRIDE.kind is OverrideKind.REF
    assert SECRET_OVERRIDE.expression == '{"Ref": "DbSecret685A0FA5"}'
    assert ENDPOINT_OVERRIDE.expression == '{"Fn::GetAtt": ["AuroraCluster", "Endpoint.Address"]}'
    listener = LocalOverride.import_value(export_name="Alb", value="x", reason="r")
    assert listener.expression == '{"Fn::ImportValue": "Alb"}'
