#!/bin/bash
# freeze-killed in the default (kill) mode: cr-dumpmm has the victim
# vmsplice its own pages with remote system calls, so a kill lands inside
# a remote call most of the time.  See freeze-killed.c.
exec "$CR_BUILD/test/crcore/freeze-killed" zerocopy
