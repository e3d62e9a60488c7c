#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the real servers the tests use:
# MariaDB and PostgreSQL make the SQL dumps the readers are tested against,
# Chromium renders report.html, poppler renders PDFs. Idempotent; needs root
# and apt-get, as on CI. Where they are missing the "services" tests fail loudly.
set -euo pipefail

need=()
command -v mariadb-dump >/dev/null 2>&1 || need+=(mariadb-server mariadb-client)
command -v pg_dump >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services.sh: need ${need[*]} but cannot install them (not root, or no apt-get)." >&2
    echo "Install them with your package manager, or run 'make test-fast' for the tests that need none." >&2
    exit 1
  fi
  echo "services.sh: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# MariaDB: root over the unix socket.
if ! mariadb -uroot -e 'select 1' >/dev/null 2>&1; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  (service mariadb start || service mysql start) >/dev/null 2>&1 || \
    (nohup mysqld_safe >/dev/null 2>&1 &)
  for _ in $(seq 1 60); do mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
fi
mariadb -uroot -e 'select 1' >/dev/null
echo "services.sh: MariaDB $(mariadb -uroot -N -e 'select version()') is up"

# PostgreSQL: the packaged cluster, reached as the postgres user.
if ! runuser -u postgres -- psql -qAtc 'select 1' >/dev/null 2>&1; then
  ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_lsclusters 2>/dev/null | grep -q "^$ver *main" || pg_createcluster "$ver" main >/dev/null
  pg_ctlcluster "$ver" main start || service postgresql start
  for _ in $(seq 1 60); do runuser -u postgres -- psql -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 1; done
fi
echo "services.sh: PostgreSQL $(runuser -u postgres -- psql -qAtc 'show server_version') is up"
echo "services.sh: $(chromium --version 2>/dev/null || echo 'chromium missing')"

# The prevention wing's tests run every registry and service test on PostgreSQL too: a
# password login on loopback, as production would use (the URL is in tests/conftest.py).
runuser -u postgres -- psql -qAtc "select 1 from pg_roles where rolname='privguard'" | grep -q 1 || \
  runuser -u postgres -- psql -qc "create role privguard login superuser password 'privguard'"
echo "services.sh: PostgreSQL role privguard ready on 127.0.0.1"

# The portal's browser tests inject axe-core (pinned in package.json) into each page: from
# npm into the gitignored node_modules/, never committed. They drive Debian's Chromium above.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$root/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    else
      echo "services.sh: npm is missing; install it for the portal's accessibility tests" >&2; exit 1
    fi
  fi
  (cd "$root" && npm install --no-save --no-audit --no-fund --silent)
fi
echo "services.sh: axe-core $(node -p "require('$root/node_modules/axe-core/package.json').version" 2>/dev/null || echo missing)"

# The phone stack (Kamailio, rtpengine, baresip) for tests/test_phone_stack.py.
bash "$root/scripts/phone.sh"
