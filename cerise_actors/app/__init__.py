"""The composition root: the only package that imports actors, store and web
together. `running_service` runs the whole service in this process."""

from .system import CeriseService, running_service

__all__ = ['CeriseService', 'running_service']
