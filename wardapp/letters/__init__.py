"""Congratulation and condolence letters ("Thư chúc mừng, thư chia buồn"), offered when a birth,
marriage or death registration is resolved, printed on A5 and signed by the ward chairman."""
