# tools: one .c per tool.  Each area registers its tools in its own
# build.mk with $(eval $(call TOOL,cr-name,area)); tools/util.c holds the
# helpers every tool shares (messages, exit codes, progress).
