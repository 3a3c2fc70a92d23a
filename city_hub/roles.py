"""The roles of a city account, by name: apart from the account model (:mod:`.accounts`) so
that ``city-hub user`` declares its choices without importing SQLAlchemy (``city-hub --help``)."""

HUB_ROLES = {"viewer": "Xem báo cáo", "admin": "Quản trị đơn vị, danh mục, tài khoản"}
