"""The ward's self-inspection on the 13 contents: a checklist per plan, signed off by the ward
leader and locked once submitted (a correction is a new version)."""
