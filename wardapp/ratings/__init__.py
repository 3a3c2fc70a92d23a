"""Citizens' satisfaction ratings: the kiosk at the desk (no login, this ward's dossiers only)
and the paper survey forms an official keys in."""
