#!/usr/bin/env bash
# Installs what scdns needs on Debian/Ubuntu, and only what is missing.
#
#   scripts/install-deps.sh build   libldns-dev (pkg-config module `ldns`, for the CLDNS target), pkg-config, and dig
#                                   (README's first steps query `make serve` with it)
#   scripts/install-deps.sh test    build, plus the test tools and the real peers used by tests and bench/:
#                                   dig, kdig, ldns-read-zone, knot (knotd, kzonecheck), nsd, unbound,
#                                   etcd and etcdctl (the etcd registry tests), ip (iproute2: make e2e's namespaces),
#                                   chromium (headless: the admin status page in a real browser),
#                                   and from PyPI kubernetes-validate
#                                   (deploy/kubernetes/ checked offline against the Kubernetes API schemas)
#   scripts/install-deps.sh bench   build, plus what `make bench` runs: dnsperf, knot, nsd, unbound, dnsdist, dig,
#                                   valgrind
#
# Root installs with apt-get; otherwise `sudo -n` is used when it works without a password, else the script
# fails naming the exact packages and the command to run. PyPI tools go into a virtual environment of the project's
# own, .build-tools/venv (ignored by git as every .build-*), so neither a system python3 (PEP 668) nor the user's
# packages are touched; the tests look for them there. The daemons (knot, nsd, unbound, etcd) are only run by
# hand by tests on unprivileged ports: a policy-rc.d keeps Debian from starting them as services on port 53.
set -euo pipefail

usage() {
    echo "usage: $0 build|test|bench" >&2
    exit 2
}

[[ $# -eq 1 ]] || usage
set_name=$1

# Each entry: DEBIAN-PACKAGE CHECK, where CHECK is `cmd:NAME` (a command on PATH or in an sbin directory)
# or `pc:NAME` (a pkg-config module). A package counts as present when dpkg has it installed, or, on a
# machine without dpkg records for it, when its check passes.
build_deps=(
    "pkg-config cmd:pkg-config"
    "libldns-dev pc:ldns"
    "bind9-dnsutils cmd:dig"
)
test_deps=(
    "bind9-dnsutils cmd:dig"
    "knot-dnsutils cmd:kdig"
    "ldnsutils cmd:ldns-read-zone"
    "knot cmd:knotd"
    "nsd cmd:nsd"
    "unbound cmd:unbound"
    "etcd-server cmd:etcd"
    "etcd-client cmd:etcdctl"
    "python3-venv py:ensurepip"
    "iproute2 cmd:ip"
    "chromium cmd:chromium"
)
bench_deps=(
    "bind9-dnsutils cmd:dig"
    "dnsperf cmd:dnsperf"
    "knot cmd:knotd"
    "nsd cmd:nsd"
    "unbound cmd:unbound"
    "valgrind cmd:valgrind"
    "dnsdist cmd:dnsdist"
)
# PyPI packages for `test`, each installed into the tools venv and named as its command.
test_pypi=(kubernetes-validate)
tools_venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.build-tools/venv"
# The packages whose daemons must not run as system services, as PACKAGE:SERVICE.
daemon_packages=(knot:knot nsd:nsd unbound:unbound etcd-server:etcd dnsdist:dnsdist)

case $set_name in
build) wanted=("${build_deps[@]}") ;;
test) wanted=("${build_deps[@]}" "${test_deps[@]}") ;;
bench) wanted=("${build_deps[@]}" "${bench_deps[@]}") ;;
*) usage ;;
esac

log() { echo "install-deps: $*"; }

dpkg_installed() {
    command -v dpkg-query >/dev/null 2>&1 &&
        [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

check_passes() {
    local check=$1
    case $check in
    cmd:*)
        PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v "${check#cmd:}" >/dev/null 2>&1
        ;;
    pc:*)
        command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${check#pc:}"
        ;;
    py:*)
        command -v python3 >/dev/null 2>&1 && python3 -c "import ${check#py:}" >/dev/null 2>&1
        ;;
    *) return 1 ;;
    esac
}

missing=()
for entry in "${wanted[@]}"; do
    read -r pkg check <<<"$entry"
    if dpkg_installed "$pkg" || check_passes "$check"; then
        continue
    fi
    missing+=("$pkg")
done

# The PyPI tools of `test`, into the tools venv (made on first use), after the Debian packages (python3-venv).
install_pypi() {
    [[ $set_name == test ]] || return 0
    local wanted_tools=() tool
    for tool in "${test_pypi[@]}"; do
        [[ -x $tools_venv/bin/$tool ]] || wanted_tools+=("$tool")
    done
    [[ ${#wanted_tools[@]} -gt 0 ]] || return 0
    local pip_log
    pip_log=$(mktemp -t scdns-install-deps-pip.XXXXXX)
    if [[ ! -x $tools_venv/bin/pip ]]; then
        rm -rf "$tools_venv"
        if ! python3 -m venv "$tools_venv" >"$pip_log" 2>&1; then
            echo "install-deps: failed: python3 -m venv $tools_venv" >&2
            tail -n 20 "$pip_log" >&2
            rm -f "$pip_log"
            exit 1
        fi
    fi
    if ! "$tools_venv/bin/pip" install --quiet --disable-pip-version-check "${wanted_tools[@]}" >"$pip_log" 2>&1; then
        echo "install-deps: failed: $tools_venv/bin/pip install ${wanted_tools[*]}" >&2
        tail -n 30 "$pip_log" >&2
        rm -f "$pip_log"
        exit 1
    fi
    rm -f "$pip_log"
    log "installed from PyPI into $tools_venv: ${wanted_tools[*]}"
}

if [[ ${#missing[@]} -eq 0 ]]; then
    install_pypi
    log "$set_name dependencies present"
    exit 0
fi

apt_command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"

fail_manual() {
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: $1; install them as root with:" >&2
    echo "    $apt_command" >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    fail_manual "apt-get not found (not a Debian-like system)"
fi

as_root=()
if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        fail_manual "not running as root and passwordless sudo is not available"
    fi
fi

# Debian starts a daemon's service when its package is installed; knot, nsd and unbound would all take
# port 53. Exit code 101 of policy-rc.d means "action forbidden" to invoke-rc.d. An existing file is kept.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod +x "$policy"
    log "wrote $policy (no service starts on package install)"
fi

apt_log=$(mktemp -t scdns-install-deps.XXXXXX)
trap 'rm -f "$apt_log"' EXIT

run_quietly() {
    if ! "$@" >"$apt_log" 2>&1; then
        echo "install-deps: failed: $*" >&2
        tail -n 30 "$apt_log" >&2
        exit 1
    fi
}

run_quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
run_quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
log "installed ${missing[*]}"

# With systemd running, policy-rc.d stops the start but not the enabling for the next boot: disable the
# services of the daemons installed just now. Without a usable systemctl (containers), there is nothing
# to do; services installed earlier by someone else are left alone.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    for pkg in "${missing[@]}"; do
        for daemon in "${daemon_packages[@]}"; do
            if [[ $pkg == "${daemon%%:*}" ]]; then
                "${as_root[@]}" systemctl disable --now "${daemon#*:}.service" >/dev/null 2>&1 || true
            fi
        done
    done
fi

install_pypi
