# man pages: man/<name>.<section>, installed by section.
ALL_MAN += $(sort $(wildcard man/*.[1-8]))
