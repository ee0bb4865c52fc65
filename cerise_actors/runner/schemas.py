"""The CWL schemas, loaded once: kept in a warm process, and cached on disk for a cold one.

cwltool validates every document against the CWL schema, which schema-salad
builds from cwltool's YAML files: 0.25-0.4 s per CWL version, nearly all of
it ruamel's YAML parser, and `cwltool.main.main` discards the result at every
call (`setup_schema` drops the cache unless extensions are enabled). The
schema never changes for a given cwltool and schema-salad, so:

- `keep_standard_schemas()` makes `setup_schema` keep an unchanged standard
  schema (the warm runner loads them once and forks jobs that keep them; a
  cold runner keeps what it read from the disk cache);
- `load_cache()` / `save_cache()` keep the loaded schemas (and schema-salad's
  metaschema, which they are built on and which a process builds again
  otherwise) in a pickle next to
  this module's byte code (`__pycache__`), named after the Python, cwltool,
  schema-salad and ruamel.yaml files it was built from, so a cold runner (a batch job,
  the deployed runner, a job started while the warm runner is down) reads
  them in milliseconds. A cache that cannot be read or written is ignored:
  the runner then loads the schemas as cwltool does.

The file is the runner's own, written by the runner's user beside its code;
it is trusted as that code is. schema-salad's `NormDict` (a compiled dict
that normalises keys) pickles without its normaliser, so it is pickled here
as (normaliser, items).
"""

import copyreg
import hashlib
import os
import pickle
import sys
from typing import Set

#: the CWL versions cwltool's standard set holds
STANDARD_VERSIONS = ('v1.0', 'v1.1', 'v1.2', 'v1.2.0-dev1', 'v1.2.0-dev2', 'v1.2.0-dev3')
CACHE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '__pycache__')


def keep_standard_schemas() -> None:
    """Make cwltool.main keep loaded standard schemas instead of loading them again.

    Without --enable-ext (never given by the service) cwltool.main.main drops
    every cached schema at each call. Here an unchanged standard schema stays
    cached; a run that asks for extensions (--enable-ext, a custom schema) gets
    cwltool's own behaviour.
    """
    import cwltool.main
    import cwltool.process

    original = getattr(cwltool.main.setup_schema, 'cerise_original', cwltool.main.setup_schema)

    def setup_schema(args, custom_schema_callback) -> None:
        if custom_schema_callback is not None or getattr(args, 'enable_ext', False):
            original(args, custom_schema_callback)
            return None
        for version in STANDARD_VERSIONS:
            if version in cwltool.process.custom_schemas:
                cwltool.process.use_standard_schema(version)
        return None

    setup_schema.cerise_original = original  # type: ignore[attr-defined]  # marks it ours
    cwltool.main.setup_schema = setup_schema


def load_schemas(versions) -> None:
    import cwltool.process

    for version in versions:
        cwltool.process.get_schema(version)


def _normdict(normalize, items):
    from schema_salad.ref_resolver import NormDict

    value = NormDict(normalize)
    value.update(items)  # keys as they were stored: already normalised
    return value


def _pickle_normdict(value):
    return _normdict, (value.normalize, dict(value))


def cache_path() -> str:
    """The cache file for this Python, cwltool, schema-salad and ruamel.yaml (whose
    objects the schemas hold)."""
    import cwltool
    import ruamel.yaml
    import schema_salad

    digest = hashlib.sha256(sys.version.encode())
    for module in (cwltool, schema_salad, ruamel.yaml):
        if module.__file__ is None:  # installed packages are files
            raise ValueError(f'{module.__name__} has no file to identify it by')
        folder = os.path.dirname(os.path.abspath(module.__file__))
        for name in sorted(os.listdir(folder)):  # the package's own files, as installed
            info = os.stat(os.path.join(folder, name))
            digest.update(f'{name}:{info.st_size}:{info.st_mtime_ns}\n'.encode())
    return os.path.join(CACHE_DIR, f'cwl-schemas-{digest.hexdigest()[:16]}.pickle')


def load_cache() -> Set[str]:
    """Put the cached schemas into cwltool's schema cache; the versions read."""
    import cwltool.process

    if cwltool.process.SCHEMA_CACHE:  # a warm process: loaded already
        return set(cwltool.process.SCHEMA_CACHE)
    import schema_salad.schema

    try:
        with open(cache_path(), 'rb') as f:
            cached = pickle.load(f)
        schemas, metaschema = cached['schemas'], cached['metaschema']
    except Exception:  # noqa: BLE001 (missing, stale, unreadable: load as cwltool does)
        return set()
    loaded = {v: s for v, s in schemas.items() if v in STANDARD_VERSIONS}
    cwltool.process.SCHEMA_CACHE.update(loaded)
    if schema_salad.schema.cached_metaschema is None:  # what every CWL schema is built on
        schema_salad.schema.cached_metaschema = metaschema
    return set(loaded)


def save_cache(known: Set[str]) -> None:
    """Write the standard schemas cwltool holds now, if it holds more than `known`."""
    import cwltool.process

    schemas = {
        v: s
        for v, s in cwltool.process.SCHEMA_CACHE.items()
        if v in STANDARD_VERSIONS and v not in cwltool.process.custom_schemas
    }
    if not set(schemas) - set(known):
        return
    import schema_salad.schema
    from schema_salad.ref_resolver import NormDict

    path = cache_path()
    temporary = f'{path}.{os.getpid()}'
    table = copyreg.dispatch_table.copy()
    table[NormDict] = _pickle_normdict
    try:
        os.makedirs(CACHE_DIR, exist_ok=True)
        with open(temporary, 'wb') as f:
            pickler = pickle.Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = table
            # one pickle, so the schemas and the metaschema keep sharing their objects
            pickler.dump({'schemas': schemas, 'metaschema': schema_salad.schema.cached_metaschema})
        os.replace(temporary, path)
    except Exception:  # noqa: BLE001 (read-only code, a full disk: no cache, no harm)
        try:
            os.unlink(temporary)
        except OSError:
            pass
