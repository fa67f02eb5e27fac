//! The operator-configuration part of the storage suite (stand-in routes and service
//! overrides per organization and environment), on SQLite and PostgreSQL (see `support`).

#![allow(clippy::unwrap_used)]

mod support;

use support::{create_organization, database_test, storage_test};
use trestle_store::{
    EgressRouteRecord, EnvironmentKind, OrganizationId, ServiceOverrideRecord, Store,
};

fn route(host: &str, target: &str) -> EgressRouteRecord {
    EgressRouteRecord {
        host: host.to_owned(),
        target: target.to_owned(),
    }
}

fn books_override(organization_id: OrganizationId) -> ServiceOverrideRecord {
    ServiceOverrideRecord {
        organization_id,
        environment: EnvironmentKind::Sandbox,
        service_key: "zoho_books".to_owned(),
        authorize_url: Some("http://127.0.0.1:9000/auth".to_owned()),
        token_url: Some("http://127.0.0.1:9000/token".to_owned()),
        revoke_url: None,
        client_id: Some("books-client".to_owned()),
        client_secret: Some(vec![1, 2, 3, 4]),
        variables: r#"{"api_domain":"http://127.0.0.1:9100"}"#.to_owned(),
        updated_at: chrono::Utc::now(),
    }
}

async fn two_organizations(store: &Store) -> (OrganizationId, OrganizationId) {
    let first = create_organization(store, "Acme").await;
    let second = create_organization(store, "Globex").await;
    (first.id, second.id)
}

storage_test!(
    routes_are_replaced_per_environment_and_organization,
    |store| async move {
        let (acme, globex) = two_organizations(&store).await;
        let routes = store.service_overrides();
        routes
            .replace_routes(
                acme,
                EnvironmentKind::Sandbox,
                &[
                    route("www.zohoapis.com", "http://127.0.0.1:9200/"),
                    route("books.zoho.com", "http://127.0.0.1:9100/"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            routes.routes(acme, EnvironmentKind::Sandbox).await.unwrap(),
            [
                route("books.zoho.com", "http://127.0.0.1:9100/"),
                route("www.zohoapis.com", "http://127.0.0.1:9200/"),
            ]
        );
        // Never another environment's or another organization's.
        assert!(
            routes
                .routes(acme, EnvironmentKind::Production)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            routes
                .routes(globex, EnvironmentKind::Sandbox)
                .await
                .unwrap()
                .is_empty()
        );
        // Replacing is whole: the old set is gone.
        routes
            .replace_routes(
                acme,
                EnvironmentKind::Sandbox,
                &[route("books.zoho.com", "http://127.0.0.1:9300/")],
            )
            .await
            .unwrap();
        assert_eq!(
            routes.routes(acme, EnvironmentKind::Sandbox).await.unwrap(),
            [route("books.zoho.com", "http://127.0.0.1:9300/")]
        );
        // A duplicate host fails as a whole and changes nothing.
        let error = routes
            .replace_routes(
                acme,
                EnvironmentKind::Sandbox,
                &[
                    route("a.test", "http://127.0.0.1:1/"),
                    route("a.test", "http://127.0.0.1:2/"),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "ALREADY_EXISTS", "{error}");
        assert_eq!(
            routes.routes(acme, EnvironmentKind::Sandbox).await.unwrap(),
            [route("books.zoho.com", "http://127.0.0.1:9300/")]
        );
        routes
            .replace_routes(acme, EnvironmentKind::Sandbox, &[])
            .await
            .unwrap();
        assert!(
            routes
                .routes(acme, EnvironmentKind::Sandbox)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

storage_test!(
    service_overrides_are_upserted_listed_and_deleted,
    |store| async move {
        let (acme, globex) = two_organizations(&store).await;
        let overrides = store.service_overrides();
        let record = books_override(acme);
        overrides.put(&record).await.unwrap();
        let stored = overrides
            .get(acme, EnvironmentKind::Sandbox, "zoho_books")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.client_secret, Some(vec![1, 2, 3, 4]));
        assert_eq!(stored.token_url, record.token_url);
        assert_eq!(stored.variables, record.variables);
        assert!(
            overrides
                .get(acme, EnvironmentKind::Production, "zoho_books")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            overrides
                .get(globex, EnvironmentKind::Sandbox, "zoho_books")
                .await
                .unwrap()
                .is_none()
        );
        // Key rotation: every stored secret is found and swapped only if unchanged.
        let with_secret = overrides.with_client_secret().await.unwrap();
        assert_eq!(with_secret.len(), 1);
        assert!(
            !overrides
                .replace_client_secret(acme, EnvironmentKind::Sandbox, "zoho_books", &[9], &[5])
                .await
                .unwrap()
        );
        assert!(
            overrides
                .replace_client_secret(
                    acme,
                    EnvironmentKind::Sandbox,
                    "zoho_books",
                    &[1, 2, 3, 4],
                    &[5, 6]
                )
                .await
                .unwrap()
        );
        assert_eq!(
            overrides
                .get(acme, EnvironmentKind::Sandbox, "zoho_books")
                .await
                .unwrap()
                .unwrap()
                .client_secret,
            Some(vec![5, 6])
        );
        // Put again replaces every column.
        let replaced = ServiceOverrideRecord {
            authorize_url: None,
            client_secret: None,
            ..books_override(acme)
        };
        overrides.put(&replaced).await.unwrap();
        let stored = overrides
            .get(acme, EnvironmentKind::Sandbox, "zoho_books")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.authorize_url, None);
        assert_eq!(stored.client_secret, None);
        overrides
            .put(&ServiceOverrideRecord {
                service_key: "bigin".to_owned(),
                ..books_override(acme)
            })
            .await
            .unwrap();
        let listed: Vec<String> = overrides
            .list(acme, EnvironmentKind::Sandbox)
            .await
            .unwrap()
            .into_iter()
            .map(|record| record.service_key)
            .collect();
        assert_eq!(listed, ["bigin", "zoho_books"]);
        assert!(
            overrides
                .list(globex, EnvironmentKind::Sandbox)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            !overrides
                .delete(globex, EnvironmentKind::Sandbox, "bigin")
                .await
                .unwrap()
        );
        assert!(
            overrides
                .delete(acme, EnvironmentKind::Sandbox, "bigin")
                .await
                .unwrap()
        );
        assert!(
            !overrides
                .delete(acme, EnvironmentKind::Sandbox, "bigin")
                .await
                .unwrap()
        );
    }
);

database_test!(
    a_second_store_on_the_database_sees_routes_and_overrides_at_once,
    |database| async move {
        let (acme, _) = two_organizations(&database.store).await;
        let other_process = database.open_another_store().await;
        database
            .store
            .service_overrides()
            .replace_routes(
                acme,
                EnvironmentKind::Sandbox,
                &[route("books.zoho.com", "http://127.0.0.1:9100/")],
            )
            .await
            .unwrap();
        database
            .store
            .service_overrides()
            .put(&books_override(acme))
            .await
            .unwrap();
        assert_eq!(
            other_process
                .service_overrides()
                .routes(acme, EnvironmentKind::Sandbox)
                .await
                .unwrap(),
            [route("books.zoho.com", "http://127.0.0.1:9100/")]
        );
        assert_eq!(
            other_process
                .service_overrides()
                .get(acme, EnvironmentKind::Sandbox, "zoho_books")
                .await
                .unwrap()
                .unwrap()
                .client_id
                .as_deref(),
            Some("books-client")
        );
        other_process.close().await;
    }
);
