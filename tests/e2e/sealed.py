"""A model NFT with a real (encrypted, UnixFS) container but no training run: the container is
sealed in-process for its owner and minted with `mintModelWithHash`. For tests of key
delivery, gateways and sales, which need a container to move around, not a trained adapter."""

from __future__ import annotations

import os

from e2e.zoocli import Zoo


def sealed_token(zoo: Zoo, account: str = "dev0", *, size: int = 600_000, gateways: tuple = ()) -> tuple[int, dict]:
    """Mint a token owned by ``account`` whose container holds ``size`` random bytes (several
    blocks); returns (token id, the plaintext files)."""
    from zoo_cli.config import load_settings
    from zoo_cli.storage.container import seal_model
    from zoo_cli.workflows.session import Session, event_arg

    network = (zoo.network or "anvil") if zoo.rpc else None
    settings = load_settings(home=zoo.home, rpc=zoo.rpc, network=network, account=account)
    files = {"adapter/adapter_model.safetensors": os.urandom(size), "adapter/adapter_config.json": b"{}"}
    with Session(settings) as s:
        sealed = seal_model(s.storage, files, {"base_model": "zoo-tiny", "kinds": ["lora"]},
                            {s.address: s.keys.public_bundle()})
        res = s.transact(s.nft.functions.mintModelWithHash(s.address, b"\x01" * 32, sealed.digest32, ""))
        return int(event_arg(res, "ModelMinted", "tokenId")), files
