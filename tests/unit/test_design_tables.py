"""docs/design.md's generated tables match the code (tests/design_tables.py).

The layers, the imports between packages and (once written) other tables of
the design document are rendered from the code; a change that moves an
import without running `python -m tests.design_tables` fails here, naming
the command, so the document cannot drift from the code.
"""

import difflib

import pytest

from .. import design_tables


def test_the_committed_design_document_matches_the_code():
    committed = design_tables.DESIGN.read_text(encoding='utf-8')
    fresh = design_tables.rendered(committed)
    diff = ''.join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            'docs/design.md (committed)',
            'docs/design.md (from the code)',
        )
    )
    assert not diff, f'docs/design.md differs from the code: run {design_tables.COMMAND}\n{diff}'


def test_a_changed_import_is_seen(monkeypatch):
    """The check can fail: an import edge the document lacks changes the rendering."""
    committed = design_tables.DESIGN.read_text(encoding='utf-8')
    real = design_tables.collect_imports

    def with_extra():
        found = real()
        extra = found[0]._replace(importer='cerise_actors.jobs.states', target='cerise_actors.web')
        return found + [extra]

    monkeypatch.setattr(design_tables, 'collect_imports', with_extra)
    assert design_tables.rendered(committed) != committed


def test_a_missing_block_is_named():
    with pytest.raises(ValueError, match='no block for the generated table'):
        design_tables.rendered('no tables here\n')


def test_imports_only_made_inside_functions_are_told_apart():
    table = design_tables.imports_table()
    cli_row = next(row for row in table.splitlines() if row.startswith('| `cli.py` |'))
    at_load, late = cli_row.split(' | ')[1:3]
    assert '`client/`' in at_load and '`app/`' not in at_load
    assert '`app/`' in late
