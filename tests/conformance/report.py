"""The results of a conformance run: counts by tag, failures, reasons grouped, JSON."""

import json
import re
from collections import Counter
from pathlib import Path
from typing import List

RUNNERS = ('service', 'cwltool')


def count_passed(results: List[dict], runner: str) -> int:
    return sum(1 for item in results if (item.get(runner) or {}).get('passed'))


def by_tag(results: List[dict], ran: tuple = RUNNERS) -> dict:
    """tag -> {'eligible': n, 'service': passed, 'cwltool': passed} (None: not run)."""
    table = {}
    for item in results:
        for tag in item['tags'] or ('(no tag)',):
            row = table.setdefault(tag, {'eligible': 0, 'service': 0, 'cwltool': 0})
            row['eligible'] += 1
            for runner in RUNNERS:
                row[runner] += bool((item.get(runner) or {}).get('passed'))
    for row in table.values():
        row.update({runner: None for runner in RUNNERS if runner not in ran})
    return dict(sorted(table.items(), key=lambda entry: (-entry[1]['eligible'], entry[0])))


def summary(results: List[dict], selection_lines: List[str], seconds: float, ran: tuple) -> dict:
    return {
        'selection': selection_lines,
        'selected': len(results),
        'service_passed': count_passed(results, 'service') if 'service' in ran else None,
        'cwltool_passed': count_passed(results, 'cwltool') if 'cwltool' in ran else None,
        'seconds': round(seconds, 1),
        'by_tag': by_tag(results, ran),
    }


_REQUIREMENT = re.compile(r"(requirement|hint) '([^']+)' is not allowed")
_GROUPS = (
    (re.compile(r"uses '(\$\w+)'"), lambda m: f"'{m.group(1)}' refused"),
    (re.compile(r'contains a JavaScript expression'), lambda m: "JavaScript '${...}' refused"),
    (re.compile(r"'expressionLib'"), lambda m: 'expressionLib refused'),
    (
        re.compile(r"the (\w+) at .* has a '(location|path)'"),
        lambda m: f'{m.group(1)} literal with a {m.group(2)} refused',
    ),
    (re.compile(r'namespaced keys and extensions'), lambda m: 'namespaced key refused'),
    (re.compile(r'inline tools and workflows'), lambda m: 'inline run refused'),
    (re.compile(r'unknown step'), lambda m: 'unknown step'),
    (re.compile(r'Missing required\s+secondary file'), lambda m: 'missing secondary file'),
    (re.compile(r'could not install its steps'), lambda m: 'steps not installable'),
    (re.compile(r'cannot import other documents'), lambda m: 'import of another document refused'),
    (re.compile(r'No such file or directory'), lambda m: 'a file missing when a step ran'),
    (re.compile(r'no final state after'), lambda m: 'timed out'),
)


def reason_group(reason: str) -> str:
    """A failure reason without what is particular to one test, for counting."""
    found = _REQUIREMENT.search(reason)
    if found:
        return f'{found.group(1)} {found.group(2)} refused'
    for pattern, name in _GROUPS:
        found = pattern.search(reason)
        if found:
            return name(found)
    text = reason.split(' | ', 1)[0]  # cwltool's error, without the outcome line
    text = re.sub(r'\S+\.cwl:\d+:\d+:\s*', '', text)  # where in the workflow
    text = re.sub(r"'[^']*'|\"[^\"]*\"", '…', text)
    text = re.sub(r'(file://)?/\S+', '…', text)
    text = re.sub(r'\d+', 'N', text)
    return text[:110]


def format_report(data: dict) -> str:
    """The tables and failure lists as text."""
    results, head = data['tests'], data['summary']
    lines = list(head['selection']) + ['']
    lines.append(f'{"tag":<22}{"eligible":>9}{"service":>9}{"cwltool":>9}')
    total = {runner: head[f'{runner}_passed'] for runner in RUNNERS}
    for tag, row in head['by_tag'].items():
        passed = [_n(row[runner]) for runner in RUNNERS]
        lines.append(f'{tag:<22}{row["eligible"]:>9}{passed[0]:>9}{passed[1]:>9}')
    lines.append(
        f'{"all":<22}{head["selected"]:>9}{_n(total["service"]):>9}{_n(total["cwltool"]):>9}'
    )
    lines.append('')
    for runner in RUNNERS:
        if total[runner] is None:
            lines.append(f'{runner}: not run')
            continue
        failed = [item for item in results if not item[runner]['passed']]
        lines.append(f'{runner}: {total[runner]} of {len(results)} passed; {len(failed)} failed')
        groups = Counter(reason_group(item[runner]['reason']) for item in failed)
        for group, count in groups.most_common():
            lines.append(f'  {count:4d}  {group}')
        for item in failed:
            first = (item[runner]['reason'] or item[runner]['state']).splitlines()[0]
            lines.append(f'    {item["id"]}: {first[:200]}')
        lines.append('')
    lines.append(f'{len(results)} tests in {head["seconds"]:.0f} s')
    return '\n'.join(lines)


def _n(value) -> str:
    return '-' if value is None else str(value)


def write_json(data: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(data, indent=2, default=str) + '\n')
