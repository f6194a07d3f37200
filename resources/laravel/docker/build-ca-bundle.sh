#!/bin/sh
# Build-time CA handling (assets stage). See ../../certs/README.md.
#
# This script is COPY'd together with the optional certs/ directory of the
# build context into /usr/local/share/extra-ca/. It writes:
#   /usr/local/share/extra-ca/extra.pem   the extra CAs only (possibly empty)
#   /etc/ssl/certs/build-ca-bundle.pem     system CAs + extra CAs (never empty)
# The Dockerfile points node/npm (NODE_EXTRA_CA_CERTS, npm_config_cafile) at
# the combined bundle, so an empty certs/ changes nothing.
set -eu

dir=$(dirname "$0")
extra="$dir/extra.pem"
bundle=/etc/ssl/certs/build-ca-bundle.pem

: > "$extra"
n=0
for f in "$dir"/*.crt "$dir"/*.pem; do
    [ -f "$f" ] || continue
    [ "$f" = "$extra" ] && continue
    # Append with a trailing newline so files without one don't merge lines.
    cat "$f" >> "$extra"
    echo >> "$extra"
    n=$((n + 1))
done

if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cat /etc/ssl/certs/ca-certificates.crt "$extra" > "$bundle"
else
    cat "$extra" > "$bundle"
fi

echo "build-ca-bundle: $n extra CA file(s) added to $bundle"
