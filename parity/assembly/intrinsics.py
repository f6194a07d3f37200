"""Resolve CloudFormation intrinsic functions in template values against a local context.

The local context is: each stack's account, region and partition; the template's own
parameters, conditions and mappings; the outputs other stacks export; and explicit, named
``LocalOverride`` values for what only exists once deployed (a resource's ``Ref`` or
attribute, an export of a stack outside the assembly). Nothing else is filled in: whatever
cannot be resolved raises ``UnresolvableField`` naming the field path and the override
that would fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from parity.assembly.cloud import CloudAssembly
from parity.errors import UnresolvableField

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# CDK's default synthesizer publishes image assets to "cdk-<qualifier>-container-assets-…".
_CDK_ASSET_REPOSITORY = re.compile(r"/cdk-[a-z0-9]+-container-assets-")
_SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<"
_URL_SUFFIXES = {"aws-cn": "amazonaws.com.cn"}


class _NoValue:
    """``Ref: AWS::NoValue``: the enclosing property or list item is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()


class OverrideKind(StrEnum):
    """Which template expression a local override replaces."""

    REF = "Ref"
    GET_ATT = "Fn::GetAtt"
    IMPORT_VALUE = "Fn::ImportValue"


@dataclass(frozen=True, kw_only=True)
class LocalOverride:
    """A named local value for an expression that only has a value once deployed.

    ``target`` is a logical id or parameter name (Ref), ``LogicalId.Attribute`` (GetAtt) or
    an export name (ImportValue). ``stack`` is the stack whose template holds the expression;
    an export override applies to every stack and has none.
    """

    kind: OverrideKind
    stack: str | None
    target: str
    value: Any
    reason: str

    @classmethod
    def ref(cls, *, stack: str, target: str, value: Any, reason: str) -> LocalOverride:
        return cls(kind=OverrideKind.REF, stack=stack, target=target, value=value, reason=reason)

    @classmethod
    def get_att(
        cls, *, stack: str, logical_id: str, attribute: str, value: Any, reason: str
    ) -> LocalOverride:
        return cls(
            kind=OverrideKind.GET_ATT,
            stack=stack,
            target=f"{logical_id}.{attribute}",
            value=value,
            reason=reason,
        )

    @classmethod
    def import_value(cls, *, export_name: str, value: Any, reason: str) -> LocalOverride:
        return cls(
            kind=OverrideKind.IMPORT_VALUE,
            stack=None,
            target=export_name,
            value=value,
            reason=reason,
        )

    @property
    def expression(self) -> str:
        """The template expression this override replaces, as CloudFormation JSON."""
        if self.kind is OverrideKind.GET_ATT:
            return _show({"Fn::GetAtt": self.target.split(".", 1)})
        return _show({str(self.kind): self.target})


@dataclass(frozen=True, kw_only=True)
class StackScope:
    """What ``Ref`` and ``${…}`` see inside one stack's template."""

    name: str
    template: Mapping[str, Any]
    account: str
    region: str
    partition: str = "aws"

    @property
    def url_suffix(self) -> str:
        return _URL_SUFFIXES.get(self.partition, "amazonaws.com")

    def pseudo_parameter(self, name: str) -> str | None:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackName": self.name,
        }.get(name)


def _no_local_images(_uri: str) -> str | None:
    return None


@dataclass(frozen=True, kw_only=True)
class Resolver:
    """Resolves template values of the stacks of one assembly."""

    scopes: Mapping[str, StackScope]
    overrides: Mapping[tuple[OverrideKind, str | None, str], LocalOverride] = field(
        default_factory=dict
    )
    # Maps a resolved registry image URI to the local image built from the same asset.
    local_image_for: Callable[[str], str | None] = _no_local_images

    @classmethod
    def create(
        cls,
        scopes: Iterable[StackScope],
        *,
        overrides: Iterable[LocalOverride] = (),
        local_image_for: Callable[[str], str | None] = _no_local_images,
    ) -> Resolver:
        return cls(
            scopes=MappingProxyType({scope.name: scope for scope in scopes}),
            overrides=MappingProxyType({(o.kind, o.stack, o.target): o for o in overrides}),
            local_image_for=local_image_for,
        )

    @classmethod
    def for_assembly(
        cls,
        assembly: CloudAssembly,
        *,
        fallback_account: str,
        fallback_region: str,
        overrides: Iterable[LocalOverride] = (),
    ) -> Resolver:
        """A resolver over every stack; env-agnostic stacks get the fallback account/region."""

        def local_image_for(uri: str) -> str | None:
            asset = assembly.asset_for_image_uri(uri)
            return None if asset is None else asset.local_image

        return cls.create(
            (
                StackScope(
                    name=stack.name,
                    template=stack.template,
                    account=stack.account or fallback_account,
                    region=stack.region or fallback_region,
                )
                for stack in assembly.stacks.values()
            ),
            overrides=overrides,
            local_image_for=local_image_for,
        )

    def resolve(self, value: Any, *, stack: str, path: str) -> Any:
        """``value`` with every intrinsic resolved; None if it is ``AWS::NoValue``.

        ``path`` names the field (e.g. ``ServiceTask.ContainerDefinitions[1].Image``) in errors.
        """
        resolved = _Evaluation(self, self.scope(stack)).value(value, path)
        return None if resolved is NO_VALUE else resolved

    def resolve_image(self, value: Any, *, stack: str, path: str) -> str:
        """Resolve a container ``Image``; a CDK image asset becomes its local image tag."""
        uri = self.resolve(value, stack=stack, path=path)
        if not isinstance(uri, str):
            raise _unresolvable(stack, path, f"an image must be a string, not {_show(uri)}")
        local_image = self.local_image_for(uri)
        if local_image is not None:
            return local_image
        if _CDK_ASSET_REPOSITORY.search(uri):
            raise _unresolvable(
                stack,
                path,
                f"image {uri} is a CDK asset that no asset manifest of the assembly builds",
                "run `invoke synth` again",
            )
        return uri

    def scope(self, stack: str) -> StackScope:
        try:
            return self.scopes[stack]
        except KeyError:
            present = ", ".join(sorted(self.scopes)) or "none"
            raise UnresolvableField(
                f"stack {stack!r} is not in the assembly (stacks: {present}); run `invoke synth`"
            ) from None

    def override(self, kind: OverrideKind, stack: str | None, target: str) -> LocalOverride | None:
        return self.overrides.get((kind, stack, target))

    def exporter(self, export_name: str) -> tuple[str, str] | None:
        """The (stack, output) that exports ``export_name``, if a stack of the assembly does."""
        for scope in self.scopes.values():
            for output, declaration in scope.template.get("Outputs", {}).items():
                export = declaration.get("Export")
                if export is None:
                    continue
                path = f"Outputs.{output}.Export.Name"
                if self.resolve(export["Name"], stack=scope.name, path=path) == export_name:
                    return scope.name, output
        return None


@dataclass(frozen=True)
class _Evaluation:
    """Resolution inside one stack. ``path`` always names the field being resolved: plain
    dicts and lists extend it, an intrinsic's arguments keep the field's path."""

    resolver: Resolver
    scope: StackScope

    @property
    def template(self) -> Mapping[str, Any]:
        return self.scope.template

    def value(self, value: Any, path: str) -> Any:
        if isinstance(value, list):
            items = (self.value(item, f"{path}[{index}]") for index, item in enumerate(value))
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                handler = _INTRINSICS.get(key)
                if handler is not None:
                    return handler(self, argument, path)
                if key.startswith("Fn::"):
                    raise self.error(path, f"{key} is not supported by the local runtime")
            entries = ((key, self.value(item, f"{path}.{key}")) for key, item in value.items())
            return {key: item for key, item in entries if item is not NO_VALUE}
        return value

    def operand(self, value: Any, path: str) -> Any:
        """Resolve an intrinsic's argument: its lists are not fields, so the path stays."""
        if isinstance(value, list):
            items = (self.operand(item, path) for item in value)
            return [item for item in items if item is not NO_VALUE]
        return self.value(value, path)

    def string(self, value: Any, what: str, path: str) -> str:
        resolved = self.operand(value, path)
        if isinstance(resolved, bool) or not isinstance(resolved, str | int | float):
            raise self.error(path, f"{what} must be a string, not {_show(resolved)}")
        return str(resolved)

    def error(self, path: str, problem: str, fix: str = "") -> UnresolvableField:
        return _unresolvable(self.scope.name, path, problem, fix)

    def overridden(
        self, expression: Any, kind: OverrideKind, target: str, what: str, path: str
    ) -> Any:
        """The local override for ``expression``, or an error saying which one to add."""
        override = self.resolver.override(kind, self.scope.name, target)
        if override is not None:
            return override.value
        key = "get_att" if kind is OverrideKind.GET_ATT else "ref"
        raise self.error(
            path,
            f"cannot resolve {_show(expression)} ({what})",
            f"add a local override for {kind} {target} in stack {self.scope.name}"
            f' (fargate-parity.toml: [[environments.ENV.overrides]] {key} = "{self.scope.name}:'
            f'{target}", value = "…")',
        )

    # -- references ---------------------------------------------------------------------

    def ref(self, name: Any, path: str) -> Any:
        if not isinstance(name, str):
            raise self.error(path, f"Ref takes a name, not {_show(name)}")
        if name == "AWS::NoValue":
            return NO_VALUE
        pseudo = self.scope.pseudo_parameter(name)
        if pseudo is not None:
            return pseudo
        override = self.resolver.override(OverrideKind.REF, self.scope.name, name)
        if override is not None:
            return override.value
        parameter = self.template.get("Parameters", {}).get(name)
        if parameter is not None:
            return self.parameter(name, parameter, path)
        resource = self.template.get("Resources", {}).get(name)
        if resource is not None:
            what = f"resource type {resource['Type']}"
            return self.overridden({"Ref": name}, OverrideKind.REF, name, what, path)
        if name.startswith("AWS::"):
            what = "no local value"
            return self.overridden({"Ref": name}, OverrideKind.REF, name, what, path)
        raise self.error(path, f"Ref {name!r} names no parameter or resource of the template")

    def parameter(self, name: str, parameter: Mapping[str, Any], path: str) -> Any:
        kind = parameter.get("Type", "String")
        # The default of an SSM-typed parameter is a parameter *name*, not its value.
        if "Default" not in parameter or kind.startswith(_SSM_PARAMETER_TYPE):
            what = f"a {kind} parameter"
            return self.overridden({"Ref": name}, OverrideKind.REF, name, what, path)
        default = parameter["Default"]
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [item.strip() for item in str(default).split(",")]
        return default

    def get_att(self, argument: Any, path: str) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            raise self.error(
                path, f"Fn::GetAtt takes [LogicalId, Attribute], not {_show(argument)}"
            )
        logical_id = self.string(argument[0], "Fn::GetAtt's logical id", path)
        attribute = self.string(argument[1], "Fn::GetAtt's attribute", path)
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            raise self.error(path, f"Fn::GetAtt names {logical_id!r}, no resource of the template")
        return self.overridden(
            {"Fn::GetAtt": [logical_id, attribute]},
            OverrideKind.GET_ATT,
            f"{logical_id}.{attribute}",
            f"resource type {resource['Type']}",
            path,
        )

    def import_value(self, argument: Any, path: str) -> Any:
        export_name = self.string(argument, "Fn::ImportValue's export name", path)
        override = self.resolver.override(OverrideKind.IMPORT_VALUE, None, export_name)
        if override is not None:
            return override.value
        exporter = self.resolver.exporter(export_name)
        if exporter is None:
            raise self.error(
                path,
                f"no stack of the assembly exports {export_name!r}",
                f"add a local override for Fn::ImportValue {export_name} (fargate-parity.toml:"
                f' [[environments.ENV.overrides]] import_value = "{export_name}", value = "…")',
            )
        stack, output = exporter
        value = self.resolver.scope(stack).template["Outputs"][output]["Value"]
        try:
            return self.resolver.resolve(value, stack=stack, path=f"Outputs.{output}.Value")
        except UnresolvableField as error:
            # Name the importing field first, then the exported output that failed.
            raise UnresolvableField(
                f"{self.scope.name} {path}: Fn::ImportValue {export_name!r} ← {error}"
            ) from None

    def get_stack_output(self, argument: Any, path: str) -> Any:
        """CDK's cross-stack reference (instead of an export): another stack's output."""
        if not isinstance(argument, dict) or not {"StackName", "OutputName"} <= set(argument):
            raise self.error(
                path,
                f"Fn::GetStackOutput takes {{StackName, OutputName[, Region]}}, not "
                f"{_show(argument)}",
            )
        stack = self.string(argument["StackName"], "Fn::GetStackOutput's StackName", path)
        output = self.string(argument["OutputName"], "Fn::GetStackOutput's OutputName", path)
        if stack not in self.resolver.scopes:
            raise self.error(
                path,
                f"Fn::GetStackOutput reads stack {stack!r}, which is not in the assembly",
                "synthesize the stack that holds it with the others",
            )
        outputs = self.resolver.scope(stack).template.get("Outputs", {})
        if output not in outputs:
            raise self.error(path, f"stack {stack} has no output {output!r}")
        try:
            return self.resolver.resolve(
                outputs[output]["Value"], stack=stack, path=f"Outputs.{output}.Value"
            )
        except UnresolvableField as error:
            # Name the reading field first, then the other stack's output that failed.
            raise UnresolvableField(
                f"{self.scope.name} {path}: Fn::GetStackOutput {stack}.{output} ← {error}"
            ) from None

    # -- string functions ---------------------------------------------------------------

    def join(self, argument: Any, path: str) -> str:
        if not isinstance(argument, list) or len(argument) != 2:
            raise self.error(path, f"Fn::Join takes [delimiter, [values]], not {_show(argument)}")
        delimiter = self.string(argument[0], "Fn::Join's delimiter", path)
        values = self.operand(argument[1], path)
        if not isinstance(values, list):
            raise self.error(path, f"Fn::Join needs a list of values, not {_show(values)}")
        return delimiter.join(self.string(item, "a Fn::Join value", path) for item in values)

    def sub(self, argument: Any, path: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif (
            isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[0], str)
            and isinstance(argument[1], dict)
        ):
            text = argument[0]
            variables = {
                name: self.string(value, f"Fn::Sub variable {name}", path)
                for name, value in argument[1].items()
            }
        else:
            raise self.error(
                path, f"Fn::Sub takes a string or [string, {{variables}}], not {_show(argument)}"
            )

        def substitute(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):  # ${!Literal} is the escape for a literal ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return variables[name]
            if "." in name:
                return self.string({"Fn::GetAtt": name.split(".", 1)}, f"${{{name}}}", path)
            return self.string({"Ref": name}, f"${{{name}}}", path)

        return _SUB_VARIABLE.sub(substitute, text)

    def select(self, argument: Any, path: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise self.error(path, f"Fn::Select takes [index, [values]], not {_show(argument)}")
        index = self.string(argument[0], "Fn::Select's index", path)
        values = self.operand(argument[1], path)
        if not isinstance(values, list):
            raise self.error(path, f"Fn::Select needs a list of values, not {_show(values)}")
        if not index.isdigit() or int(index) >= len(values):
            raise self.error(path, f"Fn::Select index {index} is outside a list of {len(values)}")
        return values[int(index)]

    def split(self, argument: Any, path: str) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise self.error(path, f"Fn::Split takes [delimiter, string], not {_show(argument)}")
        delimiter = self.string(argument[0], "Fn::Split's delimiter", path)
        return self.string(argument[1], "Fn::Split's source", path).split(delimiter)

    def find_in_map(self, argument: Any, path: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise self.error(path, f"Fn::FindInMap takes [map, key, key], not {_show(argument)}")
        keys = [self.string(item, "a Fn::FindInMap key", path) for item in argument]
        found: Any = self.template.get("Mappings", {})
        for key in keys:
            if not isinstance(found, dict) or key not in found:
                raise self.error(path, f"Fn::FindInMap {_show(keys)} is not in the Mappings")
            found = found[key]
        return self.operand(found, path)

    # -- conditions ---------------------------------------------------------------------

    def if_(self, argument: Any, path: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise self.error(path, f"Fn::If takes [condition, then, else], not {_show(argument)}")
        chosen = argument[1] if self.named_condition(argument[0], path) else argument[2]
        return self.operand(chosen, path)

    def named_condition(self, name: Any, path: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if not isinstance(name, str) or name not in conditions:
            raise self.error(path, f"condition {_show(name)} is not in the template's Conditions")
        return self.condition(conditions[name], path)

    def condition(self, expression: Any, path: str) -> bool:
        """Evaluate Fn::Equals/Not/And/Or over values that resolve locally."""
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Condition":
                return self.named_condition(argument, path)
            if key == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                return bool(self.operand(argument[0], path) == self.operand(argument[1], path))
            if key == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not self.condition(argument[0], path)
            if key == "Fn::And" and isinstance(argument, list):
                return all(self.condition(item, path) for item in argument)
            if key == "Fn::Or" and isinstance(argument, list):
                return any(self.condition(item, path) for item in argument)
        raise self.error(
            path, f"condition {_show(expression)} is not one the local runtime evaluates"
        )


_INTRINSICS: Mapping[str, Callable[[_Evaluation, Any, str], Any]] = {
    "Ref": _Evaluation.ref,
    "Fn::GetAtt": _Evaluation.get_att,
    "Fn::ImportValue": _Evaluation.import_value,
    "Fn::GetStackOutput": _Evaluation.get_stack_output,
    "Fn::Join": _Evaluation.join,
    "Fn::Sub": _Evaluation.sub,
    "Fn::Select": _Evaluation.select,
    "Fn::Split": _Evaluation.split,
    "Fn::FindInMap": _Evaluation.find_in_map,
    "Fn::If": _Evaluation.if_,
}


def _unresolvable(stack: str, path: str, problem: str, fix: str = "") -> UnresolvableField:
    return UnresolvableField(f"{stack} {path}: {problem}" + (f" — {fix}" if fix else ""))


def _show(value: Any) -> str:
    """A template value as compact JSON, the way it reads in the template."""
    return json.dumps(value, default=repr)
