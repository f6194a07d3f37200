"""The CDK app: every environment by default, or one with `cdk synth -c env=NAME`.

This is the only module that reads CDK context; everything else gets typed config.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App
from laravel_infra.application import define_application
from laravel_infra.config import ConfigError, load_environments

CDK_DIR = Path(__file__).resolve().parent
ENVIRONMENTS_DIR = CDK_DIR / "environments"
RESOURCES_DIR = CDK_DIR.parent / "resources"


def main() -> None:
    app = App()
    only = app.node.try_get_context("env")
    try:
        configs = load_environments(ENVIRONMENTS_DIR, only=only)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    define_application(app, configs=configs, resources_dir=RESOURCES_DIR)
    app.synth()


if __name__ == "__main__":
    main()
