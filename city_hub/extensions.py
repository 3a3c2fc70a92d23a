"""The hub's extension singletons (its own database, separate from any ward's)."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class HubBase(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=HubBase, session_options={"expire_on_commit": False})
migrate = Migrate()
