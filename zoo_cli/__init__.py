"""zoo: user-owned AI models as NFTs (ZIP-6)."""

__version__ = "0.1.0"
