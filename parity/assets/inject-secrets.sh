#!/bin/sh
# Entry wrapper for containers with ECS secrets. The harness writes NAME=BASE64 lines to
# stdin, so secret values reach the process environment without ever being stored in the
# container's config on disk (as `docker run -e` would). Then the real command runs.
set -e
while IFS= read -r line; do
    [ -n "$line" ] || break
    export "${line%%=*}=$(printf '%s' "${line#*=}" | base64 -d)"
done
exec "$@"
