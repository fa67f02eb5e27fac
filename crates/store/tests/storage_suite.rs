//! The storage suite: every test runs against SQLite (a temporary file) and PostgreSQL (a
//! fresh database per test, created from TRESTLE_TEST_POSTGRES_URL).
//!
//! Without TRESTLE_TEST_POSTGRES_URL the PostgreSQL half fails when CI=true and otherwise
//! prints "SKIPPED: ..." to stderr. `scripts/test.sh` starts a throwaway PostgreSQL and sets it.

mod support;

use support::storage_test;

mod organizations_and_environments {
    use super::*;

    storage_test!(creating_an_organization_creates_both_environments, |store| async move {
        let created = store.organizations().create("  Acme Corp ").await.unwrap();
        assert_eq!(created.organization.name, "Acme Corp");
        assert_eq!(created.production.kind, trestle_store::EnvironmentKind::Production);
        assert_eq!(created.sandbox.kind, trestle_store::EnvironmentKind::Sandbox);
        let fetched = store.organizations().get(created.organization.id).await.unwrap();
        assert_eq!(fetched, created.organization);
        let environments = store.environments().list(created.organization.id).await.unwrap();
        assert_eq!(environments, vec![created.production.clone(), created.sandbox.clone()]);
    });
}
