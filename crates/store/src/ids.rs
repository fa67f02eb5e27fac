//! Typed ids. Every platform entity has a UUIDv7 id (time-ordered, so ids sort by creation
//! and index well), stored as hyphenated lower-case text on both backends. The types keep an
//! organization id from being passed where a user id is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::StoreError;

/// Implements `sqlx::Type`, `Encode` and `Decode` for a type stored as a text column, for
/// every backend at once, through its `as_text` / `parse_text` pair.
macro_rules! text_column {
    ($type:ty) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $type
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }

            fn compatible(type_info: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(type_info)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $type
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buffer: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode(self.as_text().to_string(), buffer)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $type
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(<$type>::parse_text(&text)?)
            }
        }
    };
}
pub(crate) use text_column;

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $entity:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id.
            pub(crate) fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (for example one parsed by the HTTP layer).
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            fn as_text(&self) -> uuid::fmt::Hyphenated {
                self.0.hyphenated()
            }

            fn parse_text(text: &str) -> Result<Self, StoreError> {
                text.parse()
            }
        }

        impl FromStr for $name {
            type Err = StoreError;

            /// Parses the hyphenated form; anything else is [`StoreError::InvalidId`].
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(text)
                    .map(Self)
                    .map_err(|_| StoreError::InvalidId { entity: $entity })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), formatter)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        text_column!($name);
    };
}

define_id!(
    /// Id of an organization (a Bigin org, the tenant).
    OrganizationId,
    "organization"
);
define_id!(
    /// Id of one of an organization's two environments.
    EnvironmentId,
    "environment"
);
define_id!(
    /// Id of a user (a platform-level account that joins organizations through memberships).
    UserId,
    "user"
);
define_id!(
    /// Id of a console session (not the session token: the token is never stored).
    SessionId,
    "session"
);
define_id!(
    /// Id of an API token (not the token itself: the token is never stored).
    ApiTokenId,
    "API token"
);
define_id!(
    /// Id of a stored Deluge function.
    StoredFunctionId,
    "stored function"
);
define_id!(
    /// Id of an audit log entry; ids are time-ordered, so they double as a paging cursor.
    AuditEntryId,
    "audit entry"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = OrganizationId::generate();
        let parsed: OrganizationId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(id.to_string().len(), 36);
    }

    #[test]
    fn bad_ids_say_which_entity() {
        let error = "not-a-uuid".parse::<UserId>().unwrap_err();
        assert_eq!(error.code(), "INVALID_ID");
        assert!(error.to_string().contains("user"));
    }

    #[test]
    fn ids_are_time_ordered() {
        let first = AuditEntryId::generate();
        let second = AuditEntryId::generate();
        assert!(first < second);
    }
}
