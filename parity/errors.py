"""The harness's error hierarchy.

Every error carries a one-line message that names the problem and the fix. The invoke
task boundary catches ``HarnessError`` once and turns it into ``invoke.Exit``.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: ``str(error)`` is the single line shown to the user."""


class EngineUnavailable(HarnessError):
    """No Docker engine answers and none can be started here."""


class ImageBuildFailed(HarnessError):
    """A ``docker build`` step failed; ``output`` holds the failing step's log."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class PortInUse(HarnessError):
    """A port the harness wants to publish on loopback is taken."""


class NotReady(HarnessError):
    """A backing service or container did not become ready in time."""


class ConfigError(HarnessError):
    """Invalid input: an unknown environment, a bad field, a missing file."""
