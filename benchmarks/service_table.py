"""The table service_benchmark.py prints: each figure beside its target (issue 5)."""


def table(r: dict) -> str:
    """The figures beside the issue's targets, as a Markdown table."""
    sub, lat, burst = r['submission'], r['latency'], r['burst']
    rows = [
        (
            f'{sub["count"]:,} POST /jobs from 8 threads while the back end runs them',
            f'{sub["per_s"]:.0f} per s, p50 {sub["p50_ms"]:.1f} ms, p99 {sub["p99_ms"]:.1f} ms, '
            f'{sub["errors"]} errors, {sub["lost"]} lost',
            '>= 1,000 per s, p99 < 50 ms',
        ),
        (
            'added latency, 20 trivial jobs in a row',
            f'median {lat["added_median_s"] * 1e3:.1f} ms, p90 {lat["added_p90_s"] * 1e3:.1f} ms '
            f'(runner alone {lat["runner_median_s"] * 1e3:.1f} ms)',
            'median < 20 ms',
        ),
        (
            f'burst of {burst["count"]:,} trivial jobs',
            f'{burst["seconds"]:.1f} s, {"all" if burst["all_success"] else "NOT all"} Success, '
            f'{burst["cpu_ms_per_job"]:.2f} ms service CPU per job',
            '< 15 s, < 5 ms per job',
        ),
    ]
    if 'wes' in r:
        wes = r['wes']
        rows.append(
            (
                f'through WES: {wes["count"]:,} POST /ga4gh/wes/v1/runs (one attachment); '
                'added latency, 20 runs',
                f'{wes["per_s"]:.0f} per s, p50 {wes["p50_ms"]:.1f} ms, p99 {wes["p99_ms"]:.1f} ms, '
                f'{wes["errors"]} errors, {wes["lost"]} lost; added median '
                f'{wes["added_median_s"] * 1e3:.1f} ms, p90 {wes["added_p90_s"] * 1e3:.1f} ms',
                'beside /jobs',
            )
        )
    if 'store' in r:
        st = r['store']
        rows += [
            (
                f'GET /jobs/{{id}} with {st["jobs"]:,} jobs stored',
                f'p50 {st["get_p50_ms"]:.2f} ms, p99 {st["get_p99_ms"]:.2f} ms; '
                f'GET /jobs {st["list_s"] * 1e3:.0f} ms',
                'p99 < 5 ms',
            ),
            (
                'start-up',
                f'{r["startup_empty_s"]:.2f} s empty, {r["startup_with_jobs_s"]:.2f} s '
                f'with {st["jobs"]:,} jobs',
                '< 2 s',
            ),
        ]
    rows.append(
        (
            'memory (RSS)',
            f'{r["rss_idle_mib"]:.0f} MiB idle, {r["rss_after_jobs_mib"]:.0f} MiB after the jobs',
            '< 50 MiB idle, < 80 MiB after 10,000',
        )
    )
    if 'runner' in r:
        rows += _runner_rows(r['runner'])
    lines = ['| figure | measured | target (issue 5) |', '| --- | --- | --- |']
    lines += [f'| {a} | {b} | {c} |' for a, b, c in rows]
    return '\n'.join(lines)


def _runner_rows(rn: dict) -> list:
    """Issue 14: a trivial one-step workflow, cwltool alone, cold runner, warm runner."""
    cold, warm = rn['cold'], rn['warm']
    memory = warm.get('memory_after') or warm.get('memory_idle') or {}

    def burst(b):
        return f'{b["seconds"]:.1f} s, {"all" if b["all_success"] else "NOT all"} Success'

    return [
        (
            'one trivial job, submit -> final: cwltool alone / cold runner / warm runner',
            f'{rn["cwltool_alone_median_s"]:.2f} s / {cold["one_job_median_s"]:.2f} s / '
            f'{warm["one_job_median_s"]:.2f} s (warm = {rn["warm_vs_cwltool"]:.0%} of cwltool)',
            'warm <= 50 % of cwltool alone (issue 14)',
        ),
        (
            f'{cold["burst"]["count"]} trivial jobs at once: cold runner / warm runner',
            f'{burst(cold["burst"])} / {burst(warm["burst"])} '
            f'(warm = {rn["burst_warm_vs_cold"]:.0%} of cold)',
            'warm <= 50 % of cold (issue 14)',
        ),
        (
            'warm runner memory',
            f'RSS {memory.get("vmrss_mib", float("nan")):.0f} MiB, '
            f'PSS {memory.get("pss_mib", float("nan")):.0f} MiB',
            'reported (issue 14)',
        ),
    ]


def runner_table(rn: dict) -> str:
    """The issue 14 rows alone (service_benchmark.py --runner-only)."""
    lines = ['| figure | measured | target |', '| --- | --- | --- |']
    lines += [f'| {a} | {b} | {c} |' for a, b, c in _runner_rows(rn)]
    return '\n'.join(lines)
