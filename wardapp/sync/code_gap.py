"""How many dossier numbers a rebuilt database leaves per day for the receipts a lost PC may
have printed after its last sync (:mod:`.recovery`), unless the admin saw the last one: a name
of its own so that the commands that offer ``--code-gap`` declare it without importing the
recovery and its models (``wardapp --help``)."""

CODE_GAP = 100
