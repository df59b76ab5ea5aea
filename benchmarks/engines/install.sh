#!/usr/bin/env bash
# Installs the peer pinyin->hanzi engines that Debian packages (libime of fcitx5, SunPinyin,
# libpinyin, RIME with luna_pinyin, Google Pinyin) with their data, installs Pinyin2Hanzi
# into the project venv, and builds the harnesses into benchmarks/engines/build/.
#
#   bash benchmarks/engines/install.sh [--no-apt] [--no-pip] [--no-build]
#
# Idempotent: packages already installed are not reinstalled, apt-get update runs only when
# something is missing, and make rebuilds only what changed. Works as root, or through sudo
# when that is available. A package the archive does not have is reported by name and makes
# the script exit 3 at the end (everything else still gets installed and built); a harness
# that fails to build makes it exit 4.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV_PY="${PINHAN_VENV_PY:-$REPO/.venv/bin/python}"

do_apt=1 do_pip=1 do_build=1
for arg in "$@"; do
    case "$arg" in
        --no-apt) do_apt=0 ;;
        --no-pip) do_pip=0 ;;
        --no-build) do_build=0 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

# Debian (bookworm) package names, one engine per line.
PKGS_LIBIME=(libimepinyin-dev libimecore-dev libime-data libime-data-language-model libfcitx5utils-dev libboost-dev)
PKGS_SUNPINYIN=(libsunpinyin-dev sunpinyin-data)
PKGS_LIBPINYIN=(libpinyin15-dev libpinyin-data)
PKGS_RIME=(librime-dev librime1 rime-data-luna-pinyin rime-data-stroke rime-essay rime-prelude)
PKGS_GOOGLEPINYIN=(libgooglepinyin0-dev libgooglepinyin0)
PKGS_TOOLS=(g++ make pkg-config)
PKGS=("${PKGS_LIBIME[@]}" "${PKGS_SUNPINYIN[@]}" "${PKGS_LIBPINYIN[@]}" "${PKGS_RIME[@]}"
      "${PKGS_GOOGLEPINYIN[@]}" "${PKGS_TOOLS[@]}")
PIP_PKG="Pinyin2Hanzi==0.1.1"

status=0
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else SUDO=(); fi
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ "$do_apt" = 1 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install.sh: apt-get not found: this script needs Debian/Ubuntu (skipping packages)" >&2
        status=3
    else
        missing=()
        for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
        if [ "${#missing[@]}" -eq 0 ]; then
            echo "install.sh: all ${#PKGS[@]} Debian packages already installed"
        else
            if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
                echo "install.sh: not root and no sudo: cannot install ${missing[*]}" >&2
                exit 1
            fi
            echo "install.sh: apt-get update (missing: ${missing[*]})"
            "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
            available=() absent=()
            for p in "${missing[@]}"; do
                cand="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
                if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then available+=("$p"); else absent+=("$p"); fi
            done
            if [ "${#absent[@]}" -gt 0 ]; then
                echo "install.sh: ERROR: not in the configured apt archives: ${absent[*]}" >&2
                status=3
            fi
            if [ "${#available[@]}" -gt 0 ]; then
                "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${available[@]}"
            fi
        fi
    fi
fi

if [ "$do_pip" = 1 ]; then
    if [ ! -x "$VENV_PY" ]; then
        echo "install.sh: ERROR: no project venv at $VENV_PY (run scripts/setup or set PINHAN_VENV_PY)" >&2
        status=3
    elif "$VENV_PY" -c "import Pinyin2Hanzi" 2>/dev/null; then
        echo "install.sh: Pinyin2Hanzi already installed in $VENV_PY"
    else
        "$VENV_PY" -m pip install -q "$PIP_PKG"
    fi
fi

if [ "$do_build" = 1 ]; then
    make -C "$HERE" -k all || true
    for e in libime sunpinyin libpinyin rime googlepinyin; do
        if [ -x "$HERE/build/${e}_harness" ]; then
            echo "install.sh: built   build/${e}_harness"
        else
            echo "install.sh: ERROR: build/${e}_harness was not built (see the make output above)" >&2
            [ "$status" = 0 ] && status=4
        fi
    done
fi

if [ "$status" = 0 ]; then
    echo "install.sh: done; run: $VENV_PY -m benchmarks.engines.peers --limit 50"
fi
exit "$status"
