"""Issue a dossier's letter, and print it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from wardapp.dossiers.intake import DossierError

from ..auth import roles_required
from ..dossiers.routes import DESK_ROLES, get_dossier_or_404, render_dossier
from .service import ISSUER_ROLES, issue_letter, letter_offered

bp = Blueprint("letters", __name__)


bp.add_app_template_global(letter_offered)


@bp.route("/dossiers/<code>/letter", methods=["POST"])
@roles_required(*ISSUER_ROLES)
def issue(code: str):
    try:
        issue_letter(code, actor=current_user)
    except DossierError as e:
        return render_dossier(get_dossier_or_404(code), e.message, e.status)
    flash("Đã ghi nhận thư; in thư để trao cho công dân.", "success")
    return redirect(url_for("letters.print_letter", code=code))


@bp.route("/dossiers/<code>/letter")
@roles_required(*DESK_ROLES)
def print_letter(code: str):
    dossier = get_dossier_or_404(code)
    if dossier.letter is None:
        abort(404)
    return render_template("letters/letter.html", dossier=dossier, letter=dossier.letter)
