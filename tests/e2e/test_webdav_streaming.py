"""Large files stream through /files, and a whole job runs on WebDAV uploads."""

from .webdav_fixtures import *  # noqa: F401,F403 (fixtures and helpers)

_SERVER_SCRIPT = """
import sys
from cerise_actors.web.dispatch import mount
from cerise_actors.web.files import make_files_app
from cerise_actors.web.server import HttpServer
server = HttpServer(mount(lambda e, s: [], '/files', make_files_app(sys.argv[1])),
                    '127.0.0.1', 0)
server.start()
print(server.port, flush=True)
sys.stdin.read()
server.stop()
"""


def _peak_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM')


def test_a_50_mb_file_streams_both_ways(tmp_path):
    size = 50 * 1024 * 1024
    source = tmp_path / 'big.bin'
    digest = hashlib.sha256()
    with open(source, 'wb') as f:
        block = os.urandom(1024 * 1024)
        for i in range(50):
            chunk = bytes([i]) + block[1:]
            digest.update(chunk)
            f.write(chunk)
    exchange = tmp_path / 'exchange'
    exchange.mkdir()
    proc = subprocess.Popen(
        [sys.executable, '-c', _SERVER_SCRIPT, str(exchange)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=str(REPO_DIR),
    )
    try:
        port = int(proc.stdout.readline())
        url = f'http://127.0.0.1:{port}/files'
        with _dav(url, timeout=120) as dav:
            dav.upload_fileobj(io.BytesIO(b'warm up'), 'warm/up.txt')
            dav.download_fileobj('warm/up.txt', io.BytesIO())
            baseline = _peak_kib(proc.pid)
            dav.upload_file(source, 'input/big/big.bin')
            assert (exchange / 'input' / 'big' / 'big.bin').stat().st_size == size
            got, length = hashlib.sha256(), 0
            with urllib.request.urlopen(f'{url}/input/big/big.bin', timeout=120) as resp:
                assert resp.headers['Content-Length'] == str(size)
                while True:
                    chunk = resp.read(1024 * 1024)
                    if not chunk:
                        break
                    got.update(chunk)
                    length += len(chunk)
            assert length == size and got.hexdigest() == digest.hexdigest()
            growth = _peak_kib(proc.pid) - baseline
        # Whole-file buffering would add at least 50 MiB. Streaming still costs
        # something: waitress queues up to outbuf_high_watermark (16 MiB) of
        # response per connection before it makes the app wait.
        assert growth < 32 * 1024, f'server peak memory grew by {growth} KiB for 50 MiB'
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# --- the whole service, with the wiring of system.py ----------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_job_with_inputs_over_webdav_and_outputs_over_http(tmp_path):
    """The issue's end-to-end check, through the service's own wiring of /files.

    The port is chosen first because store-location-client must name it.
    """
    root = tmp_path / 'svc'
    root.mkdir()
    port = _free_port()
    files_url = f'http://127.0.0.1:{port}/files'
    data = service_config_dict(root)
    data['rest-service']['port'] = port
    data['client-file-exchange']['store-location-client'] = files_url
    config = service_config_from_dict(data, env={})
    exchange = config.exchange_service_dir
    with (
        running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root)) as service,
        _dav(files_url) as dav,
    ):
        base = service.base_url.rstrip('/')
        dav.upload_fileobj(io.BytesIO(wf.WC.encode()), 'input/webdav/wc.cwl')
        dav.upload_fileobj(io.BytesIO(b'over webdav\n'), 'input/webdav/data/in.txt')
        status, job, _ = http(
            'POST',
            f'{base}/jobs',
            {
                'name': 'webdav',
                'workflow': f'{files_url}/input/webdav/wc.cwl',
                'input': {
                    'file': {'class': 'File', 'location': f'{files_url}/input/webdav/data/in.txt'}
                },
            },
        )
        assert status == 201, job
        job_id = job['id']

        def finished():
            current = http('GET', f'{base}/jobs/{job_id}')[1]
            return current if current['state'] in FINAL else None

        done = wait_for(finished, timeout=120, message='the job to finish')
        assert done['state'] == 'Success', http('GET', f'{base}/jobs/{job_id}/log')[1]

        location = done['output']['output']['location']
        assert location.startswith(f'{files_url}/output/{job_id}/'), location
        with urllib.request.urlopen(location, timeout=30) as resp:
            assert resp.read().decode().split()[:3] == ['1', '2', '12']
        relative = location[len(files_url) + 1 :]
        assert dav.exists(relative)
        assert any(e['type'] == 'file' for e in dav.ls(f'output/{job_id}', detail=True))

        assert http('DELETE', f'{base}/jobs/{job_id}')[0] == 204
        wait_for(
            lambda: not (exchange / 'output' / job_id).exists(),
            timeout=60,
            message="the job's output folder to go",
        )
        assert not dav.exists(f'output/{job_id}')
        assert http('GET', location)[0] == 404

        dav.remove('input/webdav')  # a client removes what it uploaded
        assert not (exchange / 'input' / 'webdav').exists()
        assert not dav.exists('input/webdav')
        assert http('GET', f'{base}/jobs')[0] == 200  # /jobs still answers beside /files
