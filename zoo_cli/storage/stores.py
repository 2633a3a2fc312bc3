"""Which store a home uses: the embedded blockstore or a Kubo RPC API (``open_storage``).

Kept apart from ``storage/backend.py`` (the interface both stores implement) so that the
interface never imports its implementations.
"""

from __future__ import annotations

from zoo_cli.storage.backend import StorageBackend


def open_storage(settings) -> StorageBackend:
    """Embedded blockstore in ``settings.ipfs_dir`` unless ``settings.ipfs`` names a Kubo RPC API
    (``/ip4/H/tcp/P``, ``/dns/H/tcp/P``, or ``http://H:P``). The embedded store asks
    ``settings.gateways`` (IPFS trustless gateways) for blocks it lacks, hash-checking each."""
    if not getattr(settings, "ipfs", None):
        from zoo_cli.storage.embedded import EmbeddedStore

        return EmbeddedStore(settings.ipfs_dir, gateways=tuple(getattr(settings, "gateways", ()) or ()))
    from zoo_cli.storage.kubo import KuboStore

    return KuboStore(settings.ipfs)
