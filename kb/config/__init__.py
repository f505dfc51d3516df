"""What every layer may read: the settings (declared once), where kb's files are, how it logs."""
