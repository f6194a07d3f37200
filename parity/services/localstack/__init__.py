"""LocalStack as the AWS emulator: a container where its image can be had, else on the host.

Container mode runs ``localstack/localstack:4.14.0`` (the last free image), or ``latest``
when ``LOCALSTACK_AUTH_TOKEN`` is set, published on ``127.0.0.1`` only and labelled like
every container the harness starts.

Host mode (no Docker engine, or no registry to pull the image from) runs localstack-core
4.8.1, the last release that runs on Python 3.11, in a virtualenv of its own under the
user cache: its pins clash with the project's. The install runs once (minutes, ~500 MB);
a stamp written only after it succeeded marks it done, so an interrupted install is redone
and a finished one never is. Every start gets a fresh state directory, and a LocalStack
left running by a killed harness is stopped before a new one starts.

Both modes are ready when ``/_localstack/health`` reports Secrets Manager and SSM usable.
"""
