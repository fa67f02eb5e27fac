//! The organization's audit log (admins only), newest first, with filters and paging.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trestle_store::{Actor, AuditEntry, AuditEntryId, OrganizationId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::ReadErrors;
use crate::api::views::AuditEntryView;
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_entries))
}

/// Largest page, as the store allows.
const MAX_AUDIT_PAGE: u32 = 500;

/// At most this many stored entries are examined per request when filters are given.
const MAX_SCANNED_ENTRIES: usize = 10_000;

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this entry id (the `next_before` of the previous page).
    pub before: Option<Uuid>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only this action (`member.added`), or every action with a prefix (`member.*`).
    pub action: Option<String>,
    /// Only entries by this user or API token id.
    pub actor_id: Option<Uuid>,
    /// Only entries about this target id.
    pub target_id: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `before` to get the next page; null when there is no more.
    pub next_before: Option<Uuid>,
}

/// The organization's audit log: who changed what and when (organization admins only).
#[utoipa::path(get, path = "", tag = "audit",
    params(("org_id" = Uuid, Path, description = "Organization id"), AuditQuery),
    responses((status = 200, description = "Entries, newest first", body = AuditPage), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_audit_entries(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await?;
    access.require_admin("read the audit log")?;
    let limit = match query.limit {
        None => 100,
        Some(limit) if (1..=MAX_AUDIT_PAGE).contains(&limit) => limit,
        Some(_) => {
            return Err(ApiError::InvalidQueryParameter {
                message: format!("limit must be between 1 and {MAX_AUDIT_PAGE}"),
            });
        }
    };
    let limit_entries = usize::try_from(limit).unwrap_or(100);
    let page_size = usize::try_from(MAX_AUDIT_PAGE).unwrap_or(500);
    let mut cursor = query.before.map(AuditEntryId::from_uuid);
    let mut entries = Vec::new();
    let mut scanned = 0usize;
    let mut exhausted = false;
    'pages: while scanned < MAX_SCANNED_ENTRIES {
        let batch = state
            .store
            .audit()
            .list_for_organization(access.organization_id, cursor, MAX_AUDIT_PAGE)
            .await?;
        let batch_len = batch.len();
        for entry in batch {
            scanned += 1;
            cursor = Some(entry.id);
            if query.since.is_some_and(|since| entry.occurred_at < since) {
                exhausted = true;
                break 'pages;
            }
            if matches_filters(&query, &entry) {
                entries.push(AuditEntryView::from(entry));
                if entries.len() == limit_entries {
                    break 'pages;
                }
            }
        }
        if batch_len < page_size {
            exhausted = true;
            break;
        }
    }
    let next_before = if exhausted {
        None
    } else {
        cursor.map(|id| id.as_uuid())
    };
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}

fn matches_filters(query: &AuditQuery, entry: &AuditEntry) -> bool {
    if query.until.is_some_and(|until| entry.occurred_at >= until) {
        return false;
    }
    if let Some(action) = &query.action {
        let matches = match action.strip_suffix('*') {
            Some(prefix) => entry.action.starts_with(prefix),
            None => entry.action == *action,
        };
        if !matches {
            return false;
        }
    }
    if let Some(actor_id) = query.actor_id {
        let entry_actor = match entry.actor {
            Actor::User(user_id) => Some(user_id.as_uuid()),
            Actor::ApiToken(token_id) => Some(token_id.as_uuid()),
            Actor::Operator | Actor::System => None,
        };
        if entry_actor != Some(actor_id) {
            return false;
        }
    }
    if let Some(target_id) = &query.target_id
        && entry.target_id.as_deref() != Some(target_id.as_str())
    {
        return false;
    }
    true
}
