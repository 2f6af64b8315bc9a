#!/bin/sh
# Quiesce MySQL before a snapshot. Scenarios run it on the test host, so it
# only says what it would do: a real hook would FLUSH TABLES WITH READ LOCK.
echo "freezing $HOOKSHOT_CONTAINER_NAME in $HOOKSHOT_POD_NAME ($1)"
