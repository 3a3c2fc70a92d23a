"""How often the city's reform models happen in a generated ward, and what they say: writing
assistance at intake, letters and ratings after return, feedback and petitions, and the yearly
self-inspection's findings (docs/glossary.md). :class:`~.write.WardRun` draws from these."""

from __future__ import annotations

# Each dossier's extras draw from their own stream (the dossier's seed with EXTRAS_SALT), so
# the dossier itself, its steps and every count of the report are as without them.
EXTRAS_SALT = 0x5EF0_2020


WRITING_ASSIST_SHARE = 0.04  # desk dossiers written for the citizen at the "bàn viết hộ"


LETTER_SHARE = 0.9  # resolved birth, marriage and death registrations given a letter


RATING_SHARE = 0.25  # dossiers returned at the desk whose citizen rates the service


KIOSK_SHARE = 0.7  # ... at the kiosk there and then; the rest fill in a paper form


# Per criterion: very satisfied, satisfied, not satisfied (a late dossier's timeliness: LATE).
RATING_SHARES = {
    "overall": (0.62, 0.35, 0.03),
    "attitude": (0.70, 0.28, 0.02),
    "timeliness": (0.60, 0.37, 0.03),
    "guidance": (0.58, 0.39, 0.03),
}


LATE_TIMELINESS = (0.10, 0.45, 0.45)


AGREES_WITH_OVERALL = 0.6  # how often a criterion is rated as the overall impression


RATING_COMMENTS = {
    "very_satisfied": (
        "Cán bộ hướng dẫn tận tình, nhanh gọn.",
        "Rất hài lòng, cảm ơn phường.",
        "Nhận kết quả đúng hẹn, không phải đi lại nhiều lần.",
    ),
    "satisfied": (
        "Thủ tục nhanh nhưng phải chờ lâu lúc đông người.",
        "Nên bố trí thêm ghế ngồi chờ.",
        "Đề nghị niêm yết rõ hơn mẫu tờ khai.",
    ),
    "not_satisfied": (
        "Phải đi lại bổ sung giấy tờ nhiều lần.",
        "Trả kết quả trễ hẹn, đề nghị thông báo trước qua điện thoại.",
        "Chờ lâu, ít quầy tiếp nhận vào buổi sáng.",
    ),
}


LEVELS = ("very_satisfied", "satisfied", "not_satisfied")


FEEDBACK_PER_DOSSIER = 1 / 500  # feedback and petitions (phản ánh, kiến nghị) a ward receives


FEEDBACK_FATES = {"in_time": 0.8, "late": 0.1, "open": 0.1}


FEEDBACK_CHANNEL_WEIGHTS = {"desk": 45, "phone": 20, "hotline": 20, "letter": 15}


# subject, content, regulation referred to, procedure (or ""), answer
FEEDBACK_TOPICS = (
    (
        "Đề nghị giảm giấy tờ khi đăng ký thường trú",
        "Khi đăng ký thường trú cho con, tôi được yêu cầu nộp bản sao sổ hộ khẩu dù dữ liệu đã có "
        "trên cơ sở dữ liệu quốc gia về dân cư. Đề nghị không yêu cầu giấy tờ này.",
        "Luật Cư trú 2020; Nghị định 62/2021/NĐ-CP",
        "",
        "Từ ngày 01/7/2021, công dân không phải nộp sổ hộ khẩu; Bộ phận một cửa đã được nhắc "
        "khai thác thông tin trên cơ sở dữ liệu quốc gia về dân cư.",
    ),
    (
        "Thời hạn chứng thực hợp đồng chuyển nhượng",
        "Đề nghị giải thích vì sao hợp đồng chuyển nhượng quyền sử dụng đất phải chờ đến ngày hôm "
        "sau mới được chứng thực.",
        "Nghị định 23/2015/NĐ-CP, Điều 37",
        "2.001035",
        "Theo Điều 37 Nghị định 23/2015/NĐ-CP, hợp đồng được chứng thực trong ngày tiếp nhận; "
        "trường hợp tiếp nhận sau 15 giờ thì chứng thực trong ngày làm việc tiếp theo.",
    ),
    (
        "Phí chứng thực bản sao",
        "Tôi chứng thực 10 bản sao cùng một giấy tờ nhưng bị thu phí từng bản. Đề nghị giải thích "
        "mức thu.",
        "Thông tư 226/2016/TT-BTC",
        "2.000815",
        "Mức thu 2.000 đồng/trang với trang thứ nhất, thứ hai; từ trang thứ ba thu 1.000 "
        "đồng/trang, tối đa 200.000 đồng/bản. Bộ phận một cửa đã niêm yết lại bảng phí.",
    ),
    (
        "Mẫu tờ khai đăng ký khai sinh khó điền",
        "Mẫu tờ khai có nhiều mục khó hiểu với người lớn tuổi; đề nghị có hướng dẫn hoặc mẫu điền "
        "sẵn.",
        "Thông tư 04/2020/TT-BTP",
        "1.001193",
        "Phường đã niêm yết mẫu tờ khai điền sẵn và bố trí bàn viết hộ hỗ trợ người dân.",
    ),
    (
        "Đề nghị trả kết quả qua bưu điện",
        "Tôi làm việc xa nhà, đề nghị cho nhận kết quả xác nhận tình trạng hôn nhân qua bưu điện.",
        "Quyết định 45/2016/QĐ-TTg",
        "1.004873",
        "Thủ tục này đã được nhận và trả kết quả qua dịch vụ bưu chính công ích; ông/bà đăng ký "
        "khi nộp hồ sơ và thanh toán cước theo bảng giá của Bưu điện.",
    ),
    (
        "Giờ tiếp nhận hồ sơ buổi chiều",
        "Đề nghị Bộ phận một cửa tiếp nhận hồ sơ đến 17 giờ thay vì ngưng nhận sớm.",
        "Quyết định 1291/QĐ-UBND về thời gian làm việc",
        "",
        "Bộ phận một cửa tiếp nhận hồ sơ đến 17 giờ các ngày làm việc; đã nhắc nhở công chức thực "
        "hiện đúng giờ làm việc.",
    ),
    (
        "Nộp hồ sơ trực tuyến bị báo lỗi",
        "Tôi nộp hồ sơ đăng ký kết hôn trên Cổng dịch vụ công nhưng không tải được tệp đính kèm.",
        "Nghị định 45/2020/NĐ-CP",
        "1.000894",
        "Đã phối hợp bộ phận kỹ thuật khắc phục lỗi tải tệp; hướng dẫn ông/bà nộp lại, hồ sơ được "
        "tiếp nhận trong ngày.",
    ),
    (
        "Xác nhận thông tin cư trú",
        "Đề nghị rút ngắn thời gian cấp giấy xác nhận thông tin về cư trú.",
        "Thông tư 55/2021/TT-BCA",
        "",
        "Thời hạn giải quyết theo quy định là 03 ngày làm việc; phường phấn đấu trả kết quả trong "
        "ngày đối với hồ sơ đầy đủ.",
    ),
)


INSPECTION_FINDINGS = {
    "good": (
        "Thực hiện tốt, không có trường hợp vi phạm.",
        "Duy trì thường xuyên, có sổ theo dõi.",
        "Được người dân ghi nhận qua phiếu đánh giá.",
    ),
    "pass": (
        "Cơ bản thực hiện đúng quy định.",
        "Thực hiện đạt yêu cầu; cần duy trì.",
        "Còn vài trường hợp nhắc nhở, đã chấn chỉnh.",
    ),
    "fail": (
        "Còn hồ sơ trễ hạn chưa có phiếu xin lỗi; đã yêu cầu khắc phục.",
        "Niêm yết thủ tục chưa cập nhật kịp; giao công chức khắc phục trong tháng.",
        "Có công chức đi trễ, đã nhắc nhở, kiểm điểm.",
    ),
}


INSPECTION_SHARES = {"good": 0.45, "pass": 0.5, "fail": 0.05}
