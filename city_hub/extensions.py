"""The hub's extension singletons (its own database, separate from any ward's)."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class HubBase(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=HubBase, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Vui lòng đăng nhập để xem báo cáo."
login_manager.login_message_category = "warning"
csrf = CSRFProtect()
