"""The Lexicon compiler: Lexicon JSON schemas in, typed models, clients and servers out.

A pipeline of pure stages; only loading and writing touch the disk::

    load      loader.py     files -> checked LexiconDoc values (lexicon/: the language)
    catalog   catalog.py    documents by NSID; the official set as external documents
    resolve   resolver.py   every ref checked; bad documents and their dependants dropped
    name      naming.py     the only place Python names are made
    lower     lower.py      -> IR (ir.py): every decision made, nothing left to templates
    emit      emit/         IR -> {path: source} (models here; client/server emitters)
    format    format.py     one ruff run over the tree (+ import sorting for a user package)
    merge     merge/        hand-written handler modules (libcst), with --handlers
    write     writer.py     diff against disk, apply or report (``check``)

Every problem is a ``Diagnostic`` with a stable code (``diagnostics.py``).
``pipeline.compile_lexicons`` runs load..lower and returns the IR; ``generate.build``
and ``generate.generate`` run everything (``lexforge gen`` / ``lexforge check``);
``buildcache`` lets an unchanged run skip all of it.
"""

__all__: list[str] = []
