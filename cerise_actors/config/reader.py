"""Reading YAML configuration documents with precise error messages.

Both configuration files are small, hand-edited YAML documents. This module
turns them into :class:`Section` objects, thin wrappers around a mapping that
remember which file and key path they came from, so that every check made by
the loaders can raise a :class:`ConfigError` pointing at the exact key.

Two conventions of the Cerise documentation are handled centrally here:

* the documented template literally writes ``None`` for unset values, so the
  YAML null, the string ``'None'`` and the empty string all mean "not set";
* unknown keys are errors, because a misspelt key would otherwise be silently
  ignored and its default used instead.
"""

import os
from typing import Any, Dict, Hashable, Iterable, Mapping, Optional, Union, overload

import yaml

from ..errors import ConfigError

#: Label used as the key path of errors about the document as a whole.
TOP_LEVEL = '(top level)'


def is_unset(value: Any) -> bool:
    """True for the values that mean "not configured"."""
    return value is None or (isinstance(value, str) and value in ('None', ''))


def env_value(env: Mapping[str, str], name: str) -> Optional[str]:
    """An environment variable's value, with empty meaning unset.

    Container runtimes often pass variables that are defined but empty; those
    must not override a configured value with an empty string.
    """
    value = env.get(name)
    if value is None or value == '':
        return None
    return value


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys.

    Plain PyYAML keeps the last of two equal keys, so a section written twice
    would silently lose half of its settings.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Hashable, Any]:
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    'while constructing a mapping',
                    node.start_mark,
                    f'found duplicate key {key!r}',
                    key_node.start_mark,
                )
            seen[key] = True
        return super().construct_mapping(node, deep)


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, 'problem_mark', None)
    problem = getattr(exc, 'problem', None) or str(exc)
    context = getattr(exc, 'context', None)
    text = problem if not context else f'{problem} ({context})'
    if mark is not None:
        return f'line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {text}'
    return f'invalid YAML: {text}'


def load_yaml_file(path: Union[str, 'os.PathLike[str]'], source: Optional[str] = None) -> Any:
    """Parse a YAML file, turning every failure into a :class:`ConfigError`.

    An empty file yields ``None``; callers decide whether that is acceptable.
    """
    source = os.fspath(path) if source is None else source
    try:
        with open(path, encoding='utf-8') as stream:
            text = stream.read()
    except FileNotFoundError:
        raise ConfigError(source, None, 'file not found') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, f'cannot read file: {exc}') from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, _describe_yaml_error(exc)) from None


def _show(value: Any) -> str:
    """A short description of an offending value for error messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + '...'
    return f'{type(value).__name__} {text}'


class Section:
    """A mapping from a configuration document plus its origin.

    ``path`` is the dotted key path of this mapping inside the document
    (empty for the top level); it prefixes all error messages.
    """

    def __init__(self, data: Mapping[Any, Any], source: str, path: str = '') -> None:
        self.data = data
        self.source = source
        self.path = path

    @classmethod
    def root(cls, data: Any, source: str, allow_empty: bool = True) -> 'Section':
        """The top level of a document, which must be a mapping."""
        if data is None and allow_empty:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(
                source, TOP_LEVEL, f'expected a mapping of keys to values, got {_show(data)}'
            )
        return cls(data, source)

    def key_path(self, key: str) -> str:
        return f'{self.path}.{key}' if self.path else key

    def error(self, key: Optional[str], problem: str) -> ConfigError:
        """A ConfigError about ``key`` of this section (or the section itself)."""
        where = self.key_path(key) if key is not None else (self.path or TOP_LEVEL)
        return ConfigError(self.source, where, problem)

    def check_keys(self, known: Iterable[str]) -> None:
        """Refuse any key not in ``known``, to catch typos."""
        known = list(known)
        for key in self.data:
            if key not in known:
                raise self.error(str(key), 'unknown key (known: {})'.format(', '.join(known)))

    def raw(self, key: str) -> Any:
        """The value under ``key``, or None when it is unset."""
        value = self.data.get(key)
        return None if is_unset(value) else value

    def section(self, key: str, known: Optional[Iterable[str]] = None) -> 'Section':
        """The nested mapping under ``key``; an unset key gives an empty one."""
        value = self.raw(key)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise self.error(key, f'expected a mapping, got {_show(value)}')
        child = Section(value, self.source, self.key_path(key))
        if known is not None:
            child.check_keys(known)
        return child

    # a string comes back whenever there is a default or the key is required
    @overload
    def string(self, key: str, default: str, required: Optional[str] = None) -> str: ...

    @overload
    def string(self, key: str, default: None = None, *, required: str) -> str: ...

    @overload
    def string(
        self, key: str, default: Optional[str] = None, required: Optional[str] = None
    ) -> Optional[str]: ...

    def string(
        self, key: str, default: Optional[str] = None, required: Optional[str] = None
    ) -> Optional[str]:
        """A string value; ``required`` (a description) makes it mandatory."""
        value = self.raw(key)
        if value is None:
            if required is not None:
                raise self.error(key, f'missing ({required})')
            return default
        if not isinstance(value, str):
            raise self.error(
                key,
                f'expected a string, got {_show(value)} (put quotes around it if it is '
                'meant as text)',
            )
        return value

    # an integer comes back whenever there is a default
    @overload
    def integer(
        self, key: str, default: int, minimum: Optional[int] = None, maximum: Optional[int] = None
    ) -> int: ...

    @overload
    def integer(
        self,
        key: str,
        default: Optional[int] = None,
        minimum: Optional[int] = None,
        maximum: Optional[int] = None,
    ) -> Optional[int]: ...

    def integer(
        self,
        key: str,
        default: Optional[int] = None,
        minimum: Optional[int] = None,
        maximum: Optional[int] = None,
    ) -> Optional[int]:
        """An integer value within [minimum, maximum]."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                key,
                'expected {}, got {}'.format(
                    _range_text('an integer', minimum, maximum), _show(value)
                ),
            )
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.error(
                key,
                'expected {}, got {}'.format(_range_text('an integer', minimum, maximum), value),
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        """true/false (YAML booleans only, so 'no' typed as text is not silently True)."""
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f'expected true or false, got {_show(value)}')
        return value

    def positive_number(self, key: str, default: float) -> float:
        """An int or float strictly greater than zero."""
        value = self.raw(key)
        if value is None:
            return float(default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f'expected a number of seconds > 0, got {_show(value)}')
        if not value > 0 or value == float('inf'):
            raise self.error(key, f'expected a finite number of seconds > 0, got {value}')
        return float(value)


def _range_text(what: str, minimum: Optional[int], maximum: Optional[int]) -> str:
    if minimum is not None and maximum is not None:
        return f'{what} from {minimum} to {maximum}'
    if minimum is not None:
        return f'{what} >= {minimum}'
    if maximum is not None:
        return f'{what} <= {maximum}'
    return what
