"""The desk: intake, dossier pages and steps, work lists, search and printouts."""
