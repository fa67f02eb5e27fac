//! Trestle as the OAuth 2 authorization server of its own Bigin-compatible API: registered
//! clients, single-use grant codes, and opaque access and refresh tokens.
//!
//! Secrets (client secrets, grant codes, tokens) are random, shown once, and stored only as
//! SHA-256. Every grant is bound to one user, one organization and one environment of it;
//! a token never reaches records of another environment because the CRM queries take the
//! environment from the token. Client records belong to the organization that registered
//! them; deleting a client deletes its codes and tokens.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::types::Json;

use crate::db::{on_pool, on_transaction};
use crate::error::StoreError;
use crate::ids::{EnvironmentId, OrganizationId, UserId};
use crate::read_cache::ChangeDomain;
use crate::secret::{SecretToken, random_url_safe, token_hash};
use crate::{Store, clock};

/// Access tokens live one hour, as Zoho's do.
pub const ACCESS_TOKEN_LIFETIME: TimeDelta = TimeDelta::seconds(3600);
/// Grant codes are single use and live a few minutes, as Zoho's do.
pub const GRANT_CODE_LIFETIME: TimeDelta = TimeDelta::seconds(180);
/// Every token, code and client id starts like Zoho's (`1000.`), which some clients expect.
pub const ZOHO_STYLE_PREFIX: &str = "1000.";

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// A server-side application with a secret; authorization code (PKCE optional).
    Web,
    /// A browser or mobile application without a secret; authorization code with PKCE S256.
    Public,
    /// Server-to-server with a secret: client credentials, plus self-client grant codes.
    Server,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Web => "web",
            ClientType::Public => "public",
            ClientType::Server => "server",
        }
    }

    /// Parses `web`, `public` or `server`.
    pub fn parse(text: &str) -> Option<ClientType> {
        match text {
            "web" => Some(ClientType::Web),
            "public" => Some(ClientType::Public),
            "server" => Some(ClientType::Server),
            _ => None,
        }
    }
}

/// A registered client (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OauthClient {
    /// The `client_id`, `1000.` and 30 upper-case letters and digits like Zoho's.
    pub id: String,
    pub organization_id: OrganizationId,
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A client just registered: show `client_secret` once (none for public clients).
#[derive(Clone, Debug)]
pub struct RegisteredClient {
    pub client: OauthClient,
    pub client_secret: Option<SecretToken>,
}

/// Who a code or token acts for, where, and with which scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OauthGrant {
    pub client_id: String,
    pub user_id: UserId,
    pub organization_id: OrganizationId,
    pub environment_id: EnvironmentId,
    /// Comma-separated scopes as granted.
    pub scopes: String,
}

/// A grant code taken for exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedGrantCode {
    pub grant: OauthGrant,
    pub redirect_uri: Option<String>,
    /// `BASE64URL(SHA-256(code_verifier))` when the authorization request used PKCE.
    pub code_challenge: Option<String>,
}

/// Tokens just minted: hand them to the client once.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub access_token: SecretToken,
    pub refresh_token: Option<SecretToken>,
    pub expires_at: DateTime<Utc>,
}

/// The authorization server's storage; get it with [`Store::oauth_provider`].
#[derive(Clone, Copy)]
pub struct OauthProvider<'s> {
    store: &'s Store,
}

impl Store {
    /// Clients, codes and tokens of Trestle's own OAuth authorization server.
    pub fn oauth_provider(&self) -> OauthProvider<'_> {
        OauthProvider { store: self }
    }
}

const CLIENT_COLUMNS: &str =
    "id, organization_id, name, client_type, redirect_uris, created_by, created_at";

impl OauthProvider<'_> {
    /// Registers a client of the organization. Web and public clients need at least one
    /// redirect URI; web and server clients get a secret.
    pub async fn register_client(
        self,
        organization_id: OrganizationId,
        name: &str,
        client_type: ClientType,
        redirect_uris: &[String],
        created_by: Option<UserId>,
    ) -> Result<RegisteredClient, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::invalid_input(
                "client name",
                "must have 1 to 100 characters",
            ));
        }
        if client_type != ClientType::Server && redirect_uris.is_empty() {
            return Err(StoreError::invalid_input(
                "redirect_uris",
                "needs at least one redirect URI for web and public clients",
            ));
        }
        for uri in redirect_uris {
            let acceptable = (uri.starts_with("https://") || uri.starts_with("http://"))
                && !uri.contains('#')
                && uri.len() <= 2000;
            if !acceptable {
                return Err(StoreError::invalid_input(
                    "redirect_uris",
                    "each redirect URI must be an absolute http(s) URL without a fragment",
                ));
            }
        }
        let client = OauthClient {
            id: zoho_style_client_id(),
            organization_id,
            name: name.to_owned(),
            client_type,
            redirect_uris: redirect_uris.to_vec(),
            created_by,
            created_at: clock::now(),
        };
        let client_secret = match client_type {
            ClientType::Public => None,
            ClientType::Web | ClientType::Server => Some(SecretToken::new(random_url_safe(32))),
        };
        let secret_hash = client_secret
            .as_ref()
            .map(|secret| token_hash(secret.expose()));
        on_pool!(self.store.writer(ChangeDomain::OAuthProvider), executor => {
            sqlx::query(
                "INSERT INTO oauth_clients (id, organization_id, name, client_type, redirect_uris, \
                 secret_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&client.id)
            .bind(client.organization_id)
            .bind(&client.name)
            .bind(client.client_type.as_str())
            .bind(Json(&client.redirect_uris))
            .bind(&secret_hash)
            .bind(client.created_by)
            .bind(client.created_at)
            .execute(executor)
            .await
            .map(|_| ())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth client", error))?;
        Ok(RegisteredClient {
            client,
            client_secret,
        })
    }

    /// The organization's clients, oldest first.
    pub async fn list_clients(
        self,
        organization_id: OrganizationId,
    ) -> Result<Vec<OauthClient>, StoreError> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE organization_id = $1 \
             ORDER BY created_at, id"
        );
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(organization_id)
                .fetch_all(executor)
                .await
                .and_then(|rows| rows.iter().map(client_from_row).collect::<Result<Vec<_>, _>>())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth client", error))
    }

    /// The client with this `client_id`, in any organization (the token endpoint's lookup).
    pub async fn client(self, client_id: &str) -> Result<Option<OauthClient>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1");
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(client_id)
                .fetch_optional(executor)
                .await
                .and_then(|row| row.map(|row| client_from_row(&row)).transpose())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth client", error))
    }

    /// Whether `secret` is the client's secret (false for clients without one).
    pub async fn client_secret_matches(
        self,
        client_id: &str,
        secret: &str,
    ) -> Result<bool, StoreError> {
        let stored: Option<Option<String>> = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_scalar("SELECT secret_hash FROM oauth_clients WHERE id = $1")
                .bind(client_id)
                .fetch_optional(executor)
                .await
        })
        .map_err(|error| StoreError::from_sqlx("OAuth client", error))?;
        Ok(match stored.flatten() {
            Some(hash) => crate::secret::constant_time_equal(&hash, &token_hash(secret)),
            None => false,
        })
    }

    /// Deletes a client of the organization with its codes and tokens.
    pub async fn delete_client(
        self,
        organization_id: OrganizationId,
        client_id: &str,
    ) -> Result<(), StoreError> {
        let affected = on_pool!(self.store.writer(ChangeDomain::OAuthProvider), executor => {
            sqlx::query("DELETE FROM oauth_clients WHERE organization_id = $1 AND id = $2")
                .bind(organization_id)
                .bind(client_id)
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth client", error))?;
        if affected == 0 {
            return Err(StoreError::NotFound {
                entity: "OAuth client",
            });
        }
        Ok(())
    }

    /// Issues a single-use grant code for the consented grant.
    pub async fn issue_grant_code(
        self,
        grant: &OauthGrant,
        redirect_uri: Option<&str>,
        code_challenge: Option<&str>,
    ) -> Result<SecretToken, StoreError> {
        let code = SecretToken::new(format!("{ZOHO_STYLE_PREFIX}{}", random_url_safe(32)));
        let expires_at = clock::now() + GRANT_CODE_LIFETIME;
        on_pool!(self.store.writer(ChangeDomain::OAuthProvider), executor => {
            sqlx::query(
                "INSERT INTO oauth_grant_codes (code_hash, client_id, user_id, organization_id, \
                 environment_id, scopes, redirect_uri, code_challenge, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(token_hash(code.expose()))
            .bind(&grant.client_id)
            .bind(grant.user_id)
            .bind(grant.organization_id)
            .bind(grant.environment_id)
            .bind(&grant.scopes)
            .bind(redirect_uri)
            .bind(code_challenge)
            .bind(expires_at)
            .execute(executor)
            .await
            .map(|_| ())
        })
        .map_err(|error| StoreError::from_sqlx("grant code", error))?;
        Ok(code)
    }

    /// Takes a grant code: it is deleted whatever happens next, so it works once. `None`
    /// when unknown, used, expired or issued to another client.
    pub async fn consume_grant_code(
        self,
        code: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedGrantCode>, StoreError> {
        let now = clock::normalize(now);
        let row = on_pool!(self.store.writer(ChangeDomain::OAuthProvider), executor => {
            sqlx::query(
                "DELETE FROM oauth_grant_codes WHERE code_hash = $1 \
                 RETURNING client_id, user_id, organization_id, environment_id, scopes, \
                 redirect_uri, code_challenge, expires_at",
            )
            .bind(token_hash(code))
            .fetch_optional(executor)
            .await
            .and_then(|row| {
                row.map(|row| {
                    let expires_at: DateTime<Utc> = row.try_get("expires_at")?;
                    Ok((
                        ConsumedGrantCode {
                            grant: grant_from_row(&row)?,
                            redirect_uri: row.try_get("redirect_uri")?,
                            code_challenge: row.try_get("code_challenge")?,
                        },
                        expires_at,
                    ))
                })
                .transpose()
            })
        })
        .map_err(|error| StoreError::from_sqlx("grant code", error))?;
        Ok(row.and_then(|(consumed, expires_at)| {
            (expires_at > now && consumed.grant.client_id == client_id).then_some(consumed)
        }))
    }

    /// Mints an access token, plus a refresh token when `with_refresh`, for the grant.
    pub async fn issue_tokens(
        self,
        grant: &OauthGrant,
        with_refresh: bool,
    ) -> Result<IssuedTokens, StoreError> {
        let now = clock::now();
        let refresh_token = with_refresh.then(new_token);
        let access_token = new_token();
        let expires_at = now + ACCESS_TOKEN_LIFETIME;
        let mut transaction = self
            .store
            .begin_write_in(ChangeDomain::OAuthProvider)
            .await?;
        if let Some(refresh) = &refresh_token {
            insert_token(
                &mut transaction,
                refresh.expose(),
                "refresh",
                grant,
                None,
                None,
                now,
            )
            .await?;
        }
        insert_token(
            &mut transaction,
            access_token.expose(),
            "access",
            grant,
            refresh_token
                .as_ref()
                .map(|refresh| token_hash(refresh.expose())),
            Some(expires_at),
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(IssuedTokens {
            access_token,
            refresh_token,
            expires_at,
        })
    }

    /// A new access token from a refresh token of this client; `None` when the refresh
    /// token is unknown, revoked or belongs to another client.
    pub async fn refresh(
        self,
        refresh_token: &str,
        client_id: &str,
    ) -> Result<Option<(OauthGrant, IssuedTokens)>, StoreError> {
        let Some(grant) = self
            .find_token(refresh_token, "refresh", clock::now())
            .await?
        else {
            return Ok(None);
        };
        if grant.client_id != client_id {
            return Ok(None);
        }
        let now = clock::now();
        let access_token = new_token();
        let expires_at = now + ACCESS_TOKEN_LIFETIME;
        let mut transaction = self
            .store
            .begin_write_in(ChangeDomain::OAuthProvider)
            .await?;
        insert_token(
            &mut transaction,
            access_token.expose(),
            "access",
            &grant,
            Some(token_hash(refresh_token)),
            Some(expires_at),
            now,
        )
        .await?;
        // Expired access tokens of this refresh token are of no use to anyone.
        on_transaction!(transaction, executor => {
            sqlx::query("DELETE FROM oauth_tokens WHERE refresh_hash = $1 AND expires_at <= $2")
                .bind(token_hash(refresh_token))
                .bind(now)
                .execute(&mut *executor)
                .await
                .map(|_| ())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth token", error))?;
        transaction.commit().await?;
        Ok(Some((
            grant,
            IssuedTokens {
                access_token,
                refresh_token: None,
                expires_at,
            },
        )))
    }

    /// The grant of a live access token.
    pub async fn authenticate_access_token(
        self,
        access_token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OauthGrant>, StoreError> {
        self.find_token(access_token, "access", clock::normalize(now))
            .await
    }

    /// [`Self::authenticate_access_token`] with the token's expiry, for a cache that must
    /// not outlive it.
    pub async fn authenticate_access_token_with_expiry(
        self,
        access_token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(OauthGrant, Option<DateTime<Utc>>)>, StoreError> {
        let found = on_pool!(self.store.pools.reader(), executor => {
            sqlx::query_as::<_, GrantWithExpiry>(
                "SELECT client_id, user_id, organization_id, environment_id, scopes, expires_at \
                 FROM oauth_tokens \
                 WHERE token_hash = $1 AND kind = 'access' AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(token_hash(access_token))
            .bind(clock::normalize(now))
            .fetch_optional(executor)
            .await
        })
        .map_err(|error| StoreError::from_sqlx("OAuth token", error))?;
        Ok(found.map(|row| {
            (
                OauthGrant {
                    client_id: row.client_id,
                    user_id: row.user_id,
                    organization_id: row.organization_id,
                    environment_id: row.environment_id,
                    scopes: row.scopes,
                },
                row.expires_at,
            )
        }))
    }

    /// Revokes a refresh token (with every access token minted from it) or an access
    /// token. Returns whether the token existed.
    pub async fn revoke(self, token: &str) -> Result<bool, StoreError> {
        let hash = token_hash(token);
        let affected = on_pool!(self.store.writer(ChangeDomain::OAuthProvider), executor => {
            sqlx::query("DELETE FROM oauth_tokens WHERE token_hash = $1 OR refresh_hash = $1")
                .bind(&hash)
                .execute(executor)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth token", error))?;
        Ok(affected > 0)
    }

    async fn find_token(
        self,
        token: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OauthGrant>, StoreError> {
        on_pool!(self.store.pools.reader(), executor => {
            sqlx::query(
                "SELECT client_id, user_id, organization_id, environment_id, scopes FROM oauth_tokens \
                 WHERE token_hash = $1 AND kind = $2 AND (expires_at IS NULL OR expires_at > $3)",
            )
            .bind(token_hash(token))
            .bind(kind)
            .bind(now)
            .fetch_optional(executor)
            .await
            .and_then(|row| row.map(|row| grant_from_row(&row)).transpose())
        })
        .map_err(|error| StoreError::from_sqlx("OAuth token", error))
    }
}

fn new_token() -> SecretToken {
    SecretToken::new(format!(
        "{ZOHO_STYLE_PREFIX}{}.{}",
        hex::encode(random_url_safe(12).as_bytes())
            .get(..32)
            .unwrap_or_default(),
        random_url_safe(32)
    ))
}

async fn insert_token(
    transaction: &mut crate::db::WriteTransaction,
    token: &str,
    kind: &str,
    grant: &OauthGrant,
    refresh_hash: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_transaction!(transaction, executor => {
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, kind, client_id, user_id, organization_id, \
             environment_id, scopes, refresh_hash, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token_hash(token))
        .bind(kind)
        .bind(&grant.client_id)
        .bind(grant.user_id)
        .bind(grant.organization_id)
        .bind(grant.environment_id)
        .bind(&grant.scopes)
        .bind(refresh_hash)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *executor)
        .await
        .map(|_| ())
    })
    .map_err(|error| StoreError::from_sqlx("OAuth token", error))
}

#[derive(sqlx::FromRow)]
struct GrantWithExpiry {
    client_id: String,
    user_id: UserId,
    organization_id: OrganizationId,
    environment_id: EnvironmentId,
    scopes: String,
    expires_at: Option<DateTime<Utc>>,
}

fn grant_from_row<R>(row: &R) -> Result<OauthGrant, sqlx::Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> UserId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> OrganizationId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> EnvironmentId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(OauthGrant {
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        organization_id: row.try_get("organization_id")?,
        environment_id: row.try_get("environment_id")?,
        scopes: row.try_get("scopes")?,
    })
}

fn client_from_row<R>(row: &R) -> Result<OauthClient, sqlx::Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<UserId>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> OrganizationId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Json<Vec<String>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let client_type: String = row.try_get("client_type")?;
    let redirect_uris: Json<Vec<String>> = row.try_get("redirect_uris")?;
    Ok(OauthClient {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        name: row.try_get("name")?,
        client_type: ClientType::parse(&client_type).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown client type {client_type}").into())
        })?,
        redirect_uris: redirect_uris.0,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

/// `1000.` and exactly 30 upper-case letters and digits: a fixed length, so tables and clients
/// that expect Zoho's shape line up (the random source also yields `-` and `_`, which are skipped).
fn zoho_style_client_id() -> String {
    const LENGTH: usize = 30;
    let mut characters = String::with_capacity(LENGTH + 32);
    while characters.len() < LENGTH {
        characters.extend(
            random_url_safe(24)
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|character| character.to_ascii_uppercase()),
        );
    }
    characters.truncate(LENGTH);
    format!("{ZOHO_STYLE_PREFIX}{characters}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_ids_have_zoho_shape_and_a_fixed_length() {
        for _ in 0..500 {
            let client_id = super::zoho_style_client_id();
            assert_eq!(client_id.len(), 35, "{client_id}");
            assert!(client_id.starts_with("1000."), "{client_id}");
            assert!(
                client_id[5..]
                    .chars()
                    .all(|character| character.is_ascii_uppercase() || character.is_ascii_digit()),
                "{client_id}"
            );
        }
    }
}
