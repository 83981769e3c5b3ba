#!/usr/bin/env bash
# Install Microsoft's SARIF Multitool into .ci/.tools/ so tests/test_ci_formats.py can validate SARIF.
# The npm package ships a self-contained .NET binary (no dotnet needed). Idempotent: a no-op when the
# pinned version is already there. Usage: bash .ci/install-sarif-multitool.sh
set -euo pipefail

version="${SARIF_MULTITOOL_VERSION:-5.7.0}"
prefix="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.tools"
bin="$prefix/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1

installed() {
    # The tool prints its version on stderr: "SARIF Multitool 5.7.0+<commit>".
    [ -x "$bin" ] && "$bin" --version 2>&1 | grep -q "^SARIF Multitool ${version//./\\.}\b"
}

if installed; then
    echo "sarif-multitool $version already in $bin"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install-sarif-multitool: npm not found; install Node.js/npm or set CERTPIPE_SARIF_MULTITOOL." >&2
    exit 1
fi
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error \
    "@microsoft/sarif-multitool-linux@$version"
# The package's postinstall only sets the execute bit; npm may be configured not to run scripts.
chmod u+x "$bin"
if ! installed; then
    echo "install-sarif-multitool: $bin does not report version $version." >&2
    exit 1
fi
echo "sarif-multitool $version installed in $bin"
