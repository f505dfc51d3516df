"""The newsroom's work, without Flask: change requests and their state machine, permissions, forms
turned into files, diffs and merges, and the one publishing operation."""
