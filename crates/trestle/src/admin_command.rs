//! `trestle admin`: operator tasks straight on the database named by the config/flags (the
//! same resolution as `trestle serve`); no running server is needed. Every change is written to
//! the audit log with the operator as actor. Secrets (one-time passwords, API tokens) are
//! printed once, to stdout, and never logged.

use anyhow::{Context as _, bail};
use chrono::{TimeDelta, Utc};
use serde_json::json;
use trestle_server::ConfigLayer;
use trestle_store::{Actor, NewAuditEntry, NewUser, OrganizationId, Role, Store, password};

use crate::serve_command::{ConfigArgs, install_crypto_provider, open_store};

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create an organization with its production and sandbox environments.
    CreateOrg {
        /// Organization name (1 to 200 characters).
        #[arg(long)]
        name: String,
    },
    /// List every organization (id and name).
    ListOrgs,
    /// Create a user with a one-time password (printed once), optionally as a member of an
    /// organization; an existing user is only added to the organization.
    CreateUser {
        #[arg(long)]
        email: String,
        /// Display name [default: the part of the email before @].
        #[arg(long)]
        name: Option<String>,
        /// Organization id to add the user to.
        #[arg(long, value_name = "ORG_ID", requires = "role")]
        org: Option<String>,
        /// Role in that organization.
        #[arg(long, value_enum, requires = "org")]
        role: Option<RoleArg>,
        /// Also allow the user to create organizations.
        #[arg(long)]
        platform_admin: bool,
    },
    /// Give a user a new one-time password (printed once) and end their sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Issue an API token acting for a member of an organization (printed once).
    IssueToken {
        /// Organization id.
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        /// Email of the member the token acts for.
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Days until it expires [default: never].
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Developer,
    User,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Developer => Role::Developer,
            RoleArg::User => Role::User,
        }
    }
}

pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    install_crypto_provider();
    let config = args.config.resolve(ConfigLayer::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = open_store(&config).await?;
        let result = run_command(&store, args.command).await;
        store.close().await;
        result
    })
}

async fn run_command(store: &Store, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOrg { name } => {
            let created = store.organizations().create(&name).await?;
            audit(
                store,
                Some(created.organization.id),
                "organization.created",
                ("organization", created.organization.id.to_string()),
                json!({ "name": created.organization.name }),
            )
            .await?;
            println!("organization: {}", created.organization.id);
            println!("name:         {}", created.organization.name);
            println!("production:   {}", created.production.id);
            println!("sandbox:      {}", created.sandbox.id);
        }
        AdminCommand::ListOrgs => {
            for organization in store.organizations().list_all().await? {
                println!("{}\t{}", organization.id, organization.name);
            }
        }
        AdminCommand::CreateUser {
            email,
            name,
            org,
            role,
            platform_admin,
        } => {
            let membership = match (org, role) {
                (Some(org), Some(role)) => Some((parse_organization_id(&org)?, Role::from(role))),
                _ => None,
            };
            if let Some((organization_id, _)) = membership {
                store.organizations().get(organization_id).await.with_context(|| {
                    format!("no organization {organization_id}; `trestle admin list-orgs` shows them")
                })?;
            }
            let (user, one_time_password) = match store.users().find_by_email(&email).await? {
                Some(existing) => (existing, None),
                None => {
                    let display_name = name.unwrap_or_else(|| {
                        email
                            .trim()
                            .split('@')
                            .next()
                            .unwrap_or_default()
                            .to_owned()
                    });
                    let one_time_password = password::generate_one_time_password();
                    let password_hash = password::hash_password(&one_time_password)?;
                    let user = store
                        .users()
                        .create(&NewUser {
                            email: &email,
                            display_name: &display_name,
                            password_hash: &password_hash,
                            must_change_password: true,
                        })
                        .await?;
                    audit(
                        store,
                        None,
                        "user.created",
                        ("user", user.id.to_string()),
                        json!({ "email": user.email }),
                    )
                    .await?;
                    (user, Some(one_time_password))
                }
            };
            if let Some((organization_id, role)) = membership {
                store
                    .memberships()
                    .add(organization_id, user.id, role)
                    .await
                    .with_context(|| format!("cannot add {} to {organization_id}", user.email))?;
                audit(
                    store,
                    Some(organization_id),
                    "member.added",
                    ("user", user.id.to_string()),
                    json!({ "role": role.as_str() }),
                )
                .await?;
            }
            if platform_admin {
                store.platform_admins().grant(user.id).await?;
                audit(
                    store,
                    None,
                    "platform_admin.granted",
                    ("user", user.id.to_string()),
                    json!({}),
                )
                .await?;
            }
            println!("user:  {}", user.id);
            println!("email: {}", user.email);
            match one_time_password {
                Some(one_time_password) => {
                    println!("one-time password: {one_time_password}");
                    println!("(shown only now; it must be changed at first sign-in)");
                }
                None => println!("(the user existed already; password unchanged)"),
            }
        }
        AdminCommand::ResetPassword { email } => {
            let Some(user) = store.users().find_by_email(&email).await? else {
                bail!("no user with the email {email}");
            };
            let one_time_password = password::generate_one_time_password();
            let password_hash = password::hash_password(&one_time_password)?;
            store
                .users()
                .set_password(user.id, &password_hash, true)
                .await?;
            let ended_sessions = store.sessions().revoke_all_for_user(user.id).await?;
            audit(
                store,
                None,
                "user.password_reset",
                ("user", user.id.to_string()),
                json!({ "sessions_ended": ended_sessions }),
            )
            .await?;
            println!("email: {}", user.email);
            println!("one-time password: {one_time_password}");
            println!(
                "(shown only now; it must be changed at first sign-in; {ended_sessions} session(s) ended)"
            );
        }
        AdminCommand::IssueToken {
            org,
            email,
            name,
            expires_in_days,
        } => {
            let organization_id = parse_organization_id(&org)?;
            let Some(user) = store.users().find_by_email(&email).await? else {
                bail!("no user with the email {email}");
            };
            if store
                .memberships()
                .get(organization_id, user.id)
                .await?
                .is_none()
            {
                bail!(
                    "{email} is not a member of organization {organization_id}; add them with `trestle admin create-user --email {email} --org {organization_id} --role ...`"
                );
            }
            let expires_at = match expires_in_days {
                None => None,
                Some(days) if (1..=3650).contains(&days) => {
                    Some(Utc::now() + TimeDelta::days(i64::from(days)))
                }
                Some(_) => bail!("--expires-in-days must be between 1 and 3650"),
            };
            let issued = store
                .api_tokens()
                .issue(organization_id, &name, Some(user.id), expires_at)
                .await?;
            audit(
                store,
                Some(organization_id),
                "api_token.created",
                ("api_token", issued.api_token.id.to_string()),
                json!({ "name": issued.api_token.name, "prefix": issued.api_token.token_prefix, "acts_for": user.id.to_string() }),
            )
            .await?;
            eprintln!(
                "API token {} ({}) for {} in {organization_id}; shown only now:",
                issued.api_token.id, issued.api_token.name, user.email
            );
            println!("{}", issued.token.expose());
        }
    }
    Ok(())
}

fn parse_organization_id(text: &str) -> anyhow::Result<OrganizationId> {
    text.trim().parse().with_context(|| {
        format!("`{text}` is not an organization id; `trestle admin list-orgs` shows them")
    })
}

async fn audit(
    store: &Store,
    organization_id: Option<OrganizationId>,
    action: &str,
    (target_kind, target_id): (&str, String),
    details: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .audit()
        .record(&NewAuditEntry {
            actor: Actor::Operator,
            organization_id,
            action,
            target_kind: Some(target_kind),
            target_id: Some(target_id),
            details,
        })
        .await?;
    Ok(())
}
