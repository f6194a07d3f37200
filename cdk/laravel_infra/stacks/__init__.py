"""The three stacks per environment: Migration, Service and CiAccess."""
