"""Packaging for cerise-actors: a REST service that runs specialised CWL workflows."""

from setuptools import find_packages, setup

setup(
    name='cerise-actors',
    version='0.1.0.dev0',
    description='Run CWL workflows built from predefined steps on local and remote '
    'compute resources, through a Cerise-compatible REST API.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    # 3.9 resolves in under a minute with pip 23.3 or later. Older pip (3.9's venv brings
    # 23.0) backtracks for over 15 minutes through cwltool's dependencies when the index
    # does not publish each file's Requires-Python (a plain folder of wheels): it then
    # tries the 3.10-only releases of ~30 of them (click, filelock, markdown-it-py ...)
    # one by one. Upper bounds on all of those here would be a second lock file, so the
    # docs and tox.ini ask for a newer pip instead; no 3.9-only bound is needed.
    python_requires='>=3.9',
    packages=find_packages(include=['cerise_actors', 'cerise_actors.*']),
    include_package_data=True,
    package_data={
        'cerise_actors': [
            'builtin_api/**/*',
            'web/openapi.yaml',
            'web/wes/openapi.yaml',
            # the bash templates of the job script and the scheduler commands
            'resource/scripts/*.sh',
        ],
    },
    install_requires=[
        'pykka>=4,<5',
        'falcon>=3.1,<5',
        'waitress>=2.1',
        'peewee>=4.5,<5',  # its stubs type the store's models (mypy.ini)
        'paramiko>=3.4',
        'pyyaml>=6',
        'cwltool>=3.1',
        'wsgidav>=4.3.5,<5',
        'mini-racer>=0.12',
        # /metrics in the Prometheus text format (app/metrics.py, its only importer)
        'prometheus-client>=0.16',
    ],
    extras_require={
        # ruff is pinned: another version may format the tree differently
        'test': [
            'pytest>=7',
            'pytest-timeout>=2',
            'pytest-cov>=4',
            'webdav4>=0.10,<1',
            'ruff==0.17.6',
            # its output comparison, for the CWL conformance run (tests/conformance)
            'cwltest',
            # wes-client, the GA4GH reference WES client: tests/e2e/test_wes_client.py
            'wes-service==5.0',
            # property tests of the trust boundary (tests/security, tests/unit/test_boundary_*):
            # generated hostile documents, names and addresses find what examples miss
            'hypothesis>=6',
            # the Cerise client users have (it imports docker undeclared): tests/auth/test_cerise_client.py
            'cerise-client==0.3.1',
            'docker',
            # drives Debian's chromium (.ci/run installs it) in tests/auth/test_ui_browser.py
            'selenium>=4.10',
            # the type check of the whole package (mypy.ini, run by .ci/run), with
            # the stubs of the two dependencies that ship none
            # pinned as ruff is: another version may find other errors (it needs Python 3.10+)
            'mypy==2.4.1; python_version >= "3.10"',
            'types-PyYAML',
            'types-paramiko',
        ],
    },
    entry_points={
        'console_scripts': ['cerise-actors=cerise_actors.cli:main'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'License :: OSI Approved :: Apache Software License',
        'Operating System :: POSIX :: Linux',
    ],
)
