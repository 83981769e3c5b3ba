"""certpipe: certificate material in, Azure Key Vault-ready bundles and reports out."""

__version__ = "0.1.0"
