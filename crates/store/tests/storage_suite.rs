//! The storage suite: every test runs against SQLite (a temporary file) and PostgreSQL (a
//! fresh database per test, created from TRESTLE_TEST_POSTGRES_URL).
//!
//! Without TRESTLE_TEST_POSTGRES_URL the PostgreSQL half fails when CI=true and otherwise
//! prints "SKIPPED: ..." to stderr. `scripts/test.sh` starts a throwaway PostgreSQL and sets it.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use support::{create_organization, database_test, storage_test};
use trestle_store::password::{hash_password, verify_password};
use trestle_store::{
    Actor, ApiTokenId, Backend, CreatedOrganization, EnvironmentKind, NewAuditEntry,
    NewConsoleSession, NewUser, OrganizationId, PasswordHash, Role, SessionId, Store, StoreError,
    User, UserId, WriteTransaction,
};

// Hashing is slow on purpose; one hash serves every user the suite creates.
fn test_password_hash() -> &'static PasswordHash {
    static HASH: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("correct horse battery").unwrap())
}

async fn create_user(store: &Store, email: &str) -> User {
    store
        .users()
        .create(&NewUser {
            email,
            display_name: "Test User",
            password_hash: test_password_hash(),
            must_change_password: false,
        })
        .await
        .unwrap()
}

fn code<T: std::fmt::Debug>(result: Result<T, StoreError>) -> &'static str {
    result.unwrap_err().code()
}

async fn add_member(store: &Store, organization_id: OrganizationId, user_id: UserId, role: Role) {
    store
        .memberships()
        .add(organization_id, user_id, role)
        .await
        .unwrap();
}

async fn create_session(
    store: &Store,
    user_id: UserId,
    expires_at: DateTime<Utc>,
) -> NewConsoleSession {
    store.sessions().create(user_id, expires_at).await.unwrap()
}

async fn session_is_valid(store: &Store, token: &str, now: DateTime<Utc>) -> bool {
    store
        .sessions()
        .authenticate(token, now)
        .await
        .unwrap()
        .is_some()
}

async fn api_token_is_valid(store: &Store, token: &str, now: DateTime<Utc>) -> bool {
    store
        .api_tokens()
        .authenticate(token, now)
        .await
        .unwrap()
        .is_some()
}

/// The first steps of first-run setup inside `transaction`: the "Default" organization and
/// `new_user` as its admin.
async fn create_organization_with_admin_in(
    store: &Store,
    transaction: &mut WriteTransaction,
    new_user: &NewUser<'_>,
) -> (CreatedOrganization, User) {
    let created = store
        .organizations()
        .create_in(transaction, "Default")
        .await
        .unwrap();
    let user = store
        .users()
        .create_in(transaction, new_user)
        .await
        .unwrap();
    store
        .memberships()
        .add_in(transaction, created.organization.id, user.id, Role::Admin)
        .await
        .unwrap();
    (created, user)
}

fn unknown_user_id() -> UserId {
    UserId::from_uuid(uuid::Uuid::now_v7())
}

fn unknown_organization_id() -> OrganizationId {
    OrganizationId::from_uuid(uuid::Uuid::now_v7())
}

// ---------------------------------------------------------------------------------------
// Store level
// ---------------------------------------------------------------------------------------

storage_test!(
    store_reports_backend_readiness_and_migrations,
    |store| async move {
        assert!(["sqlite", "postgres"].contains(&store.backend_name()));
        store.ping().await.unwrap();
        assert!(store.migrations_applied().await.unwrap());
    }
);

database_test!(
    reopening_a_database_keeps_data_and_skips_applied_migrations,
    |database| async move {
        let created = database.store.organizations().create("Acme").await.unwrap();
        database.store.close().await;
        let reopened = database.open_another_store().await;
        assert!(reopened.migrations_applied().await.unwrap());
        assert_eq!(
            reopened
                .organizations()
                .get(created.organization.id)
                .await
                .unwrap(),
            created.organization
        );
        assert_eq!(code(database.store.ping().await), "DATABASE_UNAVAILABLE");
    }
);

database_test!(
    readiness_reports_missing_migrations_and_reapplying_fails_cleanly,
    |database| async move {
        assert!(database.store.migrations_applied().await.unwrap());
        // A database migrated further by a newer Trestle still opens (rolling upgrade).
        database
        .execute_raw(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer binary', TRUE, X'00', 0)"
                .replace("X'00'", if database.backend() == Backend::Postgres { "'\\x00'::bytea" } else { "X'00'" })
                .as_str(),
        )
        .await;
        let newer = database.open_another_store().await;
        assert!(newer.migrations_applied().await.unwrap());
        newer.close().await;
        // A platform migration recorded as missing: not ready, and re-applying it fails with a
        // stable code instead of half-migrating.
        database
            .execute_raw("DELETE FROM _sqlx_migrations WHERE version = 1")
            .await;
        assert!(!database.store.migrations_applied().await.unwrap());
        let error = Store::connect(&database.url).await.unwrap_err();
        assert_eq!(error.code(), "MIGRATION_FAILED");
    }
);

#[tokio::test]
async fn a_sqlite_file_is_created_unless_the_url_forbids_it() {
    let directory = tempfile::tempdir().unwrap();
    let created = directory.path().join("created.db");
    let store = Store::connect(&format!("sqlite://{}", created.display()))
        .await
        .unwrap();
    store.organizations().create("Acme").await.unwrap();
    store.close().await;
    assert!(created.exists());

    let refused = directory.path().join("refused.db");
    let error = Store::connect(&format!("sqlite://{}?mode=rw", refused.display()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "DATABASE_UNAVAILABLE");
    assert!(error.to_string().contains("folder exists"), "{error}");
    assert!(!refused.exists());

    let missing_folder = directory.path().join("no-such-folder").join("trestle.db");
    let error = Store::connect(&format!("sqlite://{}", missing_folder.display()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "DATABASE_UNAVAILABLE");
}

#[tokio::test]
async fn unknown_database_urls_are_rejected_with_a_clear_code() {
    let error = Store::connect("mysql://localhost/trestle")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "INVALID_DATABASE_URL");
    assert!(error.to_string().contains("sqlite:"));
}

#[tokio::test]
async fn an_unreachable_postgres_is_database_unavailable_and_the_password_is_not_echoed() {
    // Port 9 (discard) is closed on loopback.
    let options = trestle_store::StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let error = Store::connect_with(
        "postgres://trestle:very-secret-pw@127.0.0.1:9/trestle",
        options,
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "DATABASE_UNAVAILABLE");
    assert!(!error.to_string().contains("very-secret-pw"));
    assert!(!format!("{error:?}").contains("very-secret-pw"));
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let created = store.organizations().create("Memory").await.unwrap();
    assert_eq!(
        store
            .environments()
            .list(created.organization.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store.migrations_applied().await.unwrap());
}

// ---------------------------------------------------------------------------------------
// Organizations and environments
// ---------------------------------------------------------------------------------------

storage_test!(
    creating_an_organization_creates_both_environments,
    |store| async move {
        let created = store.organizations().create("  Acme Corp ").await.unwrap();
        assert_eq!(created.organization.name, "Acme Corp");
        assert_eq!(created.production.kind, EnvironmentKind::Production);
        assert_eq!(created.sandbox.kind, EnvironmentKind::Sandbox);
        assert_eq!(created.production.organization_id, created.organization.id);
        let fetched = store
            .organizations()
            .get(created.organization.id)
            .await
            .unwrap();
        assert_eq!(fetched, created.organization);
        let environments = store
            .environments()
            .list(created.organization.id)
            .await
            .unwrap();
        assert_eq!(
            environments,
            vec![created.production.clone(), created.sandbox.clone()]
        );
        assert_eq!(
            store
                .environments()
                .by_kind(created.organization.id, EnvironmentKind::Sandbox)
                .await
                .unwrap(),
            created.sandbox
        );
        assert_eq!(
            store
                .environments()
                .get(created.organization.id, created.production.id)
                .await
                .unwrap(),
            created.production
        );
    }
);

storage_test!(
    organizations_are_listed_renamed_and_validated,
    |store| async move {
        let first = create_organization(&store, "First").await;
        let second = create_organization(&store, "Second").await;
        let all = store.organizations().list_all().await.unwrap();
        assert_eq!(all, vec![first.clone(), second.clone()]);

        let renamed = store
            .organizations()
            .rename(first.id, " First, renamed ")
            .await
            .unwrap();
        assert_eq!(renamed.name, "First, renamed");
        assert_eq!(renamed.created_at, first.created_at);
        assert_eq!(store.organizations().get(first.id).await.unwrap(), renamed);

        assert_eq!(
            code(store.organizations().create("   ").await),
            "INVALID_INPUT"
        );
        assert_eq!(
            code(store.organizations().create(&"x".repeat(201)).await),
            "INVALID_INPUT"
        );
        assert_eq!(
            code(store.organizations().create("bad\u{7}name").await),
            "INVALID_INPUT"
        );
        assert_eq!(
            code(store.organizations().rename(first.id, "").await),
            "INVALID_INPUT"
        );
        let unknown = unknown_organization_id();
        assert_eq!(code(store.organizations().get(unknown).await), "NOT_FOUND");
        assert_eq!(
            code(store.organizations().rename(unknown, "x").await),
            "NOT_FOUND"
        );
        assert!(store.environments().list(unknown).await.unwrap().is_empty());
        // Nothing half-created by the rejected calls.
        assert_eq!(store.organizations().list_all().await.unwrap().len(), 2);
    }
);

storage_test!(
    an_environment_is_not_reachable_through_another_organization,
    |store| async move {
        let acme = store.organizations().create("Acme").await.unwrap();
        let globex = store.organizations().create("Globex").await.unwrap();
        assert_eq!(
            code(
                store
                    .environments()
                    .get(globex.organization.id, acme.production.id)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                store
                    .environments()
                    .get(acme.organization.id, globex.sandbox.id)
                    .await
            ),
            "NOT_FOUND"
        );
        let globex_environments = store
            .environments()
            .list(globex.organization.id)
            .await
            .unwrap();
        let ids: HashSet<_> = globex_environments
            .iter()
            .map(|environment| environment.id)
            .collect();
        assert!(!ids.contains(&acme.production.id) && !ids.contains(&acme.sandbox.id));
        assert_ne!(
            store
                .environments()
                .by_kind(globex.organization.id, EnvironmentKind::Production)
                .await
                .unwrap()
                .id,
            acme.production.id
        );
    }
);

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

storage_test!(users_are_created_found_and_updated, |store| async move {
    let user = create_user(&store, "  Ada@Example.COM ").await;
    assert_eq!(user.email, "ada@example.com");
    assert!(!user.disabled && !user.must_change_password);
    assert_eq!(store.users().get(user.id).await.unwrap(), user);
    assert_eq!(
        store
            .users()
            .find_by_email("ADA@example.com")
            .await
            .unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store
            .users()
            .find_by_email("nobody@example.com")
            .await
            .unwrap(),
        None
    );

    let credentials = store
        .users()
        .credentials_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.user, user);
    assert!(verify_password(
        "correct horse battery",
        &credentials.password_hash
    ));
    assert!(
        store
            .users()
            .credentials_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let new_hash = hash_password("another long password").unwrap();
    let updated = store
        .users()
        .set_password(user.id, &new_hash, true)
        .await
        .unwrap();
    assert!(updated.must_change_password);
    let credentials = store.users().credentials(user.id).await.unwrap();
    assert!(verify_password(
        "another long password",
        &credentials.password_hash
    ));
    assert!(!verify_password(
        "correct horse battery",
        &credentials.password_hash
    ));

    let disabled = store.users().set_disabled(user.id, true).await.unwrap();
    assert!(disabled.disabled);
    let renamed = store
        .users()
        .set_display_name(user.id, " Ada Lovelace ")
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Ada Lovelace");
    assert!(renamed.disabled);
    assert_eq!(
        code(store.users().set_display_name(user.id, " ").await),
        "INVALID_INPUT"
    );

    let second = create_user(&store, "grace@example.com").await;
    let all = store.users().list_all().await.unwrap();
    assert_eq!(
        all.iter().map(|user| user.id).collect::<Vec<_>>(),
        vec![user.id, second.id]
    );

    let unknown = unknown_user_id();
    assert_eq!(code(store.users().get(unknown).await), "NOT_FOUND");
    assert_eq!(code(store.users().credentials(unknown).await), "NOT_FOUND");
    assert_eq!(
        code(store.users().set_password(unknown, &new_hash, false).await),
        "NOT_FOUND"
    );
    assert_eq!(
        code(store.users().set_disabled(unknown, true).await),
        "NOT_FOUND"
    );
});

storage_test!(emails_are_unique_whatever_their_case, |store| async move {
    create_user(&store, "ada@example.com").await;
    let duplicate = store
        .users()
        .create(&NewUser {
            email: "ADA@EXAMPLE.COM",
            display_name: "Impostor",
            password_hash: test_password_hash(),
            must_change_password: false,
        })
        .await;
    let error = duplicate.unwrap_err();
    assert_eq!(error.code(), "ALREADY_EXISTS");
    assert!(error.to_string().contains("e-mail"));
    for bad in [
        "",
        "not-an-address",
        "two@@example.com",
        "with space@example.com",
    ] {
        let result = store
            .users()
            .create(&NewUser {
                email: bad,
                display_name: "Bad",
                password_hash: test_password_hash(),
                must_change_password: false,
            })
            .await;
        assert_eq!(code(result), "INVALID_INPUT", "{bad:?}");
    }
    assert_eq!(store.users().list_all().await.unwrap().len(), 1);
});

storage_test!(
    creating_a_user_in_an_organization_is_atomic,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let new_user = NewUser {
            email: "ada@example.com",
            display_name: "Ada",
            password_hash: test_password_hash(),
            must_change_password: true,
        };
        let (user, membership) = store
            .users()
            .create_in_organization(acme.id, &new_user, Role::Developer)
            .await
            .unwrap();
        assert_eq!(membership.role, Role::Developer);
        assert_eq!(membership.user_id, user.id);
        assert_eq!(
            store
                .memberships()
                .member(acme.id, user.id)
                .await
                .unwrap()
                .user,
            user
        );

        // An unknown organization rolls the user back too.
        let unknown = unknown_organization_id();
        let orphan = NewUser {
            email: "orphan@example.com",
            ..new_user.clone()
        };
        assert_eq!(
            code(
                store
                    .users()
                    .create_in_organization(unknown, &orphan, Role::User)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            store
                .users()
                .find_by_email("orphan@example.com")
                .await
                .unwrap(),
            None
        );
    }
);

// ---------------------------------------------------------------------------------------
// Memberships
// ---------------------------------------------------------------------------------------

storage_test!(memberships_add_change_list_and_remove, |store| async move {
    let acme = create_organization(&store, "Acme").await;
    let globex = create_organization(&store, "Globex").await;
    let ada = create_user(&store, "ada@example.com").await;
    let grace = create_user(&store, "grace@example.com").await;

    let membership = store
        .memberships()
        .add(acme.id, ada.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        (
            membership.organization_id,
            membership.user_id,
            membership.role
        ),
        (acme.id, ada.id, Role::Admin)
    );
    add_member(&store, acme.id, grace.id, Role::User).await;
    add_member(&store, globex.id, ada.id, Role::Developer).await;

    assert_eq!(
        store.memberships().get(acme.id, ada.id).await.unwrap(),
        Some(membership)
    );
    assert_eq!(
        store.memberships().get(globex.id, grace.id).await.unwrap(),
        None
    );

    let members = store.memberships().list_members(acme.id).await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|member| (member.user.id, member.role))
            .collect::<Vec<_>>(),
        vec![(ada.id, Role::Admin), (grace.id, Role::User)]
    );
    assert_eq!(members[0].user, ada);

    let organizations = store.memberships().organizations_of(ada.id).await.unwrap();
    assert_eq!(
        organizations
            .iter()
            .map(|entry| (entry.organization.id, entry.role))
            .collect::<Vec<_>>(),
        vec![(acme.id, Role::Admin), (globex.id, Role::Developer)]
    );
    assert_eq!(organizations[0].organization, acme);

    let changed = store
        .memberships()
        .set_role(acme.id, grace.id, Role::Developer)
        .await
        .unwrap();
    assert_eq!(changed.role, Role::Developer);
    assert_eq!(
        store
            .memberships()
            .member(acme.id, grace.id)
            .await
            .unwrap()
            .role,
        Role::Developer
    );

    store.memberships().remove(acme.id, grace.id).await.unwrap();
    assert_eq!(
        code(store.memberships().member(acme.id, grace.id).await),
        "NOT_FOUND"
    );
    assert_eq!(
        code(store.memberships().remove(acme.id, grace.id).await),
        "NOT_FOUND"
    );
    assert_eq!(
        code(
            store
                .memberships()
                .set_role(acme.id, grace.id, Role::User)
                .await
        ),
        "NOT_FOUND"
    );
    // The user account itself stays.
    assert_eq!(store.users().get(grace.id).await.unwrap(), grace);
});

storage_test!(
    membership_conflicts_and_missing_references,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let ada = create_user(&store, "ada@example.com").await;
        add_member(&store, acme.id, ada.id, Role::Admin).await;
        assert_eq!(
            code(store.memberships().add(acme.id, ada.id, Role::User).await),
            "ALREADY_EXISTS"
        );
        let unknown_user = unknown_user_id();
        let unknown_organization = unknown_organization_id();
        assert_eq!(
            code(
                store
                    .memberships()
                    .add(acme.id, unknown_user, Role::User)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                store
                    .memberships()
                    .add(unknown_organization, ada.id, Role::User)
                    .await
            ),
            "NOT_FOUND"
        );
    }
);

storage_test!(
    the_last_admin_cannot_be_demoted_or_removed,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let ada = create_user(&store, "ada@example.com").await;
        let grace = create_user(&store, "grace@example.com").await;
        add_member(&store, acme.id, ada.id, Role::Admin).await;
        add_member(&store, acme.id, grace.id, Role::Developer).await;

        assert_eq!(
            code(
                store
                    .memberships()
                    .set_role(acme.id, ada.id, Role::User)
                    .await
            ),
            "CONFLICT"
        );
        assert_eq!(
            code(store.memberships().remove(acme.id, ada.id).await),
            "CONFLICT"
        );
        // Admin to admin is not a demotion.
        store
            .memberships()
            .set_role(acme.id, ada.id, Role::Admin)
            .await
            .unwrap();

        store
            .memberships()
            .set_role(acme.id, grace.id, Role::Admin)
            .await
            .unwrap();
        store
            .memberships()
            .set_role(acme.id, ada.id, Role::User)
            .await
            .unwrap();
        assert_eq!(
            code(store.memberships().remove(acme.id, grace.id).await),
            "CONFLICT"
        );
    }
);

// ---------------------------------------------------------------------------------------
// Console sessions
// ---------------------------------------------------------------------------------------

storage_test!(
    sessions_authenticate_until_they_expire_or_are_revoked,
    |store| async move {
        let ada = create_user(&store, "ada@example.com").await;
        let now = Utc::now();
        let created = create_session(&store, ada.id, now + TimeDelta::hours(8)).await;
        let token = created.token.expose().to_owned();
        assert_eq!(token.len(), 43);
        assert_eq!(format!("{:?}", created.token), "SecretToken([redacted])");

        let authenticated = store
            .sessions()
            .authenticate(&token, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(authenticated.user, ada);
        assert_eq!(authenticated.session.id, created.session.id);
        assert!(
            authenticated
                .session
                .csrf_token_matches(&created.session.csrf_token)
        );
        assert!(!authenticated.session.csrf_token_matches("forged"));
        assert!(!authenticated.session.csrf_token_matches(""));

        assert!(!session_is_valid(&store, "wrong-token", now).await);
        assert!(!session_is_valid(&store, "", now).await);
        // Expired at (and after) expires_at.
        let expiry = created.session.expires_at;
        assert!(!session_is_valid(&store, &token, expiry).await);
        assert!(session_is_valid(&store, &token, expiry - TimeDelta::seconds(1)).await);

        assert!(store.sessions().revoke(&token).await.unwrap());
        assert!(!store.sessions().revoke(&token).await.unwrap());
        assert!(!session_is_valid(&store, &token, now).await);

        assert_eq!(
            code(
                store
                    .sessions()
                    .create(ada.id, now - TimeDelta::seconds(1))
                    .await
            ),
            "INVALID_INPUT"
        );
        let unknown = unknown_user_id();
        assert_eq!(
            code(
                store
                    .sessions()
                    .create(unknown, now + TimeDelta::hours(1))
                    .await
            ),
            "NOT_FOUND"
        );
    }
);

storage_test!(
    sessions_of_disabled_users_stop_working,
    |store| async move {
        let ada = create_user(&store, "ada@example.com").await;
        let now = Utc::now();
        let created = create_session(&store, ada.id, now + TimeDelta::hours(1)).await;
        store.users().set_disabled(ada.id, true).await.unwrap();
        assert!(!session_is_valid(&store, created.token.expose(), now).await);
        store.users().set_disabled(ada.id, false).await.unwrap();
        assert!(session_is_valid(&store, created.token.expose(), now).await);
    }
);

storage_test!(
    last_seen_is_written_at_most_once_a_minute,
    |store| async move {
        let ada = create_user(&store, "ada@example.com").await;
        let created = create_session(&store, ada.id, Utc::now() + TimeDelta::hours(2)).await;
        let start = created.session.last_seen_at;
        let token = created.token.expose();

        let soon = start + TimeDelta::seconds(30);
        let seen = store
            .sessions()
            .authenticate(token, soon)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.session.last_seen_at, start);

        let later = start + TimeDelta::seconds(90);
        let seen = store
            .sessions()
            .authenticate(token, later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.session.last_seen_at, later.duration_trunc_micros());
        let listed = store.sessions().list_for_user(ada.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].last_seen_at, later.duration_trunc_micros());
    }
);

storage_test!(
    sessions_are_listed_and_revoked_per_user,
    |store| async move {
        let ada = create_user(&store, "ada@example.com").await;
        let grace = create_user(&store, "grace@example.com").await;
        let now = Utc::now();
        let first = create_session(&store, ada.id, now + TimeDelta::hours(1)).await;
        let second = create_session(&store, ada.id, now + TimeDelta::hours(1)).await;
        let graces = create_session(&store, grace.id, now + TimeDelta::hours(1)).await;
        assert_ne!(first.session.csrf_token, second.session.csrf_token);

        let listed = store.sessions().list_for_user(ada.id).await.unwrap();
        assert_eq!(
            listed.iter().map(|session| session.id).collect::<Vec<_>>(),
            vec![second.session.id, first.session.id]
        );

        // Grace cannot end Ada's session by id.
        assert_eq!(
            code(
                store
                    .sessions()
                    .revoke_by_id(grace.id, first.session.id)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                store
                    .sessions()
                    .revoke_by_id(ada.id, SessionId::from_uuid(uuid::Uuid::now_v7()))
                    .await
            ),
            "NOT_FOUND"
        );
        store
            .sessions()
            .revoke_by_id(ada.id, first.session.id)
            .await
            .unwrap();
        assert!(!session_is_valid(&store, first.token.expose(), now).await);
        assert!(session_is_valid(&store, second.token.expose(), now).await);

        assert_eq!(
            store.sessions().revoke_all_for_user(ada.id).await.unwrap(),
            1
        );
        assert!(!session_is_valid(&store, second.token.expose(), now).await);
        assert!(session_is_valid(&store, graces.token.expose(), now).await);
    }
);

storage_test!(expired_sessions_are_deleted, |store| async move {
    let ada = create_user(&store, "ada@example.com").await;
    let now = Utc::now();
    let short = create_session(&store, ada.id, now + TimeDelta::minutes(5)).await;
    let long = create_session(&store, ada.id, now + TimeDelta::hours(5)).await;
    assert_eq!(
        store
            .sessions()
            .delete_expired(now + TimeDelta::hours(1))
            .await
            .unwrap(),
        1
    );
    let remaining = store.sessions().list_for_user(ada.id).await.unwrap();
    assert_eq!(
        remaining
            .iter()
            .map(|session| session.id)
            .collect::<Vec<_>>(),
        vec![long.session.id]
    );
    assert_ne!(short.session.id, long.session.id);
});

// ---------------------------------------------------------------------------------------
// API tokens
// ---------------------------------------------------------------------------------------

storage_test!(
    api_tokens_are_shown_once_and_authenticate_in_their_organization,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let ada = create_user(&store, "ada@example.com").await;
        let issued = store
            .api_tokens()
            .issue(acme.id, " CI deploys ", Some(ada.id), None)
            .await
            .unwrap();
        let token = issued.token.expose().to_owned();
        assert!(token.starts_with("trestle_"));
        assert_eq!(token.len(), "trestle_".len() + 43);
        assert!(token.starts_with(&issued.api_token.token_prefix));
        assert_eq!(issued.api_token.token_prefix.len(), "trestle_".len() + 6);
        assert_eq!(issued.api_token.name, "CI deploys");
        assert_eq!(issued.api_token.created_by, Some(ada.id));
        assert_eq!(issued.api_token.last_used_at, None);

        let now = Utc::now();
        let authenticated = store
            .api_tokens()
            .authenticate(&token, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(authenticated.id, issued.api_token.id);
        assert_eq!(authenticated.organization_id, acme.id);
        assert_eq!(
            authenticated.last_used_at,
            Some(now.duration_trunc_micros())
        );
        assert_eq!(
            store
                .api_tokens()
                .get(acme.id, issued.api_token.id)
                .await
                .unwrap()
                .last_used_at,
            Some(now.duration_trunc_micros())
        );
        // A use within the minute does not rewrite last_used_at.
        let again = store
            .api_tokens()
            .authenticate(&token, now + TimeDelta::seconds(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.last_used_at, Some(now.duration_trunc_micros()));

        for wrong in [
            "",
            "trestle_",
            "trestle_nope",
            &token[..token.len() - 1],
            &token.replace("trestle_", "other_"),
        ] {
            assert!(
                store
                    .api_tokens()
                    .authenticate(wrong, now)
                    .await
                    .unwrap()
                    .is_none(),
                "{wrong}"
            );
        }

        let operator_issued = store
            .api_tokens()
            .issue(acme.id, "operator", None, None)
            .await
            .unwrap();
        assert_eq!(operator_issued.api_token.created_by, None);
        let listed = store.api_tokens().list(acme.id).await.unwrap();
        assert_eq!(
            listed.iter().map(|token| token.id).collect::<Vec<_>>(),
            vec![operator_issued.api_token.id, issued.api_token.id]
        );

        let revoked = store
            .api_tokens()
            .revoke(acme.id, issued.api_token.id)
            .await
            .unwrap();
        let revoked_at = revoked.revoked_at.unwrap();
        assert!(!api_token_is_valid(&store, &token, now).await);
        let twice = store
            .api_tokens()
            .revoke(acme.id, issued.api_token.id)
            .await
            .unwrap();
        assert_eq!(twice.revoked_at, Some(revoked_at));
        assert!(api_token_is_valid(&store, operator_issued.token.expose(), now).await);
    }
);

storage_test!(
    api_tokens_expire_and_validate_their_input,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let now = Utc::now();
        let issued = store
            .api_tokens()
            .issue(
                acme.id,
                "short-lived",
                None,
                Some(now + TimeDelta::hours(1)),
            )
            .await
            .unwrap();
        assert!(api_token_is_valid(&store, issued.token.expose(), now).await);
        assert!(
            !api_token_is_valid(&store, issued.token.expose(), now + TimeDelta::hours(2)).await
        );

        assert_eq!(
            code(store.api_tokens().issue(acme.id, " ", None, None).await),
            "INVALID_INPUT"
        );
        assert_eq!(
            code(
                store
                    .api_tokens()
                    .issue(acme.id, &"n".repeat(101), None, None)
                    .await
            ),
            "INVALID_INPUT"
        );
        assert_eq!(
            code(
                store
                    .api_tokens()
                    .issue(acme.id, "past", None, Some(now - TimeDelta::seconds(1)))
                    .await
            ),
            "INVALID_INPUT"
        );
        let unknown = unknown_organization_id();
        assert_eq!(
            code(store.api_tokens().issue(unknown, "ghost", None, None).await),
            "NOT_FOUND"
        );
        let unknown_user = unknown_user_id();
        assert_eq!(
            code(
                store
                    .api_tokens()
                    .issue(acme.id, "ghost", Some(unknown_user), None)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                store
                    .api_tokens()
                    .get(acme.id, ApiTokenId::from_uuid(uuid::Uuid::now_v7()))
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(store.api_tokens().list(acme.id).await.unwrap().len(), 1);
    }
);

database_test!(secrets_are_stored_only_as_hashes, |database| async move {
    let store = &database.store;
    let acme = create_organization(store, "Acme").await;
    let ada = create_user(store, "ada@example.com").await;
    let session = create_session(store, ada.id, Utc::now() + TimeDelta::hours(1)).await;
    let api_token = store
        .api_tokens()
        .issue(acme.id, "ci", None, None)
        .await
        .unwrap();
    let session_secret = session.token.expose().to_owned();
    let api_secret = api_token.token.expose().to_owned();
    let api_secret_body = api_secret.trim_start_matches("trestle_").to_owned();
    store.close().await;

    match database.backend() {
        Backend::Sqlite => {
            // Every byte the database wrote: the file, its WAL and shared memory.
            let file = database.sqlite_file.clone().unwrap();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", file.display());
                if let Ok(content) = std::fs::read(&path) {
                    bytes.extend(content);
                }
            }
            let contains = |needle: &str| {
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            };
            assert!(contains("ada@example.com"), "the scan must see real data");
            assert!(!contains(&session_secret));
            assert!(!contains(&api_secret_body[..20]));
            assert!(!contains("correct horse battery"));
        }
        Backend::Postgres => {
            use sqlx::{Connection, Row};
            let mut connection = sqlx::PgConnection::connect(&database.url).await.unwrap();
            let rows = sqlx::query(
                "SELECT string_agg(t::text, ' ') AS dump FROM (SELECT * FROM api_tokens) t \
                 UNION ALL SELECT string_agg(s::text, ' ') FROM (SELECT * FROM console_sessions) s \
                 UNION ALL SELECT string_agg(u::text, ' ') FROM (SELECT * FROM users) u",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            let dump: String = rows
                .iter()
                .map(|row| row.get::<Option<String>, _>("dump").unwrap_or_default())
                .collect();
            assert!(
                dump.contains("ada@example.com"),
                "the dump must see real data"
            );
            assert!(!dump.contains(&session_secret));
            assert!(!dump.contains(&api_secret_body[..20]));
            assert!(!dump.contains("correct horse battery"));
        }
    }
});

// ---------------------------------------------------------------------------------------
// Failed logins
// ---------------------------------------------------------------------------------------

storage_test!(failed_logins_count_within_a_window, |store| async move {
    let throttle = store.login_throttle();
    let window = TimeDelta::minutes(15);
    let start = Utc::now();
    assert_eq!(
        throttle
            .failures("email:ada@example.com", start, window)
            .await
            .unwrap(),
        0
    );
    for expected in 1..=3 {
        let count = throttle
            .record_failure(
                "email:ada@example.com",
                start + TimeDelta::seconds(expected),
                window,
            )
            .await
            .unwrap();
        assert_eq!(count, expected as u32);
    }
    assert_eq!(
        throttle
            .failures(
                "email:ada@example.com",
                start + TimeDelta::minutes(1),
                window
            )
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        throttle
            .failures("ip:203.0.113.7", start, window)
            .await
            .unwrap(),
        0
    );

    // The window started at the first failure; past it, counting starts again.
    let after = start + TimeDelta::minutes(16);
    assert_eq!(
        throttle
            .failures("email:ada@example.com", after, window)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        throttle
            .record_failure("email:ada@example.com", after, window)
            .await
            .unwrap(),
        1
    );

    throttle.clear("email:ada@example.com").await.unwrap();
    assert_eq!(
        throttle
            .failures("email:ada@example.com", after, window)
            .await
            .unwrap(),
        0
    );

    throttle
        .record_failure("ip:203.0.113.7", start, window)
        .await
        .unwrap();
    throttle
        .record_failure("ip:198.51.100.1", after, window)
        .await
        .unwrap();
    assert_eq!(
        throttle.prune(start + TimeDelta::minutes(1)).await.unwrap(),
        1
    );
    assert_eq!(
        throttle
            .failures("ip:198.51.100.1", after, window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        code(throttle.record_failure("", start, window).await),
        "INVALID_INPUT"
    );
});

storage_test!(concurrent_failures_are_all_counted, |store| async move {
    let window = TimeDelta::minutes(15);
    let now = Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .login_throttle()
                .record_failure("email:target@example.com", now, window)
                .await
                .unwrap()
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<u32>>());
    assert_eq!(
        store
            .login_throttle()
            .failures("email:target@example.com", now, window)
            .await
            .unwrap(),
        40
    );
});

// ---------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------

storage_test!(
    audit_entries_are_recorded_redacted_and_scoped,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let globex = create_organization(&store, "Globex").await;
        let ada = create_user(&store, "ada@example.com").await;

        let first = store
        .audit()
        .record(&NewAuditEntry {
            actor: Actor::User(ada.id),
            organization_id: Some(acme.id),
            action: "user.created",
            target_kind: Some("user"),
            target_id: Some(ada.id.to_string()),
            details: json!({"email": "ada@example.com", "password": "hunter2hunter2", "role": "admin"}),
        })
        .await
        .unwrap();
        assert_eq!(first.details["password"], "[redacted]");
        let token_id = ApiTokenId::from_uuid(uuid::Uuid::now_v7());
        let second = store
            .audit()
            .record(&NewAuditEntry {
                actor: Actor::ApiToken(token_id),
                organization_id: Some(acme.id),
                action: "api_token.revoked",
                target_kind: Some("api_token"),
                target_id: Some(token_id.to_string()),
                details: serde_json::Value::Null,
            })
            .await
            .unwrap();
        store
            .audit()
            .record(&NewAuditEntry {
                actor: Actor::User(ada.id),
                organization_id: Some(globex.id),
                action: "user.created",
                target_kind: None,
                target_id: None,
                details: json!({}),
            })
            .await
            .unwrap();
        let platform = store
            .audit()
            .record(&NewAuditEntry {
                actor: Actor::Operator,
                organization_id: None,
                action: "organization.created",
                target_kind: Some("organization"),
                target_id: Some(acme.id.to_string()),
                details: json!({"name": "Acme"}),
            })
            .await
            .unwrap();

        let acme_entries = store
            .audit()
            .list_for_organization(acme.id, None, 50)
            .await
            .unwrap();
        assert_eq!(acme_entries, vec![second.clone(), first.clone()]);
        assert_eq!(
            acme_entries[1].details,
            json!({"email": "ada@example.com", "password": "[redacted]", "role": "admin"})
        );
        assert_eq!(acme_entries[0].actor, Actor::ApiToken(token_id));

        let page = store
            .audit()
            .list_for_organization(acme.id, None, 1)
            .await
            .unwrap();
        assert_eq!(page, vec![second.clone()]);
        let next = store
            .audit()
            .list_for_organization(acme.id, Some(second.id), 1)
            .await
            .unwrap();
        assert_eq!(next, vec![first.clone()]);
        assert!(
            store
                .audit()
                .list_for_organization(acme.id, Some(first.id), 10)
                .await
                .unwrap()
                .is_empty()
        );

        assert_eq!(
            store
                .audit()
                .list_for_organization(globex.id, None, 50)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store.audit().list_platform(None, 50).await.unwrap(),
            vec![platform]
        );

        let invalid = store
            .audit()
            .record(&NewAuditEntry {
                actor: Actor::System,
                organization_id: None,
                action: "  ",
                target_kind: None,
                target_id: None,
                details: json!(null),
            })
            .await;
        assert_eq!(code(invalid), "INVALID_INPUT");
    }
);

storage_test!(
    audit_entries_written_in_a_transaction_commit_or_roll_back_with_it,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let entry = NewAuditEntry {
            actor: Actor::System,
            organization_id: Some(acme.id),
            action: "test.rolled_back",
            target_kind: None,
            target_id: None,
            details: json!({}),
        };
        let mut transaction = store.begin_write().await.unwrap();
        store
            .audit()
            .record_in(&mut transaction, &entry)
            .await
            .unwrap();
        transaction.rollback().await.unwrap();
        assert!(
            store
                .audit()
                .list_for_organization(acme.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );

        let mut transaction = store.begin_write().await.unwrap();
        let kept = store
            .audit()
            .record_in(
                &mut transaction,
                &NewAuditEntry {
                    action: "test.committed",
                    ..entry.clone()
                },
            )
            .await
            .unwrap();
        drop(entry);
        transaction.commit().await.unwrap();
        assert_eq!(
            store
                .audit()
                .list_for_organization(acme.id, None, 10)
                .await
                .unwrap(),
            vec![kept]
        );
    }
);

// ---------------------------------------------------------------------------------------
// Tenant isolation across every organization-scoped method
// ---------------------------------------------------------------------------------------

storage_test!(
    one_organization_cannot_reach_another_organizations_rows,
    |store| async move {
        let acme = store.organizations().create("Acme").await.unwrap();
        let globex = store.organizations().create("Globex").await.unwrap();
        let (acme_id, globex_id) = (acme.organization.id, globex.organization.id);
        let ada = create_user(&store, "ada@acme.example").await;
        let grace = create_user(&store, "grace@globex.example").await;
        add_member(&store, acme_id, ada.id, Role::Admin).await;
        add_member(&store, globex_id, grace.id, Role::Admin).await;
        let acme_token = store
            .api_tokens()
            .issue(acme_id, "acme ci", Some(ada.id), None)
            .await
            .unwrap();

        // Users: Globex sees only its own member.
        let globex_members = store.memberships().list_members(globex_id).await.unwrap();
        assert_eq!(
            globex_members
                .iter()
                .map(|member| member.user.id)
                .collect::<Vec<_>>(),
            vec![grace.id]
        );
        assert_eq!(
            code(store.memberships().member(globex_id, ada.id).await),
            "NOT_FOUND"
        );
        assert_eq!(
            store.memberships().get(globex_id, ada.id).await.unwrap(),
            None
        );
        assert_eq!(
            code(
                store
                    .memberships()
                    .set_role(globex_id, ada.id, Role::User)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(store.memberships().remove(globex_id, ada.id).await),
            "NOT_FOUND"
        );
        assert_eq!(
            store
                .memberships()
                .member(acme_id, ada.id)
                .await
                .unwrap()
                .role,
            Role::Admin
        );

        // Environments.
        assert_eq!(
            code(
                store
                    .environments()
                    .get(globex_id, acme.production.id)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(store.environments().get(globex_id, acme.sandbox.id).await),
            "NOT_FOUND"
        );

        // API tokens: not listed, not readable, not revocable through Globex.
        assert!(store.api_tokens().list(globex_id).await.unwrap().is_empty());
        assert_eq!(
            code(
                store
                    .api_tokens()
                    .get(globex_id, acme_token.api_token.id)
                    .await
            ),
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                store
                    .api_tokens()
                    .revoke(globex_id, acme_token.api_token.id)
                    .await
            ),
            "NOT_FOUND"
        );
        let still_valid = store
            .api_tokens()
            .authenticate(acme_token.token.expose(), Utc::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(still_valid.organization_id, acme_id);
        assert_eq!(still_valid.revoked_at, None);

        // Audit entries.
        store
            .audit()
            .record(&NewAuditEntry {
                actor: Actor::User(ada.id),
                organization_id: Some(acme_id),
                action: "api_token.issued",
                target_kind: Some("api_token"),
                target_id: Some(acme_token.api_token.id.to_string()),
                details: json!({"name": "acme ci"}),
            })
            .await
            .unwrap();
        assert!(
            store
                .audit()
                .list_for_organization(globex_id, None, 100)
                .await
                .unwrap()
                .is_empty()
        );

        // A Globex user's organizations do not include Acme.
        let graces = store
            .memberships()
            .organizations_of(grace.id)
            .await
            .unwrap();
        assert_eq!(
            graces
                .iter()
                .map(|entry| entry.organization.id)
                .collect::<Vec<_>>(),
            vec![globex_id]
        );
    }
);

// ---------------------------------------------------------------------------------------
// Concurrency: the single SQLite writer, and two stores on one database
// ---------------------------------------------------------------------------------------

storage_test!(
    concurrent_writers_never_surface_busy_errors,
    |store| async move {
        // 40 tasks, each a multi-statement write transaction plus single-statement writes,
        // interleaved with reads. On SQLite they all queue on the one writer connection.
        let mut tasks = Vec::new();
        for index in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let created = store
                    .organizations()
                    .create(&format!("Org {index}"))
                    .await?;
                let (user, _) = store
                    .users()
                    .create_in_organization(
                        created.organization.id,
                        &NewUser {
                            email: &format!("user{index}@example.com"),
                            display_name: "Concurrent",
                            password_hash: test_password_hash(),
                            must_change_password: false,
                        },
                        Role::Admin,
                    )
                    .await?;
                store
                    .api_tokens()
                    .issue(created.organization.id, "ci", Some(user.id), None)
                    .await?;
                store
                    .sessions()
                    .create(user.id, Utc::now() + TimeDelta::hours(1))
                    .await?;
                let members = store
                    .memberships()
                    .list_members(created.organization.id)
                    .await?;
                assert_eq!(members.len(), 1);
                Ok::<_, StoreError>(())
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(store.organizations().list_all().await.unwrap().len(), 40);
        assert_eq!(store.users().list_all().await.unwrap().len(), 40);
    }
);

storage_test!(
    a_long_write_transaction_makes_other_writers_wait_not_fail,
    |store| async move {
        let acme = create_organization(&store, "Acme").await;
        let mut transaction = store.begin_write().await.unwrap();
        store
            .audit()
            .record_in(
                &mut transaction,
                &NewAuditEntry {
                    actor: Actor::System,
                    organization_id: Some(acme.id),
                    action: "test.slow",
                    target_kind: None,
                    target_id: None,
                    details: json!({}),
                },
            )
            .await
            .unwrap();
        let writer = {
            let store = store.clone();
            tokio::spawn(async move { store.organizations().create("Waiting").await })
        };
        // Reads keep working while the transaction is open.
        assert_eq!(store.organizations().get(acme.id).await.unwrap(), acme);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        transaction.commit().await.unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(store.organizations().list_all().await.unwrap().len(), 2);
    }
);

database_test!(
    two_stores_on_one_database_work_side_by_side,
    |database| async move {
        // Two independent stores on the same database, as two server processes would have.
        let first = database.store.clone();
        let second = database.open_another_store().await;

        let acme = create_organization(&first, "Acme").await;
        assert_eq!(second.organizations().get(acme.id).await.unwrap(), acme);

        // Sessions and API tokens issued by one are honoured and revoked by the other.
        let ada = create_user(&second, "ada@example.com").await;
        add_member(&first, acme.id, ada.id, Role::Admin).await;
        let now = Utc::now();
        let session = create_session(&first, ada.id, now + TimeDelta::hours(1)).await;
        assert_eq!(
            second
                .sessions()
                .authenticate(session.token.expose(), now)
                .await
                .unwrap()
                .unwrap()
                .user
                .id,
            ada.id
        );
        let token = second
            .api_tokens()
            .issue(acme.id, "ci", Some(ada.id), None)
            .await
            .unwrap();
        assert!(api_token_is_valid(&first, token.token.expose(), now).await);
        first
            .api_tokens()
            .revoke(acme.id, token.api_token.id)
            .await
            .unwrap();
        assert!(!api_token_is_valid(&second, token.token.expose(), now).await);
        assert!(
            second
                .sessions()
                .revoke(session.token.expose())
                .await
                .unwrap()
        );
        assert!(!session_is_valid(&first, session.token.expose(), now).await);

        // Failed logins recorded through both stores add up.
        let window = TimeDelta::minutes(15);
        let mut tasks = Vec::new();
        for index in 0..30 {
            let store = if index % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                store
                    .login_throttle()
                    .record_failure("email:ada@example.com", now, window)
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            first
                .login_throttle()
                .failures("email:ada@example.com", now, window)
                .await
                .unwrap(),
            30
        );

        // Concurrent writes from both stores all land (SQLite: the busy timeout and BEGIN
        // IMMEDIATE serialize the two writers; PostgreSQL: row locks).
        let mut tasks = Vec::new();
        for index in 0..20 {
            let store = if index % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                store.organizations().create(&format!("Org {index}")).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(second.organizations().list_all().await.unwrap().len(), 21);
        second.close().await;
    }
);

database_test!(
    two_stores_demoting_the_two_admins_at_once_keep_one_admin,
    |database| async move {
        let first = database.store.clone();
        let second = database.open_another_store().await;
        for round in 0..5 {
            let acme = first
                .organizations()
                .create(&format!("Acme {round}"))
                .await
                .unwrap()
                .organization;
            let ada = create_user(&first, &format!("ada{round}@example.com")).await;
            let grace = create_user(&first, &format!("grace{round}@example.com")).await;
            add_member(&first, acme.id, ada.id, Role::Admin).await;
            add_member(&first, acme.id, grace.id, Role::Admin).await;
            let (left, right) = tokio::join!(
                first.memberships().set_role(acme.id, ada.id, Role::User),
                second.memberships().set_role(acme.id, grace.id, Role::User),
            );
            // Exactly one demotion wins; the other sees the last admin and is refused.
            match (left, right) {
                (Ok(_), Err(failed)) | (Err(failed), Ok(_)) => {
                    assert_eq!(failed.code(), "CONFLICT", "round {round}")
                }
                (left, right) => panic!("round {round}: expected one winner: {left:?} {right:?}"),
            }
            let admins = first
                .memberships()
                .list_members(acme.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|member| member.role == Role::Admin)
                .count();
            assert_eq!(admins, 1);
        }
        second.close().await;
    }
);

trait TruncateMicros {
    fn duration_trunc_micros(self) -> Self;
}

impl TruncateMicros for chrono::DateTime<Utc> {
    fn duration_trunc_micros(self) -> Self {
        use chrono::DurationRound;
        self.duration_trunc(TimeDelta::microseconds(1)).unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Platform administrators and transactions spanning several modules
// ---------------------------------------------------------------------------------------

storage_test!(
    platform_admins_are_granted_idempotently,
    |store| async move {
        assert!(!store.platform_admins().any_user_exists().await.unwrap());
        let ada = create_user(&store, "ada@example.com").await;
        let grace = create_user(&store, "grace@example.com").await;
        assert!(store.platform_admins().any_user_exists().await.unwrap());
        assert!(!store.platform_admins().contains(ada.id).await.unwrap());
        store.platform_admins().grant(ada.id).await.unwrap();
        store.platform_admins().grant(ada.id).await.unwrap();
        assert!(store.platform_admins().contains(ada.id).await.unwrap());
        assert!(!store.platform_admins().contains(grace.id).await.unwrap());
        let unknown = unknown_user_id();
        assert_eq!(
            code(store.platform_admins().grant(unknown).await),
            "NOT_FOUND"
        );
    }
);

storage_test!(
    first_run_setup_commits_or_rolls_back_as_one,
    |store| async move {
        let new_user = NewUser {
            email: "admin@example.com",
            display_name: "Administrator",
            password_hash: test_password_hash(),
            must_change_password: true,
        };
        // Dropped without commit: nothing of it remains.
        {
            let mut transaction = store.begin_write().await.unwrap();
            assert_eq!(transaction.backend(), store.backend());
            let (_, user) =
                create_organization_with_admin_in(&store, &mut transaction, &new_user).await;
            store
                .platform_admins()
                .grant_in(&mut transaction, user.id)
                .await
                .unwrap();
        }
        assert!(store.organizations().list_all().await.unwrap().is_empty());
        assert!(!store.platform_admins().any_user_exists().await.unwrap());

        // A failure half-way (duplicate membership) is rolled back by the caller: still nothing.
        {
            let mut transaction = store.begin_write().await.unwrap();
            let (created, user) =
                create_organization_with_admin_in(&store, &mut transaction, &new_user).await;
            let duplicate = store
                .memberships()
                .add_in(
                    &mut transaction,
                    created.organization.id,
                    user.id,
                    Role::User,
                )
                .await;
            assert_eq!(code(duplicate), "ALREADY_EXISTS");
            transaction.rollback().await.unwrap();
        }
        assert!(store.organizations().list_all().await.unwrap().is_empty());

        let mut transaction = store.begin_write().await.unwrap();
        let (created, user) =
            create_organization_with_admin_in(&store, &mut transaction, &new_user).await;
        store
            .platform_admins()
            .grant_in(&mut transaction, user.id)
            .await
            .unwrap();
        store
            .audit()
            .record_in(
                &mut transaction,
                &NewAuditEntry {
                    actor: Actor::System,
                    organization_id: None,
                    action: "setup.completed",
                    target_kind: Some("user"),
                    target_id: Some(user.id.to_string()),
                    details: json!({}),
                },
            )
            .await
            .unwrap();
        transaction.commit().await.unwrap();
        assert_eq!(
            store
                .environments()
                .list(created.organization.id)
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store
                .memberships()
                .member(created.organization.id, user.id)
                .await
                .unwrap()
                .role,
            Role::Admin
        );
        assert!(store.platform_admins().contains(user.id).await.unwrap());
        assert_eq!(
            store.audit().list_platform(None, 10).await.unwrap().len(),
            1
        );
    }
);
