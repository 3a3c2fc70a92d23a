"""The ward's accounts managed from the screen by its admin: create, roles, lock and unlock, a
temporary password on reset (the same changes ``wardapp user`` makes, through one service)."""
