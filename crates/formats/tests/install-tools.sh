#!/usr/bin/env bash
# Installs the accounting tools that crates/formats/tests/journal.rs compares Tally's journal
# reader and writers with: hledger, ledger-cli and beancount (bean-check, and bean-query from
# beanquery). On Debian or Ubuntu, as root. Without them those tests print "skipped: ..." and
# pass, so CI must run this first to really compare.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-tools.sh: run as root (it uses apt-get)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y hledger ledger python3-pip
# Debian's own python refuses a system-wide pip install unless told (PEP 668); a python
# managed elsewhere (pyenv) ignores the flag's absence.
if ! pip install beancount beanquery 2>/dev/null; then
    pip install --break-system-packages beancount beanquery
fi

hledger --version
ledger --version | head -n 1
bean-check --version
bean-query --version
