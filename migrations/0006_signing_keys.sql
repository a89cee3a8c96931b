-- Token-signing keys for JWT_ALGORITHM=EdDSA or ES256, made by itsor itself (on first use,
-- or by `itsor keys rotate`). `kid` is the key's RFC 7638 thumbprint; `public_jwk` its
-- public JWK members; `sealed_private_key` the private key encrypted (ChaCha20-Poly1305)
-- under a key derived from JWT_SECRET: this table never holds a private key in the clear.
-- The newest key of an algorithm signs; an older one stays published until its successor
-- is older than the longest token lifetime.
CREATE TABLE IF NOT EXISTS signing_keys (
    kid                TEXT PRIMARY KEY NOT NULL,
    algorithm          TEXT NOT NULL,
    public_jwk         TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at         TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_signing_keys_algorithm_created_at ON signing_keys (algorithm, created_at);
