"""The feedback register: recorded with channel, subject and regulation, assigned, answered on
time or late against the configured time limit, and listed open and overdue."""

import pytest

from kernel.workdays import to_local
from wardapp.dossiers.intake import DossierError
from wardapp.feedback.service import answer_feedback, assign_feedback, receive_feedback
from wardapp.sync.records import Feedback

from .conftest import account
from .test_reports import at

VALID = {
    "channel": "desk",
    "sender_name": "Huỳnh Văn Tám",
    "sender_contact": "0911222333",
    "subject": "Giấy tờ yêu cầu thêm",
    "content": "Cán bộ yêu cầu nộp thêm bản sao.",
    "regulation": "Đăng ký khai sinh",
    "procedure_code": "1.001193",
}


def test_record_assign_answer_on_the_screens(app, client, auth):
    auth.login("letan")
    response = client.post("/feedback/", data=VALID)
    assert response.status_code == 302
    feedback = Feedback.query.one()
    assert client.get("/feedback/?list=open").get_data(as_text=True).count(VALID["subject"]) == 1
    auth.logout()
    auth.login("lanhdao")
    officer = account("chuyenvien")
    assert (
        client.post(
            f"/feedback/{feedback.uuid}/assign",
            data={"assignee_uuid": officer.uuid, "version": feedback.version},
        ).status_code
        == 302
    )
    auth.logout()
    auth.login("chuyenvien")
    assert (
        client.post(
            f"/feedback/{feedback.uuid}/answer",
            data={"answer": "Chỉ yêu cầu giấy tờ theo danh mục.", "version": 2},
        ).status_code
        == 302
    )
    page = client.get(f"/feedback/{feedback.uuid}").get_data(as_text=True)
    assert "đúng hạn" in page and "Chỉ yêu cầu giấy tờ theo danh mục." in page
    again = client.post(f"/feedback/{feedback.uuid}/answer", data={"answer": "Lần hai"})
    assert again.status_code == 409 and "đã được trả lời" in again.get_data(as_text=True)


def test_bad_feedback_is_refused_with_every_problem_named(app, client, auth):
    auth.login("letan")
    response = client.post(
        "/feedback/", data={**VALID, "channel": "fax", "subject": "", "procedure_code": "9.999999"}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and Feedback.query.count() == 0
    assert "kênh tiếp nhận" in text and "Vui lòng nhập tiêu đề" in text
    assert "Không có thủ tục này" in text


def test_time_limit_is_configurable_and_lists_show_overdue(app, client, auth):
    app.config["FEEDBACK_ANSWER_DAYS"] = 2
    officer = account("chuyenvien")
    old = receive_feedback(VALID, actor=officer, now=at("2025-11-03 09:00"))  # Monday
    assert to_local(old.due_at).date().isoformat() == "2025-11-05"
    recent = receive_feedback({**VALID, "subject": "Mới nhận"}, actor=officer)
    auth.login("chuyenvien")
    overdue = client.get("/feedback/?list=overdue").get_data(as_text=True)
    assert VALID["subject"] in overdue and "Mới nhận" not in overdue
    answer_feedback(old.uuid, "Đã trả lời muộn.", actor=officer, now=at("2025-11-07 09:00"))
    assert VALID["subject"] in client.get("/feedback/?list=answered").get_data(as_text=True)
    assert "quá hạn" in client.get(f"/feedback/{old.uuid}").get_data(as_text=True)
    assert client.get("/feedback/?list=nothing").status_code == 400
    assert recent.answered_at is None
    app.config["FEEDBACK_ANSWER_DAYS"] = "mười"
    with pytest.raises(DossierError) as refused:
        receive_feedback(VALID, actor=officer)
    assert "FEEDBACK_ANSWER_DAYS" in refused.value.message


def test_only_the_leader_assigns_and_answers_need_text(app):
    feedback = receive_feedback(VALID, actor=account("letan"))
    with pytest.raises(DossierError) as refused:
        assign_feedback(feedback.uuid, account("chuyenvien").uuid, actor=account("chuyenvien"))
    assert refused.value.status == 403
    with pytest.raises(DossierError):
        assign_feedback(feedback.uuid, account("letan").uuid, actor=account("lanhdao"))
    with pytest.raises(DossierError) as refused:
        answer_feedback(feedback.uuid, "  ", actor=account("lanhdao"))
    assert refused.value.fields == {"answer": "Vui lòng nhập nội dung trả lời."}
    assert Feedback.query.one().version == 1
