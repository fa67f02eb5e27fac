//! The stored-functions part of the storage suite: every test runs against SQLite and
//! PostgreSQL (see `support`).

#![allow(clippy::unwrap_used)]

mod support;

use support::{create_organization, storage_test};
use trestle_store::{
    Actor, EnvironmentKind, NewStoredFunction, OrganizationId, Store, StoredFunction,
    StoredFunctionChanges, StoredFunctionParameter,
};

fn parameter(name: &str, parameter_type: &str) -> StoredFunctionParameter {
    StoredFunctionParameter {
        name: name.to_owned(),
        parameter_type: parameter_type.to_owned(),
    }
}

fn new_function(
    organization_id: OrganizationId,
    environment: EnvironmentKind,
    name: &str,
) -> NewStoredFunction {
    NewStoredFunction {
        organization_id,
        environment,
        name: name.to_owned(),
        parameters: vec![parameter("contactId", "int"), parameter("payload", "map")],
        script: "return contactId;".to_owned(),
        author: Actor::System,
    }
}

/// Creates the function `name` (see [`new_function`]); a refusal fails the test.
async fn create_function(
    store: &Store,
    organization_id: OrganizationId,
    environment: EnvironmentKind,
    name: &str,
) -> StoredFunction {
    store
        .stored_functions()
        .create(new_function(organization_id, environment, name))
        .await
        .unwrap()
}

async fn function_exists(
    store: &Store,
    organization_id: OrganizationId,
    environment: EnvironmentKind,
    name: &str,
) -> bool {
    store
        .stored_functions()
        .find(organization_id, environment, name)
        .await
        .unwrap()
        .is_some()
}

storage_test!(
    a_function_round_trips_with_its_parameters_in_order,
    |store| async move {
        let organization_id = create_organization(&store, "Acme").await.id;
        let created = store
            .stored_functions()
            .create(new_function(
                organization_id,
                EnvironmentKind::Sandbox,
                "syncContact",
            ))
            .await
            .unwrap();
        assert_eq!(created.name, "syncContact");
        assert_eq!(
            created.parameters,
            vec![parameter("contactId", "int"), parameter("payload", "map")]
        );
        assert_eq!(created.created_by, Actor::System);
        assert_eq!(created.created_at, created.updated_at);
        let found = store
            .stored_functions()
            .get(organization_id, EnvironmentKind::Sandbox, "SYNCCONTACT")
            .await
            .unwrap();
        assert_eq!(found, created);
        let listed = store
            .stored_functions()
            .list(organization_id, EnvironmentKind::Sandbox)
            .await
            .unwrap();
        assert_eq!(listed, vec![created]);
    }
);

storage_test!(
    names_are_unique_per_environment_regardless_of_case,
    |store| async move {
        let organization_id = create_organization(&store, "Acme").await.id;
        let functions = store.stored_functions();
        create_function(&store, organization_id, EnvironmentKind::Sandbox, "fmt").await;
        let duplicate = functions
            .create(new_function(
                organization_id,
                EnvironmentKind::Sandbox,
                "FMT",
            ))
            .await
            .unwrap_err();
        assert_eq!(duplicate.code(), "ALREADY_EXISTS");
        // The other environment has its own names.
        create_function(&store, organization_id, EnvironmentKind::Production, "fmt").await;
    }
);

storage_test!(
    another_organization_never_sees_or_changes_a_function,
    |store| async move {
        let owner = create_organization(&store, "Acme").await.id;
        let stranger = create_organization(&store, "Globex").await.id;
        let functions = store.stored_functions();
        create_function(&store, owner, EnvironmentKind::Sandbox, "fmt").await;
        assert!(!function_exists(&store, stranger, EnvironmentKind::Sandbox, "fmt").await);
        assert!(!function_exists(&store, owner, EnvironmentKind::Production, "fmt").await);
        let update = functions
            .update(
                stranger,
                EnvironmentKind::Sandbox,
                "fmt",
                StoredFunctionChanges::default(),
                Actor::System,
            )
            .await
            .unwrap_err();
        assert_eq!(update.code(), "NOT_FOUND");
        let delete = functions
            .delete(stranger, EnvironmentKind::Sandbox, "fmt")
            .await
            .unwrap_err();
        assert_eq!(delete.code(), "NOT_FOUND");
        assert!(function_exists(&store, owner, EnvironmentKind::Sandbox, "fmt").await);
    }
);

storage_test!(
    update_renames_and_replaces_and_delete_removes,
    |store| async move {
        let organization_id = create_organization(&store, "Acme").await.id;
        let functions = store.stored_functions();
        let created = functions
            .create(new_function(
                organization_id,
                EnvironmentKind::Sandbox,
                "fmt",
            ))
            .await
            .unwrap();
        create_function(&store, organization_id, EnvironmentKind::Sandbox, "other").await;
        let taken = functions
            .update(
                organization_id,
                EnvironmentKind::Sandbox,
                "fmt",
                StoredFunctionChanges {
                    name: Some("Other".to_owned()),
                    ..StoredFunctionChanges::default()
                },
                Actor::System,
            )
            .await
            .unwrap_err();
        assert_eq!(taken.code(), "ALREADY_EXISTS");
        let updated = functions
            .update(
                organization_id,
                EnvironmentKind::Sandbox,
                "fmt",
                StoredFunctionChanges {
                    name: Some("formatNumber".to_owned()),
                    parameters: Some(vec![parameter("n", "decimal")]),
                    script: Some("return n;".to_owned()),
                },
                Actor::Operator,
            )
            .await
            .unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.name, "formatNumber");
        assert_eq!(updated.parameters, vec![parameter("n", "decimal")]);
        assert_eq!(updated.script, "return n;");
        assert_eq!(updated.created_by, Actor::System);
        assert_eq!(updated.updated_by, Actor::Operator);
        assert!(updated.updated_at >= created.updated_at);
        assert!(!function_exists(&store, organization_id, EnvironmentKind::Sandbox, "fmt").await);
        functions
            .delete(organization_id, EnvironmentKind::Sandbox, "FORMATNUMBER")
            .await
            .unwrap();
        let names: Vec<String> = functions
            .list(organization_id, EnvironmentKind::Sandbox)
            .await
            .unwrap()
            .into_iter()
            .map(|function| function.name)
            .collect();
        assert_eq!(names, vec!["other".to_owned()]);
    }
);
