-- Platform administrators: users who may create organizations (the first-run administrator
-- and anyone the operator names with `trestle admin create-user --platform-admin`).
-- Kept apart from `users` so granting the right is an explicit, audited row.

CREATE TABLE platform_admins (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    granted_at TEXT NOT NULL
);
