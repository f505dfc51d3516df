"""Running kb: the command line, the production server, backups."""
