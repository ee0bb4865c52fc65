"""Every default, time-out, size and pool size of the service, in one place.

Settings a user can change are documented in docs/configuration.md and
start from the values here; the rest are limits the code relies on. Each
value is defined here only, so two parts of the service cannot disagree.
"""

# --- service settings (conf/config.yml) -----------------------------------
#: where the REST API listens unless `rest-service` says otherwise
HOSTNAME = '127.0.0.1'
PORT = 29593

# --- compute-resource settings (api/config.yml) ---------------------------
#: seconds between two status queries of the scheduler
REFRESH = 10.0
#: seconds without contact with the resource before job logs say so
CONTACT_TIMEOUT = 600.0
#: cores of one node of a batch cluster, to turn cores into nodes
CORES_PER_NODE = 32
SSH_PORT = 22
#: the service's folder on the resource; $CERISE_USERNAME is the login user
FILES_PATH = '/home/$CERISE_USERNAME/.cerise'
#: seconds to connect, authenticate or open a channel over SSH
SSH_TIMEOUT = 30.0
#: seconds for one command or one transfer step on the resource
COMMAND_TIMEOUT = 120.0
#: seconds a seconds-long shell command may take when no caller says otherwise
SHELL_TIMEOUT = 60.0
#: seconds between SSH keep-alive packets
SSH_KEEPALIVE = 30

#: seconds between the watchdog's TERM and KILL of a runner at its time limit
WATCHDOG_GRACE = 2
#: seconds between TERM and KILL when a direct job is cancelled
CANCEL_GRACE = 3
#: seconds between looks for exit-code files when pidfds cannot be used
QUICK_CHECK = 0.01
#: SFTP channels kept open per connection
SFTP_CHANNELS = 4
#: seconds the resource may take to say how many cores it has
NPROC_TIMEOUT = 120.0

# --- actors ---------------------------------------------------------------
#: how long a worker waits for the StoreActor (or an actor to stop)
ASK_TIMEOUT = 60.0
#: how long an HTTP request waits for the StoreActor before answering 503;
#: shorter than ASK_TIMEOUT so a client hears "try again" before it gives up
WEB_ASK_TIMEOUT = 20.0
#: how long installing a specialisation (its install.sh) may take
INSTALL_TIMEOUT = 3600.0
#: stagers side by side, so one large upload does not hold up the others
STAGER_THREADS = 2
#: the most stagers the pool grows to while slow sources hold the others
STAGER_MAX = 8
#: seconds on one job after which a stager counts as slow, and the pool grows
STAGER_SLOW_AFTER = 5.0
#: the longest the poller waits between queries while the resource fails
MAX_BACKOFF = 60.0
#: seconds after which a cancel that did not stop the job is sent again
RECANCEL_AFTER = 30.0

# --- staging --------------------------------------------------------------
#: bytes copied per read or write between file systems
CHUNK = 1 << 20
#: bytes read per step from an SSH channel
SSH_CHUNK = 64 * 1024
#: seconds an http(s) source may stay silent
HTTP_TIMEOUT = 30.0
#: the largest workflow document accepted
MAX_WORKFLOW_BYTES = 16 * 1024 * 1024
#: the longest one source (an http(s) URL or an exchange file) may take to copy
FETCH_DEADLINE = 3600.0
#: the largest single source file copied to the resource
MAX_FETCH_BYTES = 64 * 1024**3
#: networks no http(s) source is fetched from (limits.fetch-deny): loopback,
#: link-local (cloud metadata at 169.254.169.254) and the unspecified addresses,
#: which reach this machine; IPv4-mapped forms are denied with them
FETCH_DENY = ('127.0.0.0/8', '::1/128', '169.254.0.0/16', 'fe80::/10', '0.0.0.0/8', '::/128')
#: the most redirects followed for one http(s) source
MAX_REDIRECTS = 5
#: the largest output JSON a runner may print; a larger one ends the job in
#: PermanentFailure (a Directory output of very many files makes it so)
MAX_OUTPUT_JSON = 16 * 1024 * 1024
#: the most files and folders one job publishes as outputs; more end the job in
#: PermanentFailure before any is copied
MAX_OUTPUT_FILES = 100_000
#: how much of the end of a failed runner's log is read, and shown
STDERR_TAIL_BYTES = 64 * 1024
STDERR_TAIL_LINES = 40

# --- web ------------------------------------------------------------------
#: the name prefix of an upload over /files that is still being written; such
#: files are hidden from listings and never staged as part of a Directory input
UPLOAD_PREFIX = '.cerise-upload-'
#: bytes read or written per step by /files; WsgiDAV's default is 8 KiB
DAV_BLOCK_SIZE = 64 * 1024
#: waitress threads answering HTTP requests
HTTP_THREADS = 8
#: the largest POST /jobs body (the job description with its input object)
MAX_REQUEST_BYTES = 2 * 1024 * 1024
#: HTTP connections open at once (waitress's connection_limit)
HTTP_CONNECTIONS = 1000
#: seconds an idle HTTP connection is kept (waitress's channel_timeout)
HTTP_IDLE_TIMEOUT = 30.0
#: seconds a stopping server lets the requests it is serving finish
HTTP_STOP_SECONDS = 5.0
#: runs in a page of GET /ga4gh/wes/v1/runs when the client names no page_size
WES_PAGE_SIZE = 100
#: the most jobs or runs in one page of GET /jobs?limit= or GET /runs; more is lowered to it
MAX_PAGE_SIZE = 10_000
#: the most workflow_attachment files in one POST /ga4gh/wes/v1/runs
MAX_WES_ATTACHMENTS = 10_000
#: the most files and folders one /files listing shows (PROPFIND, GET of a
#: folder, and all that one COPY of a folder walks); a folder with more is
#: refused with 403 (a listing of 200,000 files took 1 GB of memory)
MAX_LISTING_ENTRIES = 10_000

# --- who may use the service (rest-service.auth, docs/security.md) -------------
#: unfinished jobs one user may have at once (limits.active-jobs-per-user)
ACTIVE_JOBS_PER_USER = 1000
#: seconds a signed output URL handed out by GET /jobs/{id} or WES stays valid
SIGNED_URL_SECONDS = 24 * 3600
#: the token of `auth: token`, in the run folder (the database file's folder)
TOKEN_FILE = 'token'
#: the key that signs output URLs, beside it
URL_KEY_FILE = 'url-key'
