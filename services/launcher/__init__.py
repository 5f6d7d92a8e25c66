"""The local launcher: `cma run`, the whole platform on one machine with embedded PostgreSQL and
broker (the `local` extra, imported only when needed) and demo data. The production image does
not need it; it runs the command as a child process and never imports it."""
