"""The stacks per environment: Migration, Service, Worker, Scheduler and CiAccess."""
