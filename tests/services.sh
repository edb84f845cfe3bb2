#!/usr/bin/env bash
# Makes sure the services the tests use are there: PostgreSQL, Redis, Chromium, ffmpeg, LibreOffice,
# poppler, ClamAV and nginx with the cache purge module.
# Each is checked first and installed or started only when missing.
set -euo pipefail

updated=0
apt_install() {
  if [ "$updated" = 0 ]; then apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "services: $name did not come up" >&2; return 1
}

# PostgreSQL on 127.0.0.1:5432, reachable as a superuser named like this user without a password.
if ! command -v pg_isready >/dev/null || ! pg_isready -h 127.0.0.1 -q; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for postgresql pg_isready -h 127.0.0.1
fi
if ! psql -h 127.0.0.1 -U "$(id -un)" -d postgres -Atc "select 1" >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  grep -q "^host all all 127.0.0.1/32 trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  su postgres -c "psql -qc \"do \\\$\\\$ begin if not exists (select from pg_roles where rolname='$(id -un)') then create role \\\"$(id -un)\\\" superuser login; end if; end \\\$\\\$\""
  su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
  wait_for "postgresql login" psql -h 127.0.0.1 -U "$(id -un)" -d postgres -Atc "select 1"
fi

# A run killed mid-way can leave sessions attached to the test database, and then the next run
# cannot drop and recreate it: end them (only those on the test databases).
psql -h 127.0.0.1 -U "$(id -un)" -d postgres -Atqc \
  "select pg_terminate_backend(pid) from pg_stat_activity where datname like 'test_filedock%' and pid <> pg_backend_pid()" \
  >/dev/null

# Redis on 127.0.0.1:6379.
if ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping | grep -q PONG); then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for redis redis-cli -h 127.0.0.1 ping
fi

# Debian's Chromium for the Playwright tests (Playwright's own browser download does not work here).
command -v chromium >/dev/null || apt_install chromium

# Debian's ffmpeg, which the CDN's gif2video runs.
command -v ffmpeg >/dev/null || apt_install ffmpeg

# Debian's LibreOffice (headless, no GUI) and poppler, which document conversions run.
lo_packages=()
command -v soffice >/dev/null || lo_packages+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
command -v pdftoppm >/dev/null || lo_packages+=(poppler-utils)
[ ${#lo_packages[@]} -eq 0 ] || apt_install "${lo_packages[@]}"

# Debian's nginx and its cache purge module, which the edge cache in deploy/ loads
# (tests/production/ runs the whole stack behind it).
nginx_packages=()
command -v nginx >/dev/null || nginx_packages+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_http_cache_purge_module.so ] || nginx_packages+=(libnginx-mod-http-cache-purge)
[ ${#nginx_packages[@]} -eq 0 ] || apt_install "${nginx_packages[@]}"

echo "services: postgresql, redis, chromium, ffmpeg, libreoffice, poppler and nginx are ready"

# Debian's ClamAV daemon for malware scanning. The tests start their own clamd with a signature
# database made locally (freshclam needs the internet), so the packaged service is not started.
command -v clamd >/dev/null || apt_install clamav-daemon
