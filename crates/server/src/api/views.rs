//! JSON shapes of the management API (responses and request bodies), with their OpenAPI
//! schemas. Store types are converted here so the wire format is decided in one place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trestle_store::{
    Actor, ApiToken, AuditEntry, Environment, EnvironmentKind, Member, Organization, Role, User,
    UserOrganization,
};
use utoipa::ToSchema;
use uuid::Uuid;

/// A role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleView {
    /// Manages the organization: members, tokens, audit log, and all a developer does.
    Admin,
    /// Builds toppings: functions, connections, services, workflows.
    Developer,
    /// Uses what developers built.
    User,
}

impl From<Role> for RoleView {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => RoleView::Admin,
            Role::Developer => RoleView::Developer,
            Role::User => RoleView::User,
        }
    }
}

impl From<RoleView> for Role {
    fn from(role: RoleView) -> Self {
        match role {
            RoleView::Admin => Role::Admin,
            RoleView::Developer => Role::Developer,
            RoleView::User => Role::User,
        }
    }
}

/// An environment's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentName {
    Production,
    Sandbox,
}

impl From<EnvironmentKind> for EnvironmentName {
    fn from(kind: EnvironmentKind) -> Self {
        match kind {
            EnvironmentKind::Production => EnvironmentName::Production,
            EnvironmentKind::Sandbox => EnvironmentName::Sandbox,
        }
    }
}

impl From<EnvironmentName> for EnvironmentKind {
    fn from(name: EnvironmentName) -> Self {
        match name {
            EnvironmentName::Production => EnvironmentKind::Production,
            EnvironmentName::Sandbox => EnvironmentKind::Sandbox,
        }
    }
}

/// An organization (a Bigin org).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(organization: Organization) -> Self {
        OrganizationView {
            id: organization.id.as_uuid(),
            name: organization.name,
            created_at: organization.created_at,
        }
    }
}

/// An organization with the caller's role in it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationWithRole {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The caller's role in this organization.
    pub role: RoleView,
}

impl From<UserOrganization> for OrganizationWithRole {
    fn from(user_organization: UserOrganization) -> Self {
        OrganizationWithRole {
            id: user_organization.organization.id.as_uuid(),
            name: user_organization.organization.name,
            created_at: user_organization.organization.created_at,
            role: user_organization.role.into(),
        }
    }
}

/// One of an organization's two environments; their data and authorizations are separate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnvironmentView {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: EnvironmentName,
    pub created_at: DateTime<Utc>,
}

impl From<Environment> for EnvironmentView {
    fn from(environment: Environment) -> Self {
        EnvironmentView {
            id: environment.id.as_uuid(),
            organization_id: environment.organization_id.as_uuid(),
            name: environment.kind.into(),
            created_at: environment.created_at,
        }
    }
}

/// A user account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// True until the user replaces a one-time password.
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id.as_uuid(),
            email: user.email,
            display_name: user.display_name,
            must_change_password: user.must_change_password,
            created_at: user.created_at,
        }
    }
}

/// A member of an organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: RoleView,
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        MemberView {
            user_id: member.user.id.as_uuid(),
            email: member.user.email,
            display_name: member.user.display_name,
            role: member.role.into(),
            joined_at: member.joined_at,
        }
    }
}

/// An API token's record. The token itself is shown only once, when it is created.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// `trestle_` and the first characters, to recognise the token.
    pub prefix: String,
    /// The user who created it; null when issued by the operator.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenView {
    fn from(api_token: ApiToken) -> Self {
        ApiTokenView {
            id: api_token.id.as_uuid(),
            organization_id: api_token.organization_id.as_uuid(),
            name: api_token.name,
            prefix: api_token.token_prefix,
            created_by: api_token.created_by.map(|user_id| user_id.as_uuid()),
            created_at: api_token.created_at,
            expires_at: api_token.expires_at,
            last_used_at: api_token.last_used_at,
            revoked_at: api_token.revoked_at,
        }
    }
}

/// Who performed an audited action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    /// `user`, `api_token`, `operator` (the `trestle admin` command) or `system`.
    pub kind: String,
    /// The user or API token id; null for the operator and the system.
    pub id: Option<Uuid>,
}

impl From<Actor> for ActorView {
    fn from(actor: Actor) -> Self {
        let (kind, id) = match actor {
            Actor::User(user_id) => ("user", Some(user_id.as_uuid())),
            Actor::ApiToken(token_id) => ("api_token", Some(token_id.as_uuid())),
            Actor::Operator => ("operator", None),
            Actor::System => ("system", None),
        };
        ActorView {
            kind: kind.to_owned(),
            id,
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor: ActorView,
    pub organization_id: Option<Uuid>,
    /// A dotted verb such as `member.added` or `api_token.revoked`.
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// Extra facts (never secrets), or null.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        AuditEntryView {
            id: entry.id.as_uuid(),
            occurred_at: entry.occurred_at,
            actor: entry.actor.into(),
            organization_id: entry.organization_id.map(|id| id.as_uuid()),
            action: entry.action,
            target_kind: entry.target_kind,
            target_id: entry.target_id,
            details: entry.details,
        }
    }
}
