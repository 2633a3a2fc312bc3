"""Web3 Secret Storage v3 keystore in ``$ZOO_HOME/keystore/`` (interoperable with cast/geth).

One standard v3 JSON file per account, named ``<name>.json`` (the file name carries the
account name; the JSON stays exactly what eth-account/cast/geth read and write). Files are
written atomically with mode 0600. User accounts use eth-account's default scrypt
parameters; the public dev accounts use a light scrypt so tests stay fast.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from zoo_cli.errors import BadInput, NotFound, OperationFailed, PermissionDenied
from zoo_cli.fsutil import atomic_write

# The ten accounts of anvil's default mnemonic
# "test test test test test test test test test test test junk" (m/44'/60'/0'/0/i).
# They are public: never use them on a real chain.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
DEV_ADDRESSES: tuple[str, ...] = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)
DEV_NAMES: tuple[str, ...] = tuple(f"dev{i}" for i in range(10))
DEV_PASSWORD = "zoo-dev"
# Light scrypt for the public dev keys only (still a valid v3 file; cast reads it).
LIGHT_SCRYPT_N = 2**10

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ADDR_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class KeyEntry:
    """One keystore file: account ``name``, checksummed ``address``, file ``path``."""

    name: str
    address: str
    path: Path

    @property
    def is_dev(self) -> bool:
        return is_dev(self)


_DEV_LOWER = frozenset(a.lower() for a in DEV_ADDRESSES)


def is_dev_address(address: str) -> bool:
    """True for the addresses of the public dev keys."""
    return str(address).lower() in _DEV_LOWER


def is_dev(entry: KeyEntry) -> bool:
    """True for the public dev accounts (by address, whatever the name): refused off dev chains."""
    return is_dev_address(entry.address)


DEV_MARKER = "x-zoo-dev"  # top-level field of the v3 file that `zoo init --dev` wrote (readers ignore it)


def uses_dev_password(entry: KeyEntry) -> bool:
    """True only for the dev keystores zoo itself created (``zoo init --dev``): they are marked
    with ``"x-zoo-dev": true``. A dev *address* imported by the user (``zoo account import`` of
    an anvil key) is locked with the user's own password, which is asked for as usual.
    Files written by zoo before the marker existed are recognised by what only init wrote:
    a dev address with the light scrypt of the dev accounts."""
    if not is_dev(entry):
        return False
    try:
        doc = json.loads(entry.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(doc, dict):
        return False
    if DEV_MARKER in doc:
        return doc[DEV_MARKER] is True
    crypto = doc.get("crypto") or doc.get("Crypto")
    if not isinstance(crypto, dict) or not isinstance(crypto.get("kdfparams"), dict):
        return False
    return crypto.get("kdf") == "scrypt" and crypto["kdfparams"].get("n") == LIGHT_SCRYPT_N


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise BadInput(
            f"invalid account name {name!r}",
            hint="use 1-64 characters from A-Z a-z 0-9 _ -",
        )
    return name


def _address_of(doc: dict) -> str | None:
    addr = doc.get("address")
    if not isinstance(addr, str):
        return None
    addr = addr if addr.startswith("0x") else "0x" + addr
    return _checksum(addr) if _ADDR_RE.match(addr) else None


class Keystore:
    """The account keystore directory."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)

    # -- listing and lookup ------------------------------------------------------------
    def list(self) -> list[KeyEntry]:
        """Every account, sorted by name (dev accounts in numeric order)."""
        entries: list[KeyEntry] = []
        if not self.dir.is_dir():
            return entries
        for path in self.dir.glob("*.json"):
            name = path.stem
            if not _NAME_RE.match(name):
                continue
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            address = _address_of(doc) if isinstance(doc, dict) else None
            if address:
                entries.append(KeyEntry(name, address, path))

        def key(e: KeyEntry):
            m = re.fullmatch(r"dev(\d+)", e.name)
            return (0, int(m.group(1)), "") if m else (1, 0, e.name)

        return sorted(entries, key=key)

    def resolve(self, name_or_address: str | None) -> KeyEntry:
        """Find an account by name or address (case-insensitive address match)."""
        if not name_or_address:
            raise NotFound(
                "no account selected",
                hint="pass --account NAME, set ZOO_ACCOUNT, or run `zoo init --dev` / `zoo account new NAME`",
            )
        entries = self.list()
        for e in entries:
            if e.name == name_or_address:
                return e
        if _ADDR_RE.match(name_or_address):
            for e in entries:
                if e.address.lower() == name_or_address.lower():
                    return e
        path = self.dir / f"{name_or_address}.json"
        if _NAME_RE.match(name_or_address) and path.exists():
            raise BadInput(f"keystore file {path} is unreadable or not a v3 keystore",
                           hint="restore it from a backup, or re-import the key with `zoo account import`")
        raise NotFound(f"unknown account {name_or_address!r}", hint="zoo account list")

    def exists(self, name: str) -> bool:
        return (self.dir / f"{name}.json").exists()

    # -- creating ---------------------------------------------------------------------
    def _write(self, name: str, keyfile: dict) -> KeyEntry:
        path = self.dir / f"{name}.json"
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.dir.chmod(0o700)
        except OSError:
            pass
        atomic_write(path, json.dumps(keyfile).encode("utf-8"), mode=0o600)
        return KeyEntry(name, _checksum("0x" + keyfile["address"].removeprefix("0x")), path)

    def _check_new(self, name: str, address: str | None = None) -> None:
        validate_name(name)
        if self.exists(name):
            raise BadInput(f"account {name!r} already exists", hint="zoo account list")
        if address:
            for e in self.list():
                if e.address.lower() == address.lower():
                    raise BadInput(
                        f"address {e.address} is already in the keystore as {e.name!r}",
                        hint=f"zoo account show {e.name}",
                    )

    def _encrypt(self, key: bytes, password: str, light_kdf: bool) -> dict:
        from eth_account import Account

        kwargs = {"iterations": LIGHT_SCRYPT_N} if light_kdf else {}
        return Account.encrypt(key, password, kdf="scrypt", **kwargs)

    def new(self, name: str, password: str, light_kdf: bool = False) -> KeyEntry:
        """Create a fresh random account."""
        import secrets

        validate_name(name)
        self._check_new(name)
        return self._write(name, self._encrypt(secrets.token_bytes(32), password, light_kdf))

    def import_private_key(self, name: str, key: bytes | str, password: str,
                           light_kdf: bool = False) -> KeyEntry:
        """Import a raw 32-byte private key (bytes, or hex text with or without 0x)."""
        key_bytes = parse_private_key(key)
        from eth_account import Account

        address = Account.from_key(key_bytes).address
        self._check_new(name, address)
        # an imported key is locked with the user's password, even at a public dev address
        return self._write(name, {**self._encrypt(key_bytes, password, light_kdf), DEV_MARKER: False})

    def import_keystore(self, name: str, path: Path, password: str) -> KeyEntry:
        """Copy an existing v3 keystore file after checking that ``password`` opens it."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"keystore file {path} not found") from None
        except (OSError, ValueError) as exc:
            raise BadInput(f"{path} is not a keystore file: {exc}") from None
        if not isinstance(doc, dict) or "crypto" not in doc and "Crypto" not in doc:
            raise BadInput(f"{path} is not a Web3 Secret Storage (v3) keystore file")
        key = _decrypt(doc, password, str(path))
        from eth_account import Account

        address = Account.from_key(key).address
        doc_addr = _address_of(doc)
        if doc_addr and doc_addr.lower() != address.lower():
            raise BadInput(f"{path}: address field does not match the key")
        self._check_new(name, address)
        doc = dict(doc)
        doc["address"] = address[2:].lower()
        doc[DEV_MARKER] = False  # the user's password opened it: it stays the one to use
        return self._write(name, doc)

    # -- unlocking ----------------------------------------------------------------------
    def unlock(self, entry: KeyEntry | str, password: str):
        """Decrypt ``entry`` with ``password`` -> eth_account LocalAccount (wrong: exit 4)."""
        if isinstance(entry, str):
            entry = self.resolve(entry)
        try:
            doc = json.loads(entry.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OperationFailed(f"cannot read keystore {entry.path}: {exc}") from None
        from eth_account import Account

        return Account.from_key(_decrypt(doc, password, entry.name))


def _decrypt(doc: dict, password: str, label: str) -> bytes:
    from eth_account import Account

    try:
        return bytes(Account.decrypt(doc, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc) or "mac" in str(exc).lower():
            raise PermissionDenied(
                f"wrong password for {label}",
                hint="check --password-file / ZOO_PASSWORD_FILE / ZOO_PASSWORD",
            ) from None
        raise BadInput(f"cannot decrypt {label}: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise BadInput(f"{label} is not a valid v3 keystore ({exc})",
                       hint="pass a Web3 Secret Storage v3 file (e.g. from `cast wallet new`)") from None


def parse_private_key(key: bytes | str) -> bytes:
    """Accept 32 raw bytes or hex text (optional 0x, surrounding whitespace)."""
    if isinstance(key, (bytes, bytearray)):
        raw = bytes(key)
        if len(raw) != 32:
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                raise BadInput("private key must be 32 bytes or 64 hex characters") from None
            return parse_private_key(text)
        return raw
    text = key.strip().removeprefix("0x").removeprefix("0X")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise BadInput("private key must be 64 hex characters (optionally prefixed by 0x)")
    raw = bytes.fromhex(text)
    n = int.from_bytes(raw, "big")
    if not 0 < n < 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141:
        raise BadInput("private key is out of range for secp256k1")
    return raw


def import_dev_accounts(keystore: Keystore) -> list[KeyEntry]:
    """Import dev0..dev9 with password ``zoo-dev`` and a light KDF; existing ones are kept."""
    entries = []
    by_name = {e.name: e for e in keystore.list()}
    for name, key, address in zip(DEV_NAMES, DEV_PRIVATE_KEYS, DEV_ADDRESSES):
        existing = by_name.get(name)
        if existing is not None:
            if existing.address.lower() != address.lower():
                raise BadInput(
                    f"account {name!r} exists and is not the dev account {address}",
                    hint=f"rename or remove {existing.path}",
                )
            entries.append(existing)
            continue
        entries.append(keystore._write(
            name, {**keystore._encrypt(bytes.fromhex(key[2:]), DEV_PASSWORD, True), DEV_MARKER: True}))
    return entries
