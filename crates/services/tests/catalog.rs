//! Validates every shipped service definition and snapshots the catalog listing.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use trestle_services::{
    AuthType, CapturedValues, Catalog, ConnectionSettings, builtin_choice_sets,
};

#[test]
fn every_catalog_file_loads_and_validates() {
    let catalog = Catalog::builtin();
    assert!(
        catalog.load_errors().is_empty(),
        "catalog files failed to load:\n{}",
        catalog.load_errors().join("\n")
    );
    assert!(
        catalog.len() >= 15,
        "only {} services loaded",
        catalog.len()
    );
}

#[test]
fn keys_are_unique_and_follow_link_name_rules() {
    let catalog = Catalog::builtin();
    let mut keys = BTreeSet::new();
    for service in catalog.list() {
        assert!(
            keys.insert(service.key.clone()),
            "duplicate key {}",
            service.key
        );
        trestle_services::check_service_key(&service.key).unwrap();
    }
}

#[test]
fn every_template_resolves_for_every_data_centre_and_hosts_cover_the_api() {
    for service in Catalog::builtin().list() {
        for (settings, captured) in service.example_inputs() {
            let resolved = service
                .resolve(&settings, &captured)
                .unwrap_or_else(|error| {
                    panic!("{} with {settings:?} {captured:?}: {error}", service.key)
                });
            if let Some(base) = &resolved.api_base_url {
                assert!(
                    resolved.host_policy.allows_url(base),
                    "{}: allowed_hosts do not cover {base}",
                    service.key
                );
            }
            if let Some(oauth2) = &resolved.oauth2 {
                for url in oauth2
                    .authorize_url
                    .iter()
                    .chain([&oauth2.token_url, &oauth2.refresh_url])
                {
                    assert_eq!(url.scheme(), "https", "{}: {url}", service.key);
                }
            }
            // Hosts may depend on values captured during authorization; once they are all
            // there, some host must be allowed.
            let captures_everything = service
                .captured
                .iter()
                .all(|declaration| captured.contains_key(&declaration.name));
            if service.auth_type != AuthType::None && captures_everything {
                assert!(
                    resolved.host_policy.hosts().next().is_some(),
                    "{}: no allowed hosts",
                    service.key
                );
            }
        }
    }
}

#[test]
fn zoho_services_cover_every_data_centre_including_canada() {
    let data_centres = builtin_choice_sets().remove("zoho_data_centres").unwrap();
    let codes: Vec<&str> = data_centres
        .iter()
        .map(|choice| choice.value.as_str())
        .collect();
    assert_eq!(
        codes,
        ["us", "eu", "in", "au", "jp", "ca", "sa", "cn", "uk"]
    );
    let books = Catalog::builtin().require("zoho_books").unwrap();
    let settings = ConnectionSettings::from([("data_centre".to_owned(), "ca".to_owned())]);
    let resolved = books.resolve(&settings, &CapturedValues::new()).unwrap();
    let oauth2 = resolved.oauth2.as_ref().unwrap();
    assert_eq!(
        oauth2.token_url.as_str(),
        "https://accounts.zohocloud.ca/oauth/v2/token"
    );
    assert_eq!(
        resolved.api_base_url.as_ref().unwrap().as_str(),
        "https://www.zohoapis.ca/books/v3"
    );
    assert!(resolved.host_policy.allows("books.zohocloud.ca"));
    assert!(!resolved.host_policy.allows("books.zoho.ca"));
    let mail = Catalog::builtin().require("zoho_mail").unwrap();
    let resolved = mail.resolve(&settings, &CapturedValues::new()).unwrap();
    assert_eq!(
        resolved.api_base_url.as_ref().unwrap().as_str(),
        "https://mail.zohocloud.ca/api"
    );
}

#[test]
fn catalog_listing_snapshot() {
    let listing: Vec<String> = Catalog::builtin()
        .entries()
        .into_iter()
        .map(|entry| {
            format!(
                "{}\t{}\t{}\t{}",
                entry.key, entry.display_name, entry.category, entry.auth_type
            )
        })
        .collect();
    insta::assert_snapshot!(listing.join("\n"));
}

#[test]
fn zoho_books_per_data_centre_snapshot() {
    let books = Catalog::builtin().require("zoho_books").unwrap();
    let mut lines = Vec::new();
    for choice in &books.settings[0].choices {
        let settings = ConnectionSettings::from([("data_centre".to_owned(), choice.value.clone())]);
        let resolved = books.resolve(&settings, &CapturedValues::new()).unwrap();
        let oauth2 = resolved.oauth2.as_ref().unwrap();
        lines.push(format!(
            "{}: authorize {} | token {} | api {} | hosts {}",
            choice.value,
            oauth2.authorize_url.as_ref().unwrap(),
            oauth2.token_url,
            resolved.api_base_url.as_ref().unwrap(),
            resolved.host_policy.hosts().collect::<Vec<_>>().join(" ")
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}
