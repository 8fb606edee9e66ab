#!/bin/sh
# secureBoot.py -s of the simulated ESXi (a shell script under the real
# tool's path): "Enabled" when the host's secure-boot knob
# /var/sim/esxi/<SIM_ESXI_HOST>/secure-boot exists, else "Disabled".
host=${SIM_ESXI_HOST:-}
[ "${1:-}" = -s ] || { echo "usage: secureBoot.py -s" >&2; exit 1; }
if [ -n "$host" ] && [ -e "/var/sim/esxi/$host/secure-boot" ]; then
    echo Enabled
else
    echo Disabled
fi
