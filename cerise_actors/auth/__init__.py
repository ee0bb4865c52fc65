"""Who is asking: the service's tokens, its users, and signed download URLs.

Standard library only, at the bottom of the layers beside `boundary/`, so
the rules of who may use the service are read in one sitting:

- `secret_files.py`: the random secrets the service keeps in its run folder
  (the token of `auth: token`, the key that signs download URLs), made at
  the first start with mode 0600 and reused at the next.
- `hashing.py`: tokens as the users file keeps them (salted SHA-256), and
  timing-safe comparison.
- `users.py`: the users file (`rest-service.users`): user names and their
  token hashes, and adding a user.
- `authenticator.py`: a request's credentials (`Authorization: Bearer`,
  HTTP Basic with the token as password, or a signed download URL) to the
  user they belong to, or the reason they are refused.
- `signing.py`: signed, expiring, per-file URLs for outputs, so that
  clients which download without credentials (cerise-client 0.3.1) still
  can, and the token never appears in a URL the service hands out.

Every check fails closed: what cannot be read or verified is refused.
"""
