#!/usr/bin/env bash
# Installs the accounting tools that Tally's journal tests compare with: hledger, ledger-cli and
# beancount (bean-check, and bean-query from beanquery), used by crates/formats/tests/journal.rs
# and crates/cli/tests/journal.rs. Without them those comparisons print "skipped: ..." and pass,
# so CI (.ci/run) runs this first. Idempotent and quiet: when every tool is already installed it
# does nothing; otherwise it needs Debian or Ubuntu and root (apt-get), and pip.
set -euo pipefail

tools=(hledger ledger bean-check bean-query)
missing=()
for tool in "${tools[@]}"; do
    if ! "$tool" --version >/dev/null 2>&1; then
        missing+=("$tool")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
echo "install-tools.sh: installing ${missing[*]}" >&2

if [ "$(id -u)" -ne 0 ]; then
    echo "install-tools.sh: run as root (it uses apt-get)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
if ! hledger --version >/dev/null 2>&1 || ! ledger --version >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq hledger ledger python3-pip >/dev/null
fi
if ! bean-check --version >/dev/null 2>&1 || ! bean-query --version >/dev/null 2>&1; then
    if ! command -v pip >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq python3-pip >/dev/null
    fi
    # Debian's own python refuses a system-wide pip install unless told (PEP 668); a python
    # managed elsewhere (pyenv) ignores the flag's absence.
    if ! pip install -q beancount beanquery 2>/dev/null; then
        pip install -q --break-system-packages beancount beanquery
    fi
fi

for tool in "${tools[@]}"; do
    if ! "$tool" --version >/dev/null 2>&1; then
        echo "install-tools.sh: $tool is still missing after the install" >&2
        exit 1
    fi
done
