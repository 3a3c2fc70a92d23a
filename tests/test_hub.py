"""The hub's shell: it starts and answers in Vietnamese."""
from city_hub import create_app


def test_hub_shell_serves_its_landing_page(tmp_path):
    client = create_app({"TESTING": True}, instance_path=str(tmp_path)).test_client()
    response = client.get("/")
    assert response.status_code == 200
    assert "Kho số liệu một cửa thành phố Long Xuyên" in response.text
