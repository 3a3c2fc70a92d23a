"""Who may do what at a ward's desk, by name: the roles an account holds (part of the record
schema, ``User.roles``) and the scopes of an API token. Names only, so that the command line
declares its choices without importing the models (``wardapp --help``)."""

ROLES = {
    "receptionist": "Tiếp nhận và trả kết quả",
    "officer": "Chuyên viên xử lý",
    "leader": "Lãnh đạo phường, xã",
    "admin": "Quản trị",
}

API_SCOPES = {
    "read": "Đọc danh mục và hồ sơ",
    "intake": "Tiếp nhận hồ sơ",
    "steps": "Thực hiện bước xử lý",
}
