#!/bin/sh
# Start one Xinfang service: apply its migrations, then replace this shell with the service.
#   SERVICE          intake | routing | deadlines | statistics
#   XF_DATABASE_URL  the service's own database (read by `xf migrate` and by the service)
set -eu

case "${SERVICE:-}" in
  intake|routing|deadlines|statistics) ;;
  *)
    echo "entrypoint: SERVICE must be one of intake, routing, deadlines, statistics" \
         "(got '${SERVICE:-}')" >&2
    exit 64
    ;;
esac

if [ -z "${XF_DATABASE_URL:-}" ]; then
  echo "entrypoint: XF_DATABASE_URL is not set" >&2
  exit 64
fi

xf migrate "$SERVICE"
exec python -m "services.$SERVICE" "$@"
