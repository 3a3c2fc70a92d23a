"""The shared kernel: what the ward app and the city hub both need, and nothing of either.

The working-day calendar (:mod:`.workdays`), what a dossier's status means and the one
definition of pending, paused and overdue (:mod:`.statuses`), text folding (:mod:`.text`),
column types (:mod:`.columns`), database helpers (:mod:`.database`), the account model's core,
the password rule and the login views (:mod:`.accounts`, :mod:`.password_rule`, :mod:`.login`),
error pages (:mod:`.errors`), bounded query values (:mod:`.queryargs`), Vietnamese formatting
(:mod:`.formatting`), spreadsheets (:mod:`.spreadsheet`), the reference data's shape
(:mod:`.refdata`), security headers (:mod:`.security`), and the templates and static files both
apps serve.

The kernel imports neither app; the apps import it. The contracts in ``.importlinter`` keep the
arrows that way (docs/architecture.md).
"""

from pathlib import Path

KERNEL_DIR = Path(__file__).parent
TEMPLATES_DIR = KERNEL_DIR / "templates"
STATIC_DIR = KERNEL_DIR / "static"


def serve_favicon(app) -> None:
    """Answer the browser's ``/favicon.ico`` (asked for on every first visit, by every page,
    printouts included) with the kernel's icon instead of a 404 in every log."""

    def favicon():
        return app.send_static_file("favicon.ico")

    app.add_url_rule("/favicon.ico", "favicon", favicon)
