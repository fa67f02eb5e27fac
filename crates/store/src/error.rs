//! The one error type of the store.

/// Everything that can go wrong in the store. Each variant has a stable machine code
/// ([`StoreError::code`]) that the HTTP edge maps to a status.
///
/// Messages never contain SQL text, bound values, tokens or password hashes: database
/// errors are reduced to the kind of failure plus the database's own short message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or exists in another organization (the two are deliberately
    /// indistinguishable so ids of other tenants cannot be probed).
    #[error("{entity} not found")]
    NotFound { entity: &'static str },

    /// A uniqueness rule was violated (for example the e-mail address of a user).
    #[error("{entity} already exists: {detail}")]
    AlreadyExists {
        entity: &'static str,
        detail: &'static str,
    },

    /// The change is not allowed in the current state (for example a compare-and-set lost
    /// the race, or the last admin of an organization would be removed).
    #[error("conflict: {message}")]
    Conflict { message: String },

    /// A value given to the store is not acceptable; `field` says which one.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        field: &'static str,
        message: String,
    },

    /// A textual id could not be parsed.
    #[error("invalid {entity} id: expected a UUID such as 0190f1e2-7c4a-7d3e-9b1a-2f3c4d5e6f70")]
    InvalidId { entity: &'static str },

    /// The database URL is not one the store understands.
    #[error("invalid database URL: {message}")]
    InvalidDatabaseUrl { message: String },

    /// The database cannot be reached, the pool timed out, or the database is busy.
    #[error("database unavailable: {message}")]
    DatabaseUnavailable { message: String },

    /// Applying or validating migrations failed; the schema is not usable.
    #[error("database migration failed: {message}")]
    MigrationFailed { message: String },

    /// A stored value could not be decoded (the row does not match what this version expects).
    #[error("stored data could not be read: {message}")]
    CorruptData { message: String },

    /// Hashing or verifying a password failed for a reason other than a wrong password.
    #[error("password hashing failed: {message}")]
    PasswordHashing { message: String },

    /// Any other database error.
    #[error("database error: {message}")]
    Database { message: String },
}

impl StoreError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "NOT_FOUND",
            StoreError::AlreadyExists { .. } => "ALREADY_EXISTS",
            StoreError::Conflict { .. } => "CONFLICT",
            StoreError::InvalidInput { .. } => "INVALID_INPUT",
            StoreError::InvalidId { .. } => "INVALID_ID",
            StoreError::InvalidDatabaseUrl { .. } => "INVALID_DATABASE_URL",
            StoreError::DatabaseUnavailable { .. } => "DATABASE_UNAVAILABLE",
            StoreError::MigrationFailed { .. } => "MIGRATION_FAILED",
            StoreError::CorruptData { .. } => "DATA_CORRUPT",
            StoreError::PasswordHashing { .. } => "PASSWORD_HASHING_FAILED",
            StoreError::Database { .. } => "DATABASE_ERROR",
        }
    }

    pub(crate) fn invalid_input(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::InvalidInput {
            field,
            message: message.into(),
        }
    }

    /// Converts a sqlx error raised while working on `entity`. Unique violations become
    /// [`StoreError::AlreadyExists`], foreign-key violations [`StoreError::NotFound`] of the
    /// referenced row, connection trouble [`StoreError::DatabaseUnavailable`].
    pub(crate) fn from_sqlx(entity: &'static str, error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound { entity },
            sqlx::Error::Database(database_error) => {
                use sqlx::error::ErrorKind;
                match database_error.kind() {
                    ErrorKind::UniqueViolation => StoreError::AlreadyExists {
                        entity,
                        detail: "a row with the same unique value exists",
                    },
                    ErrorKind::ForeignKeyViolation => StoreError::NotFound {
                        entity: "referenced row",
                    },
                    ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                        StoreError::InvalidInput {
                            field: entity,
                            message: database_error.message().to_owned(),
                        }
                    }
                    _ => {
                        let code = database_error.code().map(|code| code.into_owned());
                        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), or PostgreSQL's
                        // "cannot connect now" / admin shutdown classes.
                        if code.as_deref() == Some("14") {
                            return StoreError::DatabaseUnavailable {
                                message: "cannot open the SQLite database file: check that its \
                                          folder exists and is writable"
                                    .to_owned(),
                            };
                        }
                        let unavailable = matches!(
                            code.as_deref(),
                            Some("5" | "6" | "517" | "57P01" | "57P02" | "57P03" | "53300")
                        );
                        let message = match &code {
                            Some(code) => format!("{} (code {code})", database_error.message()),
                            None => database_error.message().to_owned(),
                        };
                        if unavailable {
                            StoreError::DatabaseUnavailable { message }
                        } else {
                            StoreError::Database { message }
                        }
                    }
                }
            }
            sqlx::Error::PoolTimedOut => StoreError::DatabaseUnavailable {
                message: "timed out waiting for a database connection".to_owned(),
            },
            sqlx::Error::PoolClosed => StoreError::DatabaseUnavailable {
                message: "the connection pool is closed".to_owned(),
            },
            sqlx::Error::Io(io_error) => StoreError::DatabaseUnavailable {
                message: format!("i/o error talking to the database: {}", io_error.kind()),
            },
            sqlx::Error::Tls(_) => StoreError::DatabaseUnavailable {
                message: "TLS error talking to the database".to_owned(),
            },
            sqlx::Error::Protocol(message) => StoreError::DatabaseUnavailable {
                message: format!("database protocol error: {message}"),
            },
            sqlx::Error::WorkerCrashed => StoreError::DatabaseUnavailable {
                message: "the SQLite worker thread stopped".to_owned(),
            },
            sqlx::Error::Configuration(error) => StoreError::InvalidDatabaseUrl {
                message: error.to_string(),
            },
            sqlx::Error::ColumnDecode { index, source } => StoreError::CorruptData {
                message: format!("{entity}: column {index}: {source}"),
            },
            sqlx::Error::Decode(source) => StoreError::CorruptData {
                message: format!("{entity}: {source}"),
            },
            sqlx::Error::ColumnNotFound(column) => StoreError::CorruptData {
                message: format!("{entity}: column {column} missing"),
            },
            sqlx::Error::Migrate(error) => StoreError::MigrationFailed {
                message: error.to_string(),
            },
            other => StoreError::Database {
                message: format!("{entity}: {other}"),
            },
        }
    }
}

/// For `?` on sqlx results inside a multi-statement body; prefer
/// [`StoreError::from_sqlx`] with the entity name where one is known.
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::from_sqlx("record", error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(StoreError::NotFound { entity: "user" }.code(), "NOT_FOUND");
        assert_eq!(
            StoreError::from_sqlx("user", sqlx::Error::PoolTimedOut).code(),
            "DATABASE_UNAVAILABLE"
        );
        assert_eq!(
            StoreError::from_sqlx("user", sqlx::Error::RowNotFound).to_string(),
            "user not found"
        );
    }
}
