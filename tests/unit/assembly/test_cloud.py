from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from parity.assembly.cloud import LOCAL_IMAGE_REPOSITORY, CloudAssembly, load_assembly
from parity.errors import ConfigError

from ..conftest import FIXTURES


def image_tag(assembly: CloudAssembly, stack: str, container_index: int) -> str:
    """The asset hash at the end of a container's Fn::Sub image URI in the template."""
    resources = assembly.stack(stack).template["Resources"]
    task = next(r for r in resources.values() if r["Type"] == "AWS::ECS::TaskDefinition")
    uri: str = task["Properties"]["ContainerDefinitions"][container_index]["Image"]["Fn::Sub"]
    return uri.rsplit(":", 1)[1]


def copy_assembly(tmp_path: Path, name: str = "assembly") -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def edit_json(path: Path, edit: object) -> None:
    document = json.loads(path.read_text())
    assert callable(edit)
    edit(document)
    path.write_text(json.dumps(document))


def test_stacks_are_found_by_name_with_their_environment(project_assembly: CloudAssembly) -> None:
    assert set(project_assembly.stacks) == {
        "Laravel-Local-Shared",
        "Laravel-Local-Migration",
        "Laravel-Local-Service",
    }
    service = project_assembly.stack("Laravel-Local-Service")
    assert (service.account, service.region) == ("000000000000", "us-east-1")
    assert service.template_file == FIXTURES / "assembly" / "Laravel-Local-Service.template.json"
    assert "ServiceTask743484CE" in service.template["Resources"]


def test_an_environment_agnostic_stack_has_no_account_or_region(
    agnostic_assembly: CloudAssembly,
) -> None:
    stack = agnostic_assembly.stack("Agnostic")
    assert (stack.account, stack.region) == (None, None)


def test_a_missing_stack_names_the_stacks_that_exist(project_assembly: CloudAssembly) -> None:
    with pytest.raises(ConfigError) as caught:
        project_assembly.stack("Laravel-Local-Web")
    message = str(caught.value)
    assert "'Laravel-Local-Web'" in message
    assert "Laravel-Local-Migration, Laravel-Local-Service, Laravel-Local-Shared" in message
    assert "\n" not in message


def test_a_missing_assembly_says_to_synth(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no cloud assembly at .*run `invoke synth`"):
        load_assembly(tmp_path / "cdk.out")


def test_a_missing_template_says_to_synth(tmp_path: Path) -> None:
    directory = copy_assembly(tmp_path)
    (directory / "Laravel-Local-Service.template.json").unlink()
    with pytest.raises(ConfigError, match=r"Laravel-Local-Service.template.json is missing"):
        load_assembly(directory)


def test_a_corrupt_manifest_names_the_file(tmp_path: Path) -> None:
    directory = copy_assembly(tmp_path)
    (directory / "manifest.json").write_text("{")
    with pytest.raises(ConfigError, match=r"manifest.json is not valid JSON"):
        load_assembly(directory)


def test_a_stack_name_other_than_the_artifact_id_is_used(tmp_path: Path) -> None:
    directory = copy_assembly(tmp_path)

    def rename(manifest: dict[str, dict[str, dict[str, dict[str, str]]]]) -> None:
        manifest["artifacts"]["Laravel-Local-Service"]["properties"]["stackName"] = "Web"

    edit_json(directory / "manifest.json", rename)
    assembly = load_assembly(directory)
    assert assembly.stack("Web").artifact_id == "Laravel-Local-Service"


def test_image_assets_carry_the_build_cdk_would_run(project_assembly: CloudAssembly) -> None:
    laravel_hash = image_tag(project_assembly, "Laravel-Local-Service", 0)
    laravel = project_assembly.stack("Laravel-Local-Service").image_assets[laravel_hash]
    assert laravel.asset_hash == laravel_hash
    assert laravel.directory == FIXTURES / "assembly" / f"asset.{laravel_hash}"
    assert (laravel.directory / laravel.dockerfile).is_file()
    assert laravel.dockerfile == "Dockerfile-laravel"
    assert laravel.build_target == "app"
    assert dict(laravel.build_args) == {"PHP_VERSION": "8.2"}
    assert laravel.platform is None
    assert laravel.display_name == "ServiceTask/laravel/AssetImage"
    assert laravel.local_image == f"{LOCAL_IMAGE_REPOSITORY}:{laravel_hash}"
    (destination,) = laravel.destinations
    assert destination.repository_name == "cdk-hnb659fds-container-assets-000000000000-us-east-1"
    assert destination.image_tag == laravel_hash


def test_an_asset_without_target_or_args_gets_dockers_defaults(
    project_assembly: CloudAssembly,
) -> None:
    nginx = project_assembly.image_assets[image_tag(project_assembly, "Laravel-Local-Service", 1)]
    assert nginx.dockerfile == "Dockerfile-nginx"
    assert nginx.build_target is None
    assert dict(nginx.build_args) == {}


def test_stacks_sharing_an_image_share_one_asset(project_assembly: CloudAssembly) -> None:
    migrate_hash = image_tag(project_assembly, "Laravel-Local-Migration", 0)
    assert migrate_hash == image_tag(project_assembly, "Laravel-Local-Service", 0)
    assert len(project_assembly.image_assets) == 2
    assert project_assembly.stack("Laravel-Local-Shared").image_assets == {}


def test_an_asset_built_by_a_command_is_refused(tmp_path: Path) -> None:
    directory = copy_assembly(tmp_path)

    def make_executable(assets: dict[str, dict[str, dict[str, object]]]) -> None:
        for entry in assets["dockerImages"].values():
            entry["source"] = {"executable": ["sh", "-c", "build.sh"]}

    edit_json(directory / "Laravel-Local-Migration.assets.json", make_executable)
    with pytest.raises(ConfigError, match=r"built by a command.*ContainerImage.fromAsset"):
        load_assembly(directory)


def test_an_ecr_image_uri_maps_back_to_its_asset(project_assembly: CloudAssembly) -> None:
    laravel_hash = image_tag(project_assembly, "Laravel-Local-Service", 0)
    uri = (
        "000000000000.dkr.ecr.us-east-1.amazonaws.com/"
        f"cdk-hnb659fds-container-assets-000000000000-us-east-1:{laravel_hash}"
    )
    asset = project_assembly.asset_for_image_uri(uri)
    assert asset is not None
    assert asset.asset_hash == laravel_hash


@pytest.mark.parametrize(
    "uri",
    [
        "000000000000.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-000000000000-us-east-1:0000",
        "000000000000.dkr.ecr.us-east-1.amazonaws.com/laravel:{tag}",
        "public.ecr.aws/nginx/nginx:1.27",
        "nginx:1.27",
    ],
    ids=["unknown tag", "other repository", "public registry", "docker hub"],
)
def test_other_images_map_to_no_asset(project_assembly: CloudAssembly, uri: str) -> None:
    tag = image_tag(project_assembly, "Laravel-Local-Service", 0)
    assert project_assembly.asset_for_image_uri(uri.format(tag=tag)) is None


def test_an_env_agnostic_asset_matches_the_account_and_region_of_the_uri(
    agnostic_assembly: CloudAssembly,
) -> None:
    (asset,) = agnostic_assembly.image_assets.values()
    (destination,) = asset.destinations
    assert destination.repository_name == (
        "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}"
    )
    uri = (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
        f"cdk-hnb659fds-container-assets-123456789012-eu-west-1:{asset.asset_hash}"
    )
    assert agnostic_assembly.asset_for_image_uri(uri) == asset
