#!/bin/sh
# Install what the test suite exercises but neither PostgreSQL nor pip ships:
# - HypoPG (hypothetical indexes, for `pgkeel advise indexes`): postgresql-NN-hypopg
#   for every PostgreSQL major under /usr/lib/postgresql;
# - Graphviz (`dot`, for the SVG ER diagrams of `pgkeel docs`);
# - Chromium (the headless browser that renders `pgkeel check --format html`).
# Only as root on Debian/Ubuntu, from the OS's packages; anywhere else it does
# nothing, and the tests that need them skip, saying why. Idempotent: packages
# already installed are not asked for again. A failed install (no network) is
# reported, not fatal. Chromium and Graphviz with their dependencies take about
# 1-2 minutes of apt-get on a CI runner, once.
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
for package in graphviz chromium; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -n "$missing" ] || exit 0
echo "install_test_extensions: installing$missing" >&2
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends$missing \
        >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends$missing \
        >/dev/null 2>&1 ||
        echo "install_test_extensions: could not install$missing; the tests that need" \
             "them (HypoPG, Graphviz dot, Chromium) will skip" >&2
fi
exit 0
