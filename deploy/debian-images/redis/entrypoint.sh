#!/bin/sh
# As the official image: redis-server without protected mode (the official build turns it off),
# so that the other containers reach it; the compose network is the boundary.
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
