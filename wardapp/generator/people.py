"""The made-up people of a generated city and their words: Vietnamese names of the right
gender and age, addresses of Long Xuyên's streets and hamlets, the ward chairman who signs the
letters, and the reasons officials write on a supplement request, a refusal or an apology."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from ..dossiers.service import this_ward
from ..letters.service import chairman_name

FAMILY = (
    "Nguyễn Nguyễn Nguyễn Trần Trần Lê Lê Phạm Huỳnh Võ Phan Trương Bùi Đặng Đỗ Ngô Hồ "
    "Dương Đinh Lâm Châu Tô Lý Quách Thái Mai La Từ Trịnh"
).split()


MIDDLE_MALE = "Văn Văn Hữu Minh Thanh Quốc Đức Công Hoàng Tấn Phước Trung".split()


MIDDLE_FEMALE = "Thị Thị Ngọc Thanh Kim Mỹ Thu Bích Hồng Diễm Phương Thùy".split()


GIVEN_MALE = (
    "An Bình Cường Dũng Đức Hải Hiếu Hòa Hùng Khang Khoa Lộc Long Minh Nam Nghĩa "
    "Phát Phúc Quang Sang Tài Tâm Thành Thịnh Toàn Trí Trung Tuấn Vinh Việt"
).split()


GIVEN_FEMALE = (
    "Anh Châu Diễm Dung Giang Hà Hạnh Hằng Hoa Hương Lan Linh Loan Mai My Ngân "
    "Nhung Oanh Phượng Quyên Thảo Thư Trang Trinh Tuyết Uyên Vy Yến"
).split()


STREETS = (
    "Trần Hưng Đạo|Hà Hoàng Hổ|Lý Thái Tổ|Nguyễn Thái Học|Hùng Vương|Tôn Đức Thắng|"
    "Phạm Cự Lượng|Bùi Văn Danh|Ung Văn Khiêm|Lê Lợi|Nguyễn Huệ|Hai Bà Trưng|"
    "Trần Quang Khải|Võ Thị Sáu|Nguyễn Trường Tộ|Lê Minh Ngươn|Trần Nhật Duật|"
    "Nguyễn Văn Cưng|Lê Hồng Phong|Châu Văn Liêm"
).split("|")


HAMLETS = (
    "Mỹ Khánh 1|Mỹ Khánh 2|Mỹ Thới|Mỹ Hòa|Mỹ An 1|Mỹ An 2|Mỹ Long|Mỹ Phú|Mỹ Thạnh|Mỹ Hưng"
).split("|")


SUPPLEMENT_REASONS = (
    "Bổ sung bản sao giấy tờ tùy thân của người được ủy quyền.",
    "Tờ khai chưa ghi đủ thông tin về nơi cư trú; đề nghị bổ sung.",
    "Bổ sung giấy tờ chứng minh quan hệ nhân thân.",
)


REFUSAL_REASONS = (
    "Hồ sơ không thuộc thẩm quyền giải quyết của cấp xã.",
    "Người yêu cầu không đủ điều kiện theo quy định.",
)


APOLOGY_REASONS = (
    "Cần xác minh thêm thông tin với cơ quan liên quan.",
    "Cán bộ thụ lý phải đi công tác đột xuất; xin lỗi ông/bà vì sự chậm trễ.",
)


def chairman_for(unit_code: str) -> str:
    """A plausible name for the chairman of a ward's People's Committee, the same every time."""
    rng = random.Random(f"chairman:{unit_code}")
    female = rng.random() < 0.25
    return (
        f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)} "
        f"{rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)}"
    )


def ensure_chairman_name() -> str:
    """The letters' signer: the ward's ``CHAIRMAN_NAME``, or when it is empty a plausible name
    written to the instance's ``config.py`` (and used at once)."""
    from flask import current_app

    name = chairman_name()
    if not name:
        name = chairman_for(this_ward().ward_code)
        path = Path(current_app.instance_path) / "config.py"
        with path.open("a", encoding="utf-8") as out:
            out.write(
                f"\n# Chủ tịch UBND ký thư chúc mừng, thư chia buồn (dữ liệu mẫu)\n"
                f"CHAIRMAN_NAME = {name!r}\n"
            )
        current_app.config["CHAIRMAN_NAME"] = name
    return name


def person(rng: random.Random, on: dt.date) -> tuple[str, str]:
    """A Vietnamese full name and a matching 12-digit citizen ID of An Giang (prefix 089)."""
    female = rng.random() < 0.5
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    year = rng.randint(1945, min(on.year - 16, 2004))
    gender_century = (2 if year >= 2000 else 0) + female
    return (
        f"{rng.choice(FAMILY)} {middle} {given}",
        f"089{gender_century}{year % 100:02d}{rng.randint(0, 999999):06d}",
    )


def address(rng: random.Random, unit_kind: str, unit_name: str) -> str:
    if unit_kind == "xa":
        return f"Tổ {rng.randint(1, 30)}, ấp {rng.choice(HAMLETS)}, {unit_name}"
    if unit_kind == "thanh_pho":
        return f"Số {rng.randint(1, 400)} đường {rng.choice(STREETS)}, {unit_name}"
    return (
        f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}, "
        f"khóm {rng.randint(1, 8)}, {unit_name}"
    )
