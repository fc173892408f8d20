#!/bin/sh
# Installs what the dashboard's browser test drives (crates/cli/tests/dashboard.rs): Debian's
# Chromium and its chromedriver. Does nothing when both are present; quiet otherwise.
set -eu
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
