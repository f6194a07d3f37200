"""The Laravel app's CDK infrastructure: environment config, app spec, constructs and stacks."""
