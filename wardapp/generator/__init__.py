"""The seeded city generator: realistic dossiers for any period, units and scale. :mod:`.plan`
decides every dossier of a city without a database; :mod:`.write` plays one ward's share of the
plan through the ward's own write functions.

Only what the ward's CLI imports from here is named at the package (its importers elsewhere
import from the module that does the work)."""

from .plan import ARTICLE, city_preset
from .write import generate_ward

__all__ = ["ARTICLE", "city_preset", "generate_ward"]
