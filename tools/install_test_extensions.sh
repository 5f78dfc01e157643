#!/bin/sh
# Install the PostgreSQL extensions the test suite exercises but PostgreSQL does not
# ship: HypoPG (hypothetical indexes, for `pgkeel advise indexes`). Only as root on
# Debian/Ubuntu, from the OS's packages (postgresql-NN-hypopg for every PostgreSQL
# major under /usr/lib/postgresql); anywhere else it does nothing, and the tests that
# need HypoPG skip, saying why. A failed install (no network) is reported, not fatal.
set -u
[ "$(id -u)" = 0 ] || exit 0
[ -f /etc/debian_version ] || exit 0
command -v apt-get >/dev/null 2>&1 || exit 0
missing=""
for bindir in /usr/lib/postgresql/*/bin; do
    [ -d "$bindir" ] || continue
    major=$(basename "$(dirname "$bindir")")
    package="postgresql-$major-hypopg"
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -n "$missing" ] || exit 0
echo "install_test_extensions: installing$missing" >&2
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q$missing >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q$missing >/dev/null 2>&1 ||
        echo "install_test_extensions: could not install$missing; HypoPG tests will skip" >&2
fi
exit 0
