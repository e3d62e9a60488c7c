#!/usr/bin/env bash
# Installs, from Debian's packages, the real phone stack tests/test_phone_stack.py runs
# (issue 18): Kamailio with its http_client and json modules, rtpengine's userspace daemon
# (no kernel module: the test runs it with --table=-1), the baresip phone and sox (the
# test tones). Called by scripts/services.sh; idempotent; needs root and apt-get, as on
# CI. The packages' own services are not started: the test starts each process itself.
set -euo pipefail

need=()
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
ls /usr/lib/x86_64-linux-gnu/kamailio/modules/http_client.so /usr/lib/*/kamailio/modules/http_client.so \
  >/dev/null 2>&1 || need+=(kamailio-utils-modules)
ls /usr/lib/*/kamailio/modules/json.so >/dev/null 2>&1 || need+=(kamailio-json-modules)
command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon)
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
command -v sox >/dev/null 2>&1 || need+=(sox)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "phone.sh: need ${need[*]} but cannot install them (not root, or no apt-get)." >&2
    exit 1
  fi
  echo "phone.sh: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  start=$(date +%s)
  apt-get update -qq
  # A policy-rc.d keeps the packages from starting their daemons (they would take the
  # default ports; the test starts its own on free ports). One already there is kept.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "phone.sh: installed in $(( $(date +%s) - start )) s"
fi
echo "phone.sh: $(kamailio -v 2>/dev/null | head -1 | cut -c1-60); rtpengine $(dpkg-query -W -f='${Version}' rtpengine-daemon 2>/dev/null); baresip $(dpkg-query -W -f='${Version}' baresip-core 2>/dev/null)"
