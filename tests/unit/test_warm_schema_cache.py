"""The CWL schemas cached on disk for cold runners (runner/schemas.py).

Each check runs in a fresh Python (a cold runner is one), with the cache
folder moved to the test's temporary folder.
"""

import json
import subprocess
import sys

PROBE = """
import json, sys, time
from cerise_actors.runner import schemas
schemas.CACHE_DIR = sys.argv[1]
import cwltool.process, schema_salad.schema
started = time.perf_counter()
known = schemas.load_cache()
if not known:
    cwltool.process.get_schema('v1.2')
    schemas.save_cache(known)
names = cwltool.process.get_schema('v1.2')[1]
print(json.dumps({
    'read': sorted(known),
    'metaschema': schema_salad.schema.cached_metaschema is not None,
    'seconds': time.perf_counter() - started,
    'has_workflow': 'org.w3id.cwl.cwl.Workflow' in names.names,
}))
"""


def cold_runner(folder):
    out = subprocess.run(
        [sys.executable, '-c', PROBE, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_first_cold_runner_writes_the_schemas_and_the_next_reads_them(tmp_path):
    first = cold_runner(tmp_path)
    assert first['read'] == [] and first['has_workflow']
    assert len(list(tmp_path.glob('cwl-schemas-*.pickle'))) == 1
    second = cold_runner(tmp_path)
    assert second['read'] == ['v1.2'] and second['metaschema'] and second['has_workflow']
    assert second['seconds'] < first['seconds']


def test_a_damaged_cache_is_ignored_and_written_again(tmp_path):
    cold_runner(tmp_path)
    (cache,) = tmp_path.glob('cwl-schemas-*.pickle')
    cache.write_bytes(b'not a pickle')
    again = cold_runner(tmp_path)
    assert again['read'] == [] and again['has_workflow']
    assert cold_runner(tmp_path)['read'] == ['v1.2']


def test_an_unwritable_cache_folder_costs_nothing(tmp_path):
    blocked = tmp_path / 'file-not-folder'
    blocked.write_text('')
    assert cold_runner(blocked)['has_workflow']
    assert cold_runner(blocked)['read'] == []
